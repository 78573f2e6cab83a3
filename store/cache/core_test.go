package cache

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

var bg = context.Background()

// ready waits for the cache's first Initialized check.
func (x *testCache) ready(t *testing.T) {
	t.Helper()
	select {
	case <-x.c.firstCheck:
	case <-time.After(20 * time.Second):
		t.Fatal("first check did not finish")
	}
}

// advance moves the cache clock forward.
func (x *testCache) advance(d time.Duration) { x.c.skew.Add(int64(d)) }

func (x *testCache) value(t *testing.T, k *kind[*testItem], key string) string {
	t.Helper()
	it, err := k.get(bg, key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if it == nil {
		return "<nil>"
	}
	return it.Value
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.normalized()
	if o.Mode != ModeTTL || o.TTL != 15*time.Second || o.Jitter != 0.1 || o.MaxStale != 0 ||
		o.ProbeInterval != 500*time.Millisecond || o.RefreshTimeout != DefaultRefreshTimeout ||
		o.ChangePollInterval != o.TTL || o.Logger == nil {
		t.Fatalf("defaults: %+v", o)
	}
	if o := (Options{Mode: ModeForever}).normalized(); o.ChangePollInterval >= 0 {
		t.Errorf("forever mode polls by default: %v", o.ChangePollInterval)
	}
	if o := (Options{Jitter: -1}).normalized(); o.Jitter != 0 {
		t.Errorf("negative jitter: %v", o.Jitter)
	}
}

func TestReadsOncePerTTLAndDecodesOnce(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute})
	for range 100 {
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Fatalf("a = %s", v)
		}
		if v := x.value(t, x.flags, "missing"); v != "<nil>" {
			t.Fatalf("missing = %s", v)
		}
	}
	if n := w.getsOf(store.Features, "a"); n != 1 {
		t.Errorf("store reads of a: %d, want 1", n)
	}
	if n := w.getsOf(store.Features, "missing"); n != 1 {
		t.Errorf("store reads of a missing key: %d, want 1 (not-found is cached)", n)
	}
	if n := x.tc.decodes.Load(); n != 1 {
		t.Errorf("decodes: %d, want 1", n)
	}
	// A refresh of unchanged content reuses the decoded value.
	x.advance(2 * time.Minute)
	x.value(t, x.flags, "a")
	eventually(t, "refresh", func() bool { return w.getsOf(store.Features, "a") == 2 && x.fresh(x.flags, "a") })
	if n := x.tc.decodes.Load(); n != 1 {
		t.Errorf("decodes after refreshing unchanged item: %d, want 1", n)
	}
}

// fresh reports whether key's entry is cached and not expired.
func (x *testCache) fresh(k *kind[*testItem], key string) bool {
	e := k.slotEntry(key)
	return e != nil && e.expires > x.c.now()
}

// slotEntry returns the entry cached for key, or nil.
func (k *kind[T]) slotEntry(key string) *entry[T] {
	s := k.slots.load(key)
	if s == nil {
		return nil
	}
	return s.e.Load()
}

func TestConcurrentMissesMakeOneRead(t *testing.T) {
	for _, key := range []string{"a", "missing"} {
		t.Run(key, func(t *testing.T) {
			s := newRealStore(t)
			initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
			w := wrap(s)
			x := newTestCache(t, w, Options{})
			x.ready(t)
			w.latency.Store(int64(50 * time.Millisecond))
			start := make(chan struct{})
			var wg sync.WaitGroup
			errs := make(chan error, 1000)
			for range 1000 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if _, err := x.flags.get(bg, key); err != nil {
						errs <- err
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := w.getsOf(store.Features, key); n != 1 {
				t.Errorf("1000 concurrent misses made %d store reads, want 1", n)
			}
		})
	}
}

func TestMissHonoursCallerContext(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{})
	x.ready(t)
	release := w.hold()
	defer release()
	ctx, cancel := context.WithTimeout(bg, 20*time.Millisecond)
	defer cancel()
	if _, err := x.flags.get(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	release()
	// The shared read went on and its result is cached.
	eventually(t, "cached", func() bool { return x.flags.slotEntry("a") != nil })
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Fatalf("a = %s", v)
	}
	if n := w.getsOf(store.Features, "a"); n != 1 {
		t.Errorf("store reads: %d, want 1", n)
	}
}

