package cache

import (
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

func TestTagFollowsTheKeysSlot(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one")), keyed("b", item("b", 1, "two"))}, nil)
	x := newTestCache(t, s, Options{TTL: time.Minute})
	tagOf := func(key string) *Tag {
		t.Helper()
		_, tag, _, err := x.flags.getTaggedAt(bg, key, x.c.now())
		if err != nil || tag == nil {
			t.Fatalf("getTaggedAt(%s) = tag %v, err %v", key, tag, err)
		}
		return tag
	}
	a := tagOf("a")
	if a.Load() != nil {
		t.Fatalf("a new tag holds %v", a.Load())
	}
	a.Store("counters of a")
	if again := tagOf("a"); again != a || again.Load() != "counters of a" {
		t.Errorf("a's second lookup: tag %p holding %v, want %p holding its value", again, again.Load(), a)
	}
	if b := tagOf("b"); b == a || b.Load() != nil {
		t.Errorf("b shares a's tag or holds %v", b.Load())
	}
	// A key that is not found has a tag too, lost with its slot when the
	// "not found" entry is pruned: a tag is only a shortcut.
	u := tagOf("unknown")
	u.Store("counters of unknown")
	x.advance(3 * time.Minute)
	x.c.prune()
	if nu := tagOf("unknown"); nu == u || nu.Load() != nil {
		t.Errorf("after the prune the unknown key's tag holds %v, want a new empty tag", nu.Load())
	}
	if a2 := tagOf("a"); a2 != a || a2.Load() != "counters of a" {
		t.Errorf("a's tag did not survive the prune of another key")
	}
}

func TestNoTagInOffMode(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	x := newTestCache(t, s, Options{Mode: ModeOff})
	v, tag, _, err := x.flags.getTaggedAt(bg, "a", x.c.now())
	if err != nil || v == nil || v.Value != "one" || tag != nil {
		t.Errorf("getTaggedAt = %v, tag %v, err %v; want the item and no tag", v, tag, err)
	}
}
