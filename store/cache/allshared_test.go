package cache

import (
	"context"
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// AllFlagsShared lists what AllFlagsWithMalformed lists, and a warm call
// makes no allocation.
func TestAllFlagsShared(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s,
		[]store.KeyedItem{
			flagJSON("b", 1, ""),
			flagJSON("a", 2, ""),
			{Key: "gone", Item: store.Tombstone("gone", 4)},
			{Key: "bad", Item: store.Item{Version: 1, Data: []byte(`{"key":"bad","version":1,"on":"yes"}`)}},
		}, nil)
	x := newCache(t, wrap(s), Options{})
	ctx := context.Background()
	flags, malformed, err := x.AllFlagsShared(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantFlags, wantMalformed, err := x.AllFlagsWithMalformed(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(flags, wantFlags) || !slices.Equal(malformed, wantMalformed) {
		t.Errorf("AllFlagsShared = %v, %v; AllFlagsWithMalformed = %v, %v", flags, malformed, wantFlags, wantMalformed)
	}
	if len(flags) != 2 || flags[0].Key != "a" || flags[1].Key != "b" || !slices.Equal(malformed, []string{"bad"}) {
		t.Errorf("AllFlagsShared = %v, %v; want flags a, b and malformed bad", flags, malformed)
	}
	if n := testing.AllocsPerRun(100, func() { x.AllFlagsShared(ctx) }); n != 0 {
		t.Errorf("warm AllFlagsShared: %v allocs, want 0", n)
	}
}