func TestRefreshAheadServesWithoutWaiting(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute, Jitter: -1})
	x.ready(t)
	x.value(t, x.flags, "a")
	upsert(t, s, store.Features, "a", item("a", 2, "two"))

	release := w.hold() // the store now answers nothing until released
	defer release()
	x.advance(50 * time.Second) // the last fifth of the entry's life
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			if v := x.value(t, x.flags, "a"); v != "one" {
				t.Errorf("a in its last part of life = %s, want the old value", v)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("reads in the refresh-ahead window waited on the store")
	}
	eventually(t, "one refresh in flight", func() bool { return w.getsOf(store.Features, "a") == 2 })
	release()
	eventually(t, "the refresh's answer waiting", func() bool { return x.flags.slots.load("a").next.Load() != nil })
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Errorf("a = %s before its TTL, want the old value", v)
	}
	x.advance(11 * time.Second)
	if v := x.value(t, x.flags, "a"); v != "two" {
		t.Errorf("a = %s after its TTL, want the refreshed value", v)
	}
	if n := w.getsOf(store.Features, "a"); n != 2 {
		t.Errorf("store reads: %d, want 2 (one warm-up, one refresh)", n)
	}
}

func TestTTLJitterOnlyShortens(t *testing.T) {
	c := newCore(nilReader{}, Options{TTL: time.Second})
	lo, hi := int64(1<<62), int64(0)
	for range 1000 {
		r, d := c.life(0, true)
		if r >= d || r < d*3/4 {
			t.Fatalf("refresh-ahead at %v of a %v life", time.Duration(r), time.Duration(d))
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < int64(900*time.Millisecond) || hi > int64(time.Second) {
		t.Errorf("life outside [90%%, 100%%] of the TTL: [%v, %v]", time.Duration(lo), time.Duration(hi))
	}
	if hi-lo < int64(50*time.Millisecond) {
		t.Errorf("life barely spread: [%v, %v]", time.Duration(lo), time.Duration(hi))
	}
	c = newCore(nilReader{}, Options{TTL: time.Second, Jitter: -1})
	if r, d := c.life(0, true); d != int64(time.Second) || r != int64(800*time.Millisecond) {
		t.Errorf("life without jitter: refresh at %v, expires %v", time.Duration(r), time.Duration(d))
	}
}

func TestForeverMode(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{Mode: ModeForever, TTL: time.Minute})
	x.value(t, x.flags, "a")
	x.value(t, x.flags, "b")
	upsert(t, s, store.Features, "a", item("a", 2, "two"))
	upsert(t, s, store.Features, "b", item("b", 1, "uno"))
	x.advance(24 * time.Hour)
	for range 100 {
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Fatalf("a = %s, want the value read once", v)
		}
	}
	if n := w.getsOf(store.Features, "a"); n != 1 {
		t.Errorf("store reads of a: %d, want 1", n)
	}
	// A key the store did not have is looked up again after a TTL.
	eventually(t, "b created later", func() bool { return x.value(t, x.flags, "b") == "uno" })
}

func TestOffMode(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{Mode: ModeOff})
	for range 10 {
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Fatalf("a = %s", v)
		}
	}
	if n := w.getsOf(store.Features, "a"); n != 10 {
		t.Errorf("store reads: %d, want 10", n)
	}
	all, err := x.flags.getAll(bg)
	if err != nil || len(all) != 1 {
		t.Fatalf("getAll = %v, %v", all, err)
	}
	w.setFail(errBoom)
	if _, err := x.flags.get(bg, "a"); !errors.Is(err, errBoom) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("err = %v", err)
	}
	eventually(t, "unavailable", func() bool { return x.c.status.Load().State == Unavailable })
}

