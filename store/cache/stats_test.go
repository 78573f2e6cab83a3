package cache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// TestStats counts hits, misses and store reads on a real bbolt store.
func TestStats(t *testing.T) {
	s := newRealStore(t)
	ctx := context.Background()
	if err := s.Init(ctx, []store.Collection{
		{Kind: store.Segments, Items: []store.KeyedItem{segmentJSON("seg", 1, "")}},
		{Kind: store.Features, Items: []store.KeyedItem{flagJSON("a", 1, ""), flagJSON("b", 1, "")}},
	}); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, wrap(s), Options{TTL: time.Hour}) // wrap: no notifications, whose re-reads would make counts vary
	if !c.Initialized(ctx) {
		t.Fatal("not initialized")
	}
	for range 3 {
		if f, err := c.GetFlag(ctx, "a"); f == nil || err != nil {
			t.Fatalf("GetFlag(a) = %v, %v", f, err)
		}
	}
	if f, _ := c.GetFlag(ctx, "missing"); f != nil {
		t.Fatal("missing flag found")
	}
	c.GetFlag(ctx, "missing") // a cached "not found" is a hit
	if sg, err := c.GetSegment(ctx, "seg"); sg == nil || err != nil {
		t.Fatalf("GetSegment = %v, %v", sg, err)
	}
	st := c.Stats()
	if st.Flags.Misses != 2 || st.Flags.Hits != 3 {
		t.Errorf("flags: %+v, want 2 misses (a, missing) and 3 hits", st.Flags)
	}
	if st.Segments.Misses != 1 || st.Segments.Hits != 0 {
		t.Errorf("segments: %+v", st.Segments)
	}
	// The three misses read the store (a notification of the Init may make
	// the cache read the keys once more in the background).
	get := st.Reads[0]
	if get.Op != "get" || get.Count < 3 || get.Errors != 0 || get.Latency <= 0 {
		t.Errorf("get reads: %+v, want at least 3 (a, missing, seg)", get)
	}
	var inBuckets uint64
	for _, n := range get.Buckets {
		inBuckets += n
	}
	if inBuckets != get.Count {
		t.Errorf("histogram holds %d reads, count is %d", inBuckets, get.Count)
	}
	if init := st.Reads[2]; init.Op != "initialized" || init.Count < 1 {
		t.Errorf("initialized reads: %+v", init)
	}
}

// TestStatsCountErrorsAndRefreshes: a failing store's errors are counted by
// operation, and entries near their end are refreshed in the background.
func TestStatsCountErrorsAndRefreshes(t *testing.T) {
	s := newRealStore(t)
	ctx := context.Background()
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{flagJSON("a", 1, "")}}}); err != nil {
		t.Fatal(err)
	}
	c := newCache(t, wrap(s), Options{TTL: 20 * time.Millisecond, Jitter: -1})
	c.GetFlag(ctx, "a")
	// Read until a refresh has run: the entry is served while it does.
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Flags.Refreshes == 0 || c.Stats().Reads[0].Count < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no refresh: %+v", c.Stats())
		}
		c.GetFlag(ctx, "a")
	}
	// A closed store fails every call: the failed reads are counted (the
	// one that made the cache unavailable; later lookups fail fast).
	var before uint64
	for _, r := range c.Stats().Reads {
		before += r.Errors
	}
	if before != 0 {
		t.Fatalf("%d errors before the store closed", before)
	}
	s.Close()
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := c.GetFlag(ctx2, "never-read"); err == nil {
		t.Fatal("read on a closed store succeeded")
	}
	var after uint64
	for _, r := range c.Stats().Reads {
		after += r.Errors
	}
	if after == 0 {
		t.Errorf("no store error counted: %+v", c.Stats().Reads)
	}
}

// TestReadObserver: Options.ReadObserver hears every store call.
func TestReadObserver(t *testing.T) {
	s := newRealStore(t)
	ctx := context.Background()
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{flagJSON("a", 1, "")}}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	c := newCache(t, wrap(s), Options{TTL: time.Hour, ReadObserver: func(op string, d time.Duration, err error) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 || err != nil {
			t.Errorf("%s: %v, %v", op, d, err)
		}
		seen[op]++
	}})
	c.Initialized(ctx)
	c.GetFlag(ctx, "a")
	c.AllFlags(ctx)
	c.Close() // waits for background reads, so the counts are final
	mu.Lock()
	defer mu.Unlock()
	st := c.Stats()
	for i, op := range ReadOps {
		if uint64(seen[op]) != st.Reads[i].Count {
			t.Errorf("%s: observer heard %d calls, stats count %d", op, seen[op], st.Reads[i].Count)
		}
	}
	if seen["get"] < 1 || seen["get_all"] < 1 || seen["initialized"] < 1 {
		t.Errorf("observed %v", seen)
	}
}
