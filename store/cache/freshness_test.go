package cache

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// These tests run on synctest's fake clock: time passes only while every
// goroutine of the bubble is blocked, so a lookup that takes any time at all
// waited on the store (whose latency is a timer).

const rtt = 5 * time.Millisecond // the memStore's latency in these tests

func newMemCache(t *testing.T, r store.Reader, opts Options) *testCache {
	t.Helper()
	x := newTestCache(t, r, opts)
	<-x.c.firstCheck
	return x
}

func itemPtr(it store.Item) *store.Item { return &it }

// timedValue reads key and returns its value and how long the lookup took.
func (x *testCache) timedValue(t *testing.T, k *kind[*testItem], key string) (string, time.Duration) {
	t.Helper()
	t0 := time.Now()
	v := x.value(t, k, key)
	return v, time.Since(t0)
}

// A key read continually: lookups never wait, a change made behind the
// writer's back is never seen before the entry's TTL and always within TTL
// plus one round trip after it was written; with jitter the life only gets
// shorter.
func TestTTLIsAStalenessBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		jitter float64
		key    string // "a" exists, "nope" is a cached "not found"
	}{
		{"value", -1, "a"},
		{"value with jitter", 0.1, "a"},
		{"not found", -1, "nope"},
		{"not found with jitter", 0.1, "nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				const ttl = time.Second
				m := newMemStore()
				m.latency.Store(int64(rtt))
				_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "one"))}}})
				x := newMemCache(t, m, Options{TTL: ttl, Jitter: tc.jitter})

				first := time.Now()
				old, took := x.timedValue(t, x.flags, tc.key) // the miss: one round trip
				if took != rtt {
					t.Fatalf("miss took %v, want one round trip", took)
				}
				time.Sleep(100 * time.Millisecond)
				written := time.Now()
				m.edit(store.Features, tc.key, itemPtr(item(tc.key, 2, "two")))
				var seen time.Time
				for i := 0; seen.IsZero() && i < 1000; i++ {
					time.Sleep(10 * time.Millisecond)
					v, took := x.timedValue(t, x.flags, tc.key)
					if took != 0 {
						t.Fatalf("a warm lookup waited %v at %v", took, time.Since(first))
					}
					if v != old {
						seen = time.Now()
					}
				}
				if seen.IsZero() {
					t.Fatal("the change was never seen")
				}
				// The entry was read at first (+ the round trip): its life is
				// the TTL without jitter, and at least 90% of it with.
				minLife := ttl
				if tc.jitter > 0 {
					minLife = ttl * 9 / 10
				}
				if age := seen.Sub(first); age < minLife {
					t.Errorf("the change was seen %v after the entry was read: before its TTL", age)
				}
				if lag := seen.Sub(written); lag > ttl+rtt {
					t.Errorf("the change was seen %v after it was written, want at most TTL + one round trip", lag)
				}
				x.c.close()
			})
		})
	}
}

// A key nobody read in the last part of its life is read again by the next
// lookup, which waits one round trip: a value older than the TTL is never
// served. If that read fails, the last good value is served.
func TestKeyNotReadForLongerThanTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemStore()
		m.latency.Store(int64(rtt))
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "one"))}}})
		x := newMemCache(t, m, Options{TTL: time.Second, ProbeInterval: time.Hour})
		x.value(t, x.flags, "a")
		m.edit(store.Features, "a", itemPtr(item("a", 2, "two")))
		time.Sleep(time.Hour)
		if v, took := x.timedValue(t, x.flags, "a"); v != "two" || took != rtt {
			t.Errorf("lookup after an hour = %s in %v, want two in one round trip", v, took)
		}
		if v, took := x.timedValue(t, x.flags, "a"); v != "two" || took != 0 {
			t.Errorf("next lookup = %s in %v, want two at once", v, took)
		}
		m.setFail(errBoom)
		time.Sleep(time.Hour)
		if v, took := x.timedValue(t, x.flags, "a"); v != "two" || took != rtt {
			t.Errorf("lookup of a failing store = %s in %v, want the last good value after the failed read", v, took)
		}
		if v, took := x.timedValue(t, x.flags, "a"); v != "two" || took != 0 {
			t.Errorf("lookup while unavailable = %s in %v, want the last good value at once", v, took)
		}
		x.c.close()
	})
}

// A store slower than the last part of an entry's life: lookups still never
// wait, and the value served is never older than TTL plus one round trip.
func TestSlowStoreStillBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl, slow = 100 * time.Millisecond, 40 * time.Millisecond // the last fifth of life is 20 ms
		m := newMemStore()
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "v0"))}}})
		m.latency.Store(int64(slow))
		x := newMemCache(t, m, Options{TTL: ttl, Jitter: -1})
		x.value(t, x.flags, "a")
		version := 1
		lastWrite := map[string]time.Time{"v0": time.Now()}
		for i := range 300 {
			time.Sleep(time.Millisecond)
			if i%50 == 0 {
				version++
				v := "v" + string(rune('0'+version))
				m.edit(store.Features, "a", itemPtr(item("a", version, v)))
				lastWrite[v] = time.Now()
			}
			v, took := x.timedValue(t, x.flags, "a")
			if took != 0 {
				t.Fatalf("a warm lookup waited %v", took)
			}
			// Every value written before now-(TTL+slow) must have been
			// replaced by a later one.
			for w, at := range lastWrite {
				if w > v && time.Since(at) > ttl+slow {
					t.Fatalf("at %d ms serving %s although %s was written %v ago", i, v, w, time.Since(at))
				}
			}
		}
		x.c.close()
	})
}