func TestStoreErrorServesLastGoodValue(t *testing.T) {
	for _, ping := range []bool{false, true} {
		t.Run(fmt.Sprintf("pinger=%v", ping), func(t *testing.T) {
			s := newRealStore(t)
			initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
			w := wrap(s)
			var r store.Reader = w
			if ping {
				r = pingStore{w}
			}
			x := newTestCache(t, r, Options{TTL: time.Minute, ProbeInterval: 5 * time.Millisecond})
			x.ready(t)
			var rec statusRecorder
			defer x.c.addStatusListener(rec.add)()
			x.value(t, x.flags, "a")
			all, err := x.flags.getAll(bg)
			if err != nil || len(all) != 1 {
				t.Fatalf("getAll = %v, %v", all, err)
			}

			w.setFail(errBoom)
			x.advance(2 * time.Minute)
			if v := x.value(t, x.flags, "a"); v != "one" {
				t.Fatalf("a during outage = %s", v)
			}
			eventually(t, "unavailable", func() bool { return x.c.status.Load().State == Unavailable })
			st := *x.c.status.Load()
			if !errors.Is(st.Err, errBoom) || !st.Stale || st.Since.IsZero() {
				t.Errorf("status = %+v", st)
			}
			// A miss has no last good value: the error, at once.
			if _, err := x.flags.get(bg, "b"); !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, errBoom) {
				t.Errorf("miss during outage: err = %v", err)
			}
			gets := w.gets.Load()
			for range 1000 {
				if v := x.value(t, x.flags, "a"); v != "one" {
					t.Fatalf("a during outage = %s", v)
				}
				if all, err := x.flags.getAll(bg); err != nil || len(all) != 1 {
					t.Fatalf("getAll during outage = %v, %v", all, err)
				}
			}
			if n := w.gets.Load() - gets; n != 0 {
				t.Errorf("%d store reads while unavailable, want 0 (the probe watches)", n)
			}

			w.setFail(nil)
			eventually(t, "available", func() bool { return x.c.status.Load().State == Available })
			eventually(t, "listeners told", func() bool {
				return slices.Equal(rec.states(), []State{Unavailable, Available})
			})
			if ping && w.pings.Load() == 0 {
				t.Error("the probe did not use Ping")
			}
			upsert(t, s, store.Features, "a", item("a", 2, "two"))
			eventually(t, "refresh after recovery", func() bool { return x.value(t, x.flags, "a") == "two" })
		})
	}
}

func TestMaxStale(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute, Jitter: -1, MaxStale: 10 * time.Minute, ProbeInterval: time.Hour})
	x.ready(t)
	x.value(t, x.flags, "a")
	if _, err := x.flags.getAll(bg); err != nil {
		t.Fatal(err)
	}
	w.setFail(errBoom)
	x.advance(5 * time.Minute) // 4 minutes past expiry: within MaxStale
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Fatalf("a = %s", v)
	}
	eventually(t, "unavailable", func() bool { return x.c.status.Load().State == Unavailable })
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Fatalf("a within MaxStale = %s", v)
	}
	x.advance(10 * time.Minute) // 14 minutes past expiry
	if v, err := x.flags.get(bg, "a"); v != nil || !errors.Is(err, errBoom) {
		t.Fatalf("a beyond MaxStale = %v, %v; want nil and the store error", v, err)
	}
	if all, err := x.flags.getAll(bg); all != nil || !errors.Is(err, errBoom) {
		t.Fatalf("all beyond MaxStale = %v, %v; want nil and the store error", all, err)
	}
}

func TestNotInitializedFreshStore(t *testing.T) {
	s := newRealStore(t) // no writer yet
	w := wrap(s)
	var logs logBuffer
	x := newTestCache(t, w, Options{TTL: time.Minute, ProbeInterval: 5 * time.Millisecond, Logger: logs.logger()})
	x.ready(t)
	if st := x.c.status.Load(); st.State != NotInitialized || st.Stale {
		t.Fatalf("status = %+v", st)
	}
	for i := range 100 {
		// The store is still read: a missing flag is not found, not an error.
		if v := x.value(t, x.flags, fmt.Sprint("f", i%10)); v != "<nil>" {
			t.Fatalf("got %s", v)
		}
	}
	if n := w.getsOf(store.Features, "f1"); n != 1 {
		t.Errorf("store reads of f1: %d, want 1", n)
	}
	initStore(t, s, []store.KeyedItem{keyed("f1", item("f1", 1, "one"))}, nil)
	eventually(t, "available", func() bool { return x.c.status.Load().State == Available })
	x.advance(2 * time.Minute)
	eventually(t, "f1 after the writer", func() bool { return x.value(t, x.flags, "f1") == "one" })
	lines := logs.lines()
	if len(lines) != 2 || !strings.Contains(lines[0], "not initialized") || !strings.Contains(lines[1], "available") {
		t.Errorf("log lines:\n%s", strings.Join(lines, "\n"))
	}
}

