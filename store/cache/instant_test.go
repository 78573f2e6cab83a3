package cache

import (
	"context"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Lookups at a reading of Now answer as at that instant: an entry fresh
// then is a hit without a store read, even when the clock has since moved
// past its life; a lookup at a later reading finds it expired and reads the
// store. A lookup that read the store hands on a new reading.
func TestLookupsAtAnInstant(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{flagJSON("f", 1, "")}, []store.KeyedItem{segmentJSON("s", 1, "")})
	w := wrap(s)
	x := newCache(t, w, Options{TTL: time.Minute, Jitter: -1})
	ctx := context.Background()

	before := x.Now()
	f, next, err := x.GetFlagAt(ctx, "f", before) // a miss: reads the store
	if err != nil || f == nil || f.Version != 1 {
		t.Fatalf("GetFlagAt = %+v, %v", f, err)
	}
	if next < before {
		t.Fatalf("after a miss next = %d, before %d", next, before)
	}
	if sg, _ := x.SegmentAt(ctx, "s", next); sg == nil {
		t.Fatal("segment s not found")
	}
	then := x.Now()
	reads := w.getsOf(store.Features, "f")

	x.c.skew.Add(int64(2 * time.Minute)) // the entry has expired by now
	f, at := x.FlagAt(ctx, "f", then)
	if f == nil || at != then {
		t.Fatalf("FlagAt(then) = %+v, next %d; want the cached flag and %d", f, at, then)
	}
	if n := w.getsOf(store.Features, "f"); n != reads {
		t.Fatalf("a lookup at an instant the entry was fresh read the store %d times", n-reads)
	}

	later := x.Now()
	if f, next = x.FlagAt(ctx, "f", later); f == nil || next < later {
		t.Fatalf("FlagAt(later) = %+v, next %d", f, next)
	}
	if n := w.getsOf(store.Features, "f"); n != reads+1 {
		t.Fatalf("a lookup after the entry's life read the store %d times, want 1", n-reads)
	}
}
