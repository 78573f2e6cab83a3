package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// A list large enough to be decoded on several goroutines installs exactly
// what a small one does: every live item in key order, the malformed keys,
// each item's entry (the same value the list holds), tombstones left out;
// read again, unchanged items keep their decoded value (no decode), changed
// ones show their new value, and a removed one is gone. The same through
// store.UnparsedReader, whose items are parsed while decoding.
func TestApplyAllLargeList(t *testing.T) {
	t.Run("parsed", func(t *testing.T) { testApplyAllLargeList(t, false) })
	t.Run("unparsed", func(t *testing.T) { testApplyAllLargeList(t, true) })
}

// unparsedStore is a memStore that implements store.UnparsedReader.
type unparsedStore struct {
	*memStore
	calls *atomic.Int64
}

func (u unparsedStore) GetAllUnparsed(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	u.calls.Add(1)
	items, err := u.GetAll(ctx, kind)
	for i := range items {
		items[i].Item = store.Item{Data: items[i].Item.Data}
	}
	return items, err
}

func testApplyAllLargeList(t *testing.T, unparsed bool) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4 * parallelDecodeMin
		m := newMemStore()
		var items []store.KeyedItem
		var wantLive, wantBad []string
		for i := range n {
			key := fmt.Sprintf("k%04d", i)
			switch {
			case i%13 == 0:
				items = append(items, keyed(key, store.Item{Version: 1, Data: []byte(`{"version":`)}))
				wantBad = append(wantBad, key)
			case i%11 == 0:
				data, _ := json.Marshal(testItem{Key: key, Version: 1, Bad: true})
				items = append(items, keyed(key, store.Item{Version: 1, Data: data}))
				wantBad = append(wantBad, key)
			case i%7 == 0:
				items = append(items, keyed(key, store.Tombstone(key, 1)))
			default:
				items = append(items, keyed(key, item(key, 1, "v1-"+key)))
				wantLive = append(wantLive, key)
			}
		}
		if err := m.Init(bg, []store.Collection{{Kind: store.Features, Items: items}}); err != nil {
			t.Fatal(err)
		}
		var r store.Reader = m
		var calls atomic.Int64
		if unparsed {
			r = unparsedStore{m, &calls}
		}
		x := newMemCache(t, r, Options{TTL: time.Second, ProbeInterval: time.Hour})

		check := func(round string, value func(key string) string) *allEntry[*testItem] {
			t.Helper()
			a, err := x.flags.getAllEntry(bg)
			if err != nil {
				t.Fatalf("%s: getAllEntry: %v", round, err)
			}
			var keys []string
			for _, it := range a.items {
				keys = append(keys, it.Key)
				if it.Value != value(it.Key) {
					t.Errorf("%s: %s = %q, want %q", round, it.Key, it.Value, value(it.Key))
				}
				if got, err := x.flags.get(bg, it.Key); got != it || err != nil {
					t.Errorf("%s: get(%s) = %p, %v; want the listed value %p", round, it.Key, got, err, it)
				}
			}
			if !slices.Equal(keys, wantLive) {
				t.Errorf("%s: listed %d keys, want %d in key order", round, len(keys), len(wantLive))
			}
			if !slices.Equal(a.malformed, wantBad) {
				t.Errorf("%s: malformed = %v, want %v", round, a.malformed, wantBad)
			}
			return a
		}
		first := check("first read", func(key string) string { return "v1-" + key })
		// Read unparsed, each item is decoded once, tombstones too (their
		// deletion is read by decoding them); parsed, tombstones are not
		// decoded.
		wantDecodes := int64(len(wantLive) + len(wantBad))
		if unparsed {
			wantDecodes = int64(n)
		}
		if got := x.tc.decodes.Load(); got != wantDecodes {
			t.Errorf("first read: %d decodes, want %d", got, wantDecodes)
		}

		// Change every fifth live item, remove one, read again.
		changed := map[string]bool{}
		for i, key := range wantLive {
			if i%5 == 0 {
				m.edit(store.Features, key, itemPtr(item(key, 2, "v2-"+key)))
				changed[key] = true
			}
		}
		removed := wantLive[1]
		m.edit(store.Features, removed, nil)
		wantLive = slices.Delete(wantLive, 1, 2)
		before := x.tc.decodes.Load()
		time.Sleep(time.Hour)
		second := check("second read", func(key string) string {
			if changed[key] {
				return "v2-" + key
			}
			return "v1-" + key
		})
		if got, want := x.tc.decodes.Load()-before, int64(len(changed)+len(wantBad)); got != want {
			t.Errorf("second read: %d decodes, want %d (changed and malformed items only)", got, want)
		}
		old := map[string]*testItem{}
		for _, it := range first.items {
			old[it.Key] = it
		}
		for _, it := range second.items {
			if !changed[it.Key] && old[it.Key] != it {
				t.Errorf("second read: unchanged %s decoded again", it.Key)
			}
		}
		if want := map[bool]int64{false: 0, true: 2}[unparsed]; calls.Load() != want {
			t.Errorf("GetAllUnparsed called %d times, want %d", calls.Load(), want)
		}
		if v := x.value(t, x.flags, removed); v != "<nil>" {
			t.Errorf("removed %s = %q, want not found", removed, v)
		}
		x.c.close()

		// ModeOff lists the same, decoding everything on each call.
		off := newMemCache(t, r, Options{Mode: ModeOff, ProbeInterval: time.Hour})
		a, err := off.flags.getAllEntry(bg)
		if err != nil {
			t.Fatalf("ModeOff getAllEntry: %v", err)
		}
		var keys []string
		for _, it := range a.items {
			keys = append(keys, it.Key)
			want := "v1-" + it.Key
			if changed[it.Key] {
				want = "v2-" + it.Key
			}
			if it.Value != want {
				t.Errorf("ModeOff: %s = %q, want %q", it.Key, it.Value, want)
			}
		}
		if !slices.Equal(keys, wantLive) || !slices.Equal(a.malformed, wantBad) {
			t.Errorf("ModeOff: %d keys, malformed %v; want %d keys, malformed %v", len(keys), a.malformed, len(wantLive), wantBad)
		}
		off.c.close()
	})
}