func TestStoreLosingItsDataKeepsValues(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one")), keyed("b", item("b", 1, "bee"))}, nil)
	w := wrap(s)
	var logs logBuffer
	x := newTestCache(t, w, Options{TTL: time.Minute, ProbeInterval: 5 * time.Millisecond, Logger: logs.logger()})
	x.ready(t)
	var rec statusRecorder
	defer x.c.addStatusListener(rec.add)()
	x.value(t, x.flags, "a")
	x.value(t, x.flags, "b")
	if all, err := x.flags.getAll(bg); err != nil || len(all) != 2 {
		t.Fatalf("all = %v, %v", all, err)
	}

	w.lost.Store(true) // e.g. Redis restarted without persistence
	x.advance(2 * time.Minute)
	for range 200 {
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Fatalf("a after data loss = %s", v)
		}
	}
	eventually(t, "not initialized", func() bool { return x.c.status.Load().State == NotInitialized })
	if st := x.c.status.Load(); !st.Stale {
		t.Errorf("status = %+v, want stale", st)
	}
	all, err := x.flags.getAll(bg)
	if err != nil || len(all) != 2 {
		t.Fatalf("all after data loss = %v, %v", all, err)
	}
	eventually(t, "all-items refresh", func() bool { return w.getAlls.Load() >= 2 })
	for range 100 {
		if v := x.value(t, x.flags, "b"); v != "bee" {
			t.Fatalf("b after data loss = %s", v)
		}
		if all, err := x.flags.getAll(bg); err != nil || len(all) != 2 {
			t.Fatalf("all after data loss = %v, %v", all, err)
		}
	}
	// A key never seen reads as not found: that is what the store says.
	if v := x.value(t, x.flags, "c"); v != "<nil>" {
		t.Errorf("c = %s", v)
	}

	// The writer refills the store: normal reads resume.
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 2, "uno"))}, nil)
	w.lost.Store(false)
	eventually(t, "available", func() bool { return x.c.status.Load().State == Available })
	eventually(t, "new a", func() bool { return x.value(t, x.flags, "a") == "uno" })
	eventually(t, "b deleted by the new dataset", func() bool { return x.value(t, x.flags, "b") == "<nil>" })
	eventually(t, "listeners told", func() bool {
		return slices.Equal(rec.states(), []State{NotInitialized, Available})
	})
	lines := logs.lines()
	if len(lines) != 2 || !strings.Contains(lines[0], "lost its data") {
		t.Errorf("log lines:\n%s", strings.Join(lines, "\n"))
	}
}

// A store that was never marked initialized (filled by something other than
// a writer, as LaunchDarkly's SDK test harness fills one) has nothing to
// lose: an item that vanishes from it is gone, after the TTL, like any other
// deletion.
func TestVanishedItemOfNeverInitializedStoreIsGone(t *testing.T) {
	s := newRealStore(t)
	if applied, err := s.Upsert(bg, store.Features, "a", item("a", 1, "one")); err != nil || !applied {
		t.Fatalf("upsert: %v, %v", applied, err)
	}
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute, ProbeInterval: 5 * time.Millisecond})
	x.ready(t)
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Fatalf("a = %s", v)
	}
	w.lost.Store(true) // the item disappears; there never was a marker
	x.advance(2 * time.Minute)
	eventually(t, "a gone after its TTL", func() bool { return x.value(t, x.flags, "a") == "<nil>" })
	if st := x.c.status.Load(); st.State != NotInitialized || st.Stale {
		t.Errorf("status = %+v, want NotInitialized and not stale", st)
	}
}