// Refreshes slower than the last fifth of an entry's life widen the part of
// life in which a lookup refreshes (to twice the refresh's duration, at most
// half the life): once one refresh was slow, later ones start early enough
// to come back before the entry expires, so no lookup is served an entry
// past its TTL again (TestSlowStoreStillBounded: without the wider window,
// that would happen for one round trip in every life), and lookups still
// never wait.
func TestSlowRefreshesStartEarlier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ttl, slow = 100 * time.Millisecond, 40 * time.Millisecond // the last fifth of life is 20 ms
		m := newMemStore()
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "v0"))}}})
		m.latency.Store(int64(slow))
		x := newMemCache(t, m, Options{TTL: ttl, Jitter: -1})
		x.value(t, x.flags, "a")
		expiredServed := 0
		for i := range 600 {
			time.Sleep(time.Millisecond)
			if i%50 == 0 {
				m.edit(store.Features, "a", itemPtr(item("a", i/50+2, "v")))
			}
			if _, took := x.timedValue(t, x.flags, "a"); took != 0 {
				t.Fatalf("a warm lookup waited %v", took)
			}
			if i < 200 {
				continue // the first refresh is slow: it widens the window for the next
			}
			// What that lookup was served is the slot's entry now: no
			// goroutine ran since (the refreshes wait on the store's timer).
			if e := x.flags.slots.load("a").e.Load(); x.c.now() >= e.expires {
				expiredServed++
			}
		}
		if expiredServed > 0 {
			t.Errorf("%d of 400 lookups were served an entry past its TTL", expiredServed)
		}
		if lead := time.Duration(x.c.refreshLead.Load()); lead != 2*slow {
			t.Errorf("refresh lead = %v, want twice the refresh's %v", lead, slow)
		}
		x.c.close()
	})
}

// The all-items entry follows the same rules.
func TestAllItemsTTLBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemStore()
		m.latency.Store(int64(rtt))
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "one"))}}})
		x := newMemCache(t, m, Options{TTL: time.Second, Jitter: -1})
		first := time.Now()
		if all, err := x.flags.getAll(bg); err != nil || len(all) != 1 {
			t.Fatalf("all = %v, %v", all, err)
		}
		m.edit(store.Features, "b", itemPtr(item("b", 1, "bee")))
		var seen time.Time
		for seen.IsZero() {
			time.Sleep(10 * time.Millisecond)
			t0 := time.Now()
			all, err := x.flags.getAll(bg)
			if err != nil || time.Since(t0) != 0 {
				t.Fatalf("warm getAll: %v, waited %v", err, time.Since(t0))
			}
			if len(all) == 2 {
				seen = time.Now()
			}
			// A lookup of b is a miss and sees it at once; a, read with the
			// list, keeps its entry.
		}
		if age := seen.Sub(first); age < time.Second || age > time.Second+rtt+10*time.Millisecond {
			t.Errorf("new item listed %v after the list was read, want at its TTL", age)
		}
		x.c.close()
	})
}

