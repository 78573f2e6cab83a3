package redis

import (
	"slices"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

func TestChangeMessages(t *testing.T) {
	changes := []store.Change{{Kind: store.Features, Key: "f\n\"1"}, {Kind: store.Segments, Key: ""}}
	w, got, err := decodeChanges(encodeChanges("me", changes))
	if err != nil || w != "me" || !slices.Equal(got, changes) {
		t.Errorf("round trip = %q, %v, %v; want me, %v", w, got, err, changes)
	}
	_, got, err = decodeChanges(encodeChanges("me", []store.Change{{Kind: store.Features, Key: "a"}, store.ChangeAll}))
	if err != nil || !slices.Equal(got, []store.Change{store.ChangeAll}) {
		t.Errorf("a message with ChangeAll = %v, %v; want ChangeAll", got, err)
	}
	many := make([]store.Change, maxMessageChanges+1)
	for i := range many {
		many[i] = store.Change{Kind: store.Features, Key: strings.Repeat("k", i%7)}
	}
	if _, got, _ = decodeChanges(encodeChanges("me", many)); !slices.Equal(got, []store.Change{store.ChangeAll}) {
		t.Errorf("a message of %d changes = %d changes; want ChangeAll", len(many), len(got))
	}
	for _, bad := range []string{"", "hset", `{"w":"x"}`, `{"c":[["","k"]]}`, `{"c":"x"}`, `[1]`} {
		if _, _, err := decodeChanges([]byte(bad)); err == nil {
			t.Errorf("decodeChanges(%q): no error", bad)
		}
	}
}

// FuzzDecodeChanges: any message decodes without a panic, and what decodes
// encodes back to the same changes.
func FuzzDecodeChanges(f *testing.F) {
	f.Add([]byte(`{"w":"a","all":true}`))
	f.Add([]byte(`{"w":"a","c":[["features","f"],["segments","s"]]}`))
	f.Add([]byte(`{"w":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		w, changes, err := decodeChanges(data)
		if err != nil {
			return
		}
		if len(changes) == 0 {
			t.Fatalf("decodeChanges(%q) = no changes and no error", data)
		}
		w2, again, err := decodeChanges(encodeChanges(w, changes))
		if err != nil || w2 != w || !slices.Equal(again, changes) {
			t.Fatalf("re-encoded %q: %q, %v, %v; want %q, %v", data, w2, again, err, w, changes)
		}
	})
}