func TestOutageLogsOncePerStateChange(t *testing.T) {
	s := newRealStore(t)
	var flags []store.KeyedItem
	for i := range 10 {
		flags = append(flags, keyed(fmt.Sprint("f", i), item(fmt.Sprint("f", i), 1, "v")))
	}
	initStore(t, s, flags, nil)
	w := wrap(s)
	var logs logBuffer
	x := newTestCache(t, w, Options{TTL: time.Minute, ProbeInterval: 5 * time.Millisecond, Logger: logs.logger()})
	x.ready(t)
	for i := range 10 {
		x.value(t, x.flags, fmt.Sprint("f", i))
	}
	w.setFail(errBoom)
	x.advance(2 * time.Minute)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5000 {
				x.flags.get(bg, fmt.Sprint("f", i%10))            // warm keys: stale values
				x.flags.get(bg, fmt.Sprint("cold", g, "-", i%50)) // cold keys: errors
				x.flags.getAll(bg)
			}
		}()
	}
	wg.Wait()
	eventually(t, "unavailable", func() bool { return x.c.status.Load().State == Unavailable })
	n := w.inits.Load()
	eventually(t, "the probe failing a few more times", func() bool { return w.inits.Load() >= n+3 })
	w.setFail(nil)
	eventually(t, "available", func() bool { return x.c.status.Load().State == Available })
	lines := logs.lines()
	if len(lines) != 2 || !strings.Contains(lines[0], "unavailable") || !strings.Contains(lines[0], "connection refused") ||
		!strings.Contains(lines[1], "available") {
		t.Errorf("%d log lines for one outage of 120000 reads, want 2:\n%s", len(lines), strings.Join(lines, "\n"))
	}
}

func TestMalformedItem(t *testing.T) {
	s := newRealStore(t)
	bad := store.Item{Version: 1, Data: []byte(`{"key":"bad","version":1,"bad":true}`)}
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one")), keyed("bad", bad)}, nil)
	w := wrap(s)
	var logs logBuffer
	x := newTestCache(t, w, Options{TTL: time.Minute, Logger: logs.logger()})
	x.ready(t)
	for range 10 {
		if v, err := x.flags.get(bg, "bad"); v != nil || !errors.Is(err, store.ErrMalformedItem) || !strings.Contains(err.Error(), `"bad"`) {
			t.Fatalf("bad = %v, %v", v, err)
		}
	}
	if n := w.getsOf(store.Features, "bad"); n != 1 {
		t.Errorf("reads of a malformed item: %d, want 1", n)
	}
	// A good item that turns malformed keeps its last good value.
	x.value(t, x.flags, "a")
	upsert(t, s, store.Features, "a", store.Item{Version: 2, Data: []byte(`{"key":"a","version":2,"bad":true}`)})
	x.advance(2 * time.Minute)
	x.value(t, x.flags, "a")
	eventually(t, "refresh", func() bool { return w.getsOf(store.Features, "a") == 2 && x.fresh(x.flags, "a") })
	for range 10 {
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Fatalf("a = %s", v)
		}
	}
	if all, err := x.flags.getAll(bg); err != nil || len(all) != 1 || all[0].Value != "one" {
		t.Errorf("all = %v, %v", all, err)
	}
	if st := x.c.status.Load(); st.State != Available {
		t.Errorf("a malformed item changed the store status: %+v", st)
	}
	if lines := logs.lines(); len(lines) != 2 {
		t.Errorf("log lines, want one per malformed item:\n%s", strings.Join(lines, "\n"))
	}
}