// Notifications refresh what they name at once, in the background, and
// change listeners fire; without listeners, named cached keys are read
// again, and ChangeAll re-reads everything.
func TestNotificationsRefreshAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemStore()
		m.latency.Store(int64(rtt))
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{
			keyed("a", item("a", 1, "one")), keyed("b", item("b", 1, "bee"))}}})
		x := newMemCache(t, notifyingStore{m}, Options{TTL: time.Hour})
		synctest.Wait() // subscribed
		x.value(t, x.flags, "a")
		x.value(t, x.flags, "b")
		x.value(t, x.flags, "c")

		upsert(t, m, store.Features, "a", item("a", 2, "two"))
		time.Sleep(rtt) // the refresh's round trip
		synctest.Wait()
		if v := x.value(t, x.flags, "a"); v != "two" {
			t.Errorf("a = %s one round trip after the write, want two", v)
		}
		if v := x.value(t, x.flags, "b"); v != "bee" {
			t.Errorf("b = %s", v)
		}
		upsert(t, m, store.Features, "c", item("c", 1, "sea")) // a cached "not found"
		time.Sleep(rtt)
		synctest.Wait()
		if v := x.value(t, x.flags, "c"); v != "sea" {
			t.Errorf("c = %s, want the notified item", v)
		}
		// A whole new dataset: everything is read again.
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 3, "three"))}}})
		time.Sleep(10 * rtt) // one read per cached key, and a check of the marker before a removal
		synctest.Wait()
		// A whole new dataset (store.ChangeAll): everything cached is read
		// again; what changed shows at once, what is gone keeps its value
		// until its TTL (a ChangeAll may also come from a store emptied
		// behind the writer's back).
		if a, b := x.value(t, x.flags, "a"), x.value(t, x.flags, "b"); a != "three" || b != "bee" {
			t.Errorf("after a new dataset a = %s, b = %s; want three, and bee until its TTL", a, b)
		}
		time.Sleep(time.Hour)
		if b := x.value(t, x.flags, "b"); b != "<nil>" {
			t.Errorf("b = %s after its TTL, want it gone", b)
		}

		// With a change listener, the change poll runs at once.
		var mu sync.Mutex
		var got [][]string
		remove := x.c.onChange(func(keys []string) {
			mu.Lock()
			got = append(got, keys)
			mu.Unlock()
		})
		defer remove()
		time.Sleep(time.Second) // the baseline poll
		written := time.Now()
		upsert(t, m, store.Features, "d", item("d", 1, "dee"))
		for i := 0; i < 100; i++ {
			time.Sleep(time.Millisecond)
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n > 0 {
				break
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.EqualFunc(got, [][]string{{"d"}}, slices.Equal) {
			t.Errorf("listener got %v, want [[d]]", got)
		}
		if d := time.Since(written); d > 4*rtt {
			t.Errorf("listener fired %v after the write", d)
		}
		if v := x.value(t, x.flags, "d"); v != "dee" {
			t.Errorf("d = %s when the listener was told", v)
		}
		x.c.close()
	})
}

// failingNotifier cannot listen until ok is set.
type failingNotifier struct {
	notifyingStore
	mu    sync.Mutex
	ok    bool
	tries int
}

func (f *failingNotifier) Notify(ctx context.Context, fn func([]store.Change)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if !f.ok {
		return errors.New("subscribe: connection refused")
	}
	return f.notifyingStore.Notify(ctx, fn)
}

// A store that cannot listen yet: the cache retries, and once it listens it
// re-reads everything, since changes may have been missed.
func TestNotifyRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemStore()
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "one"))}}})
		f := &failingNotifier{notifyingStore: notifyingStore{m}}
		var logs logBuffer
		x := newMemCache(t, f, Options{TTL: time.Hour, ProbeInterval: 100 * time.Millisecond, Logger: logs.logger()})
		x.value(t, x.flags, "a")
		time.Sleep(time.Second)
		f.mu.Lock()
		tries := f.tries
		f.ok = true
		f.mu.Unlock()
		if tries < 3 || tries > 6 {
			t.Errorf("%d tries in a second with backoff from 100 ms", tries)
		}
		m.edit(store.Features, "a", itemPtr(item("a", 2, "two"))) // missed: not listening
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if v := x.value(t, x.flags, "a"); v != "two" {
			t.Errorf("a = %s after notifications came back, want everything re-read", v)
		}
		if lines := logs.lines(); len(lines) != 2 {
			t.Errorf("log lines, want one for the failure and one for the recovery:\n%v", lines)
		}
		x.c.close()
	})
}

// A writer replacing the dataset on a store without multi-item atomic
// writes (store.ErrInitInProgress): the last good values are served, the
// status says why, and a new cache serves nothing rather than a mix.
func TestInitInProgress(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := newMemStore()
		m.latency.Store(int64(rtt))
		_ = m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{keyed("a", item("a", 1, "one"))}}})
		var logs logBuffer
		x := newMemCache(t, m, Options{TTL: time.Second, ProbeInterval: 100 * time.Millisecond, Logger: logs.logger()})
		x.value(t, x.flags, "a")
		inProgress := errors.Join(store.ErrUnavailable, store.ErrInitInProgress)
		m.setFail(inProgress)
		time.Sleep(2 * time.Second)
		if v := x.value(t, x.flags, "a"); v != "one" {
			t.Errorf("a during the init = %s, want the last good value", v)
		}
		st := x.c.status.Load()
		if st.State != Unavailable || !errors.Is(st.Err, store.ErrInitInProgress) {
			t.Errorf("status during the init = %+v", st)
		}
		fresh := newMemCache(t, m, Options{TTL: time.Second, Logger: logs.logger()})
		if v, err := fresh.flags.get(bg, "a"); v != nil || !errors.Is(err, store.ErrInitInProgress) {
			t.Errorf("a new cache during the init: %v, %v; want the error, not a value", v, err)
		}
		m.setFail(nil)
		upsert(t, m, store.Features, "a", item("a", 2, "two"))
		time.Sleep(2 * time.Second)
		if v := x.value(t, x.flags, "a"); v != "two" || x.c.status.Load().State != Available {
			t.Errorf("after the init a = %s, status %v", v, x.c.status.Load().State)
		}
		if n := len(logs.lines()); n < 2 || !strings.Contains(logs.lines()[0], "init in progress") {
			t.Errorf("log lines: %v", logs.lines())
		}
		x.c.close()
		fresh.c.close()
	})
}