func TestAllItems(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{
		keyed("b", item("b", 1, "bee")),
		keyed("a", item("a", 1, "ay")),
		keyed("c", store.Tombstone("c", 3)),
	}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute})
	all, err := x.flags.getAll(bg)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range all {
		keys = append(keys, it.Key)
	}
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Fatalf("keys = %v", keys)
	}
	// The all-items read filled the per-item entries too.
	for _, k := range []string{"a", "b", "c"} {
		x.flags.get(bg, k)
	}
	if n := w.gets.Load(); n != 0 {
		t.Errorf("%d store reads after GetAll, want 0", n)
	}
	if n := x.tc.decodes.Load(); n != 2 {
		t.Errorf("decodes = %d, want 2 (tombstones are not decoded)", n)
	}
	if _, err := x.flags.getAll(bg); err != nil || w.getAlls.Load() != 1 {
		t.Errorf("GetAll calls = %d, want 1", w.getAlls.Load())
	}
	// Refresh-ahead: the all-items entry is served while it refreshes, and
	// the new list is shown when the old one expires.
	upsert(t, s, store.Features, "d", item("d", 1, "dee"))
	x.advance(50 * time.Second)
	if all, _ := x.flags.getAll(bg); len(all) != 2 {
		t.Errorf("all in its last part of life = %d items, want the 2 cached", len(all))
	}
	eventually(t, "all-items refresh", func() bool { return x.flags.allNext.Load() != nil })
	x.advance(11 * time.Second)
	if all, _ := x.flags.getAll(bg); len(all) != 3 {
		t.Errorf("all after its TTL = %d items, want 3", len(all))
	}
}

func TestStatusListenerRemoval(t *testing.T) {
	s := newRealStore(t)
	w := wrap(s)
	x := newTestCache(t, w, Options{ProbeInterval: 5 * time.Millisecond})
	// Wait for the first check (not initialized) so that the only change
	// after the listeners are added is the one this test makes.
	x.ready(t)
	eventually(t, "not initialized", func() bool { return x.c.status.Load().State == NotInitialized })
	var a, b statusRecorder
	removeA := x.c.addStatusListener(a.add)
	defer x.c.addStatusListener(b.add)()
	removeA()
	initStore(t, s, nil, nil)
	eventually(t, "available", func() bool { return slices.Contains(b.states(), Available) })
	if got := a.states(); len(got) != 0 {
		t.Errorf("removed listener got %v", got)
	}
}

func TestCloseStopsBackgroundWork(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	before := runtime.NumGoroutine()
	w := wrap(s)
	tc := &testCodec{}
	c := newCore(w, Options{TTL: time.Minute, Jitter: -1, ChangePollInterval: 5 * time.Millisecond, ProbeInterval: 5 * time.Millisecond})
	flags := newKind(c, tc.codec(store.Features))
	c.start()
	c.addStatusListener(func(Status) {})
	c.onChange(func([]string) {})
	flags.get(bg, "a")
	eventually(t, "polling", func() bool { return w.getAlls.Load() >= 2 })
	release := w.hold()                 // a refresh is stuck in the store when Close is called
	c.skew.Add(int64(50 * time.Second)) // the entry's last fifth of life: a background refresh
	flags.get(bg, "a")
	c.close()
	release()
	c.close() // idempotent
	eventually(t, "goroutines to exit", func() bool { return runtime.NumGoroutine() <= before })
	if _, err := flags.get(bg, "new"); !errors.Is(err, ErrClosed) {
		t.Errorf("miss after close: %v", err)
	}
	if v, err := flags.get(bg, "a"); err != nil || v == nil {
		t.Errorf("cached value after close: %v, %v", v, err)
	}
}

func TestMaxStaleAfterDataLoss(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Minute, Jitter: -1, MaxStale: 10 * time.Minute, ProbeInterval: time.Hour})
	x.ready(t)
	x.value(t, x.flags, "a")
	if _, err := x.flags.getAll(bg); err != nil {
		t.Fatal(err)
	}
	w.lost.Store(true)
	x.advance(2 * time.Minute)
	x.value(t, x.flags, "a")
	eventually(t, "not initialized", func() bool { return x.c.status.Load().State == NotInitialized })
	if v := x.value(t, x.flags, "a"); v != "one" {
		t.Fatalf("a within MaxStale = %s", v)
	}
	x.advance(20 * time.Minute)
	// Beyond MaxStale the store's answer (no such flag) wins.
	if v := x.value(t, x.flags, "a"); v != "<nil>" {
		t.Errorf("a beyond MaxStale = %s", v)
	}
	n := w.getAlls.Load()
	x.flags.getAll(bg) // expired: refreshed in the background
	eventually(t, "all-items refresh", func() bool {
		all, _ := x.flags.getAll(bg)
		return w.getAlls.Load() > n && len(all) == 0
	})
}
