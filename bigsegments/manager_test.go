package bigsegments_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

var quiet = slog.New(slog.DiscardHandler)

func include(key, ref string) store.MembershipChange {
	return store.MembershipChange{ContextHash: store.ContextHash(key), SegmentRef: ref}
}

func exclude(key, ref string) store.MembershipChange {
	return store.MembershipChange{ContextHash: store.ContextHash(key), SegmentRef: ref, Excluded: true}
}

func apply(t *testing.T, w store.BigSegmentWriter, changes ...store.MembershipChange) {
	t.Helper()
	if err := w.ApplyMembership(context.Background(), changes); err != nil {
		t.Fatalf("ApplyMembership: %v", err)
	}
}

func touch(t *testing.T, w store.BigSegmentWriter, at time.Time) {
	t.Helper()
	if err := w.SetSynchronizedOn(context.Background(), at); err != nil {
		t.Fatalf("SetSynchronizedOn: %v", err)
	}
}

// newManager starts a Manager over p and closes it when the test ends.
func newManager(t *testing.T, opts bigsegments.Options) *bigsegments.Manager {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	m, err := bigsegments.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// lookup returns what the membership says of ref: "included", "excluded" or
// "unknown", with the status.
func lookup(t *testing.T, m *bigsegments.Manager, key, ref string) (string, evaluation.BigSegmentsStatus) {
	t.Helper()
	ms, st := m.Membership(context.Background(), key)
	if ms == nil {
		return "unknown", st
	}
	switch inc, known := ms.CheckMembership(ref); {
	case !known:
		return "unknown", st
	case inc:
		return "included", st
	default:
		return "excluded", st
	}
}

func TestContextHash(t *testing.T) {
	for key, want := range map[string]string{
		"user-key": "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0=",
		"":         "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
		"ü":        "YHR0ykdalyTXNgq6caVtXfd+YTUOP3JM+h9G6Ffi2F8=", // printf ü | sha256sum
	} {
		if got := store.ContextHash(key); got != want {
			t.Errorf("ContextHash(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestSegmentRef(t *testing.T) {
	if got := store.SegmentRef("big", 3); got != "big.g3" {
		t.Errorf("SegmentRef = %q, want big.g3", got)
	}
}

func TestMembership(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w,
			include("alice", "seg.g1"),
			exclude("alice", "other.g2"),
			include("bob", "both.g1"),
			exclude("bob", "both.g1"),
			exclude("carol", "seg.g1"),
		)
		touch(t, w, time.Now())
		m := newManager(t, bigsegments.Options{Store: r})
		for _, c := range []struct {
			name, key, ref, want string
		}{
			{"included", "alice", "seg.g1", "included"},
			{"excluded", "alice", "other.g2", "excluded"},
			{"neither: other segment", "alice", "third.g1", "unknown"},
			{"neither: other generation", "alice", "seg.g2", "unknown"},
			{"included wins over excluded", "bob", "both.g1", "included"},
			{"only excluded", "carol", "seg.g1", "excluded"},
			{"no stored membership", "dave", "seg.g1", "unknown"},
		} {
			t.Run(c.name, func(t *testing.T) {
				got, st := lookup(t, m, c.key, c.ref)
				if got != c.want || st != evaluation.BigSegmentsHealthy {
					t.Errorf("%s in %s: got %s, %s; want %s, HEALTHY", c.key, c.ref, got, st, c.want)
				}
			})
		}
		if ms, _ := m.Membership(context.Background(), "dave"); ms != nil {
			t.Errorf("Membership of a context with none stored = %v, want nil", ms)
		}
	})
}

func TestOneStoreReadPerContextKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "a.g1"), include("alice", "b.g1"), exclude("alice", "c.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: time.Minute})

		// Many segment checks in one evaluation, and many evaluations.
		for range 20 {
			ms, st := m.Membership(context.Background(), "alice")
			if st != evaluation.BigSegmentsHealthy {
				t.Fatalf("status %s", st)
			}
			for _, ref := range []string{"a.g1", "b.g1", "c.g1", "d.g1"} {
				ms.CheckMembership(ref)
			}
		}
		if n := p.reads.Load(); n != 1 {
			t.Errorf("store reads for one context key = %d, want 1", n)
		}

		// Not found is cached too.
		for range 5 {
			lookup(t, m, "nobody", "a.g1")
		}
		if n := p.reads.Load(); n != 2 {
			t.Errorf("store reads after 5 lookups of an unknown key = %d, want 2", n)
		}
	})
}

func TestConcurrentLookupsShareOneRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "a.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r, gate: make(chan struct{}), entered: make(chan struct{}, 100)}
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: time.Minute})
		m.Status() // settle the first poll so lookups wait only on the store

		const n = 50
		var wg sync.WaitGroup
		var started atomic.Int64
		results := make(chan string, n)
		for range n {
			wg.Go(func() {
				started.Add(1)
				got, _ := lookup(t, m, "alice", "a.g1")
				results <- got
			})
		}
		<-p.entered // one read is in the store; the others join it or hit the cache
		eventually(t, "every lookup started", func() bool { return started.Load() == n })
		close(p.gate)
		wg.Wait()
		close(results)
		for got := range results {
			if got != "included" {
				t.Errorf("lookup = %s, want included", got)
			}
		}
		if got := p.reads.Load(); got != 1 {
			t.Errorf("store reads for %d concurrent lookups = %d, want 1", n, got)
		}
	})
}

func TestCallerGivesUpOnSlowRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "a.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r, gate: make(chan struct{}), entered: make(chan struct{}, 10)}
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: time.Minute})
		m.Status()

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan evaluation.BigSegmentsStatus)
		go func() {
			ms, st := m.Membership(ctx, "alice")
			if ms != nil {
				t.Errorf("membership after giving up = %v, want nil", ms)
			}
			done <- st
		}()
		<-p.entered
		cancel()
		if st := <-done; st != evaluation.BigSegmentsStoreError {
			t.Errorf("status after giving up = %s, want STORE_ERROR", st)
		}
		// The read itself goes on and its result serves the next caller.
		close(p.gate)
		eventually(t, "the abandoned read fills the cache", func() bool {
			got, _ := lookup(t, m, "alice", "a.g1")
			return got == "included"
		})
		if got := p.reads.Load(); got != 1 {
			t.Errorf("store reads = %d, want 1", got)
		}
	})
}

func TestLRUEviction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("a", "s.g1"), include("b", "s.g1"), include("c", "s.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		m := newManager(t, bigsegments.Options{Store: p, CacheSize: 2, CacheTTL: time.Minute})

		reads := func(key string) int64 {
			t.Helper()
			before := p.reads.Load()
			if got, _ := lookup(t, m, key, "s.g1"); got != "included" {
				t.Fatalf("%s: got %s, want included", key, got)
			}
			return p.reads.Load() - before
		}
		for _, step := range []struct {
			key  string
			want int64
		}{
			{"a", 1}, {"b", 1}, // cache: b a
			{"a", 0}, // cache: a b
			{"c", 1}, // evicts b (least recently used); cache: c a
			{"a", 0}, // still cached
			{"b", 1}, // was evicted; evicts c; cache: b a
			{"c", 1},
		} {
			if got := reads(step.key); got != step.want {
				t.Errorf("lookup of %s: %d store reads, want %d", step.key, got, step.want)
			}
		}
	})
}

func TestTTLExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		const ttl = 300 * time.Millisecond
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: ttl})

		if got, _ := lookup(t, m, "alice", "s.g1"); got != "included" {
			t.Fatalf("got %s, want included", got)
		}
		fetched := time.Now()
		// A change in the store is seen only once the entry expires.
		apply(t, w, store.MembershipChange{ContextHash: store.ContextHash("alice"), SegmentRef: "s.g1", Remove: true})
		if got, _ := lookup(t, m, "alice", "s.g1"); got != "included" && time.Since(fetched) < ttl {
			t.Errorf("before expiry: got %s, want the cached included", got)
		}
		eventually(t, "the removal seen once the entry expired", func() bool {
			got, _ := lookup(t, m, "alice", "s.g1")
			return got == "unknown"
		})
		if seen := time.Since(fetched); seen < ttl*9/10 { // jitter only shortens a TTL, by up to 10%
			t.Errorf("the removal was seen %v after the entry was read, before its TTL of %v", seen, ttl)
		}
		if got := p.reads.Load(); got < 2 {
			t.Errorf("store reads = %d, want at least 2", got)
		}
	})
}

func TestStoreErrorIsNotCached(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: time.Minute})

		p.failMembership.Store(true)
		for range 3 {
			ms, st := m.Membership(context.Background(), "alice")
			if ms != nil || st != evaluation.BigSegmentsStoreError {
				t.Fatalf("failing store: got %v, %s; want nil, STORE_ERROR", ms, st)
			}
		}
		if got := p.reads.Load(); got != 3 {
			t.Errorf("store reads for 3 failing lookups = %d, want 3 (errors are not cached)", got)
		}
		p.failMembership.Store(false)
		if got, st := lookup(t, m, "alice", "s.g1"); got != "included" || st != evaluation.BigSegmentsHealthy {
			t.Errorf("after recovery: got %s, %s; want included, HEALTHY", got, st)
		}
	})
}

func TestStaleStatus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		touch(t, w, time.Now().Add(-time.Hour))
		m := newManager(t, bigsegments.Options{Store: r, StaleAfter: time.Minute})
		if got := m.Status(); got != (bigsegments.Status{Available: true, Stale: true}) {
			t.Errorf("Status = %+v, want available and stale", got)
		}
		// Stale data is still used.
		if got, st := lookup(t, m, "alice", "s.g1"); got != "included" || st != evaluation.BigSegmentsStale {
			t.Errorf("got %s, %s; want included, STALE", got, st)
		}
	})
}

func TestNeverSynchronizedIsStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		m := newManager(t, bigsegments.Options{Store: r})
		if got := m.Status(); got != (bigsegments.Status{Available: true, Stale: true}) {
			t.Errorf("Status = %+v, want available and stale", got)
		}
		if got, st := lookup(t, m, "alice", "s.g1"); got != "included" || st != evaluation.BigSegmentsStale {
			t.Errorf("got %s, %s; want included, STALE", got, st)
		}
	})
}

func TestUnavailableStatusGivesStoreError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		p.failSync.Store(true)
		m := newManager(t, bigsegments.Options{Store: p})
		if got := m.Status(); got.Available {
			t.Errorf("Status = %+v, want unavailable", got)
		}
		if _, st := lookup(t, m, "alice", "s.g1"); st != evaluation.BigSegmentsStoreError {
			t.Errorf("status = %s, want STORE_ERROR", st)
		}
	})
}

func TestStatusListeners(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		m := newManager(t, bigsegments.Options{Store: p, StatusPollInterval: 10 * time.Millisecond, StaleAfter: time.Minute})
		if got := m.Status(); got != (bigsegments.Status{Available: true}) {
			t.Fatalf("initial Status = %+v, want available, not stale", got)
		}
		changes := make(chan bigsegments.Status, 100)
		remove := m.AddStatusListener(func(s bigsegments.Status) { changes <- s })
		removed := m.AddStatusListener(func(bigsegments.Status) { t.Error("a removed listener was called") })
		removed()
		removed() // idempotent

		expect := func(want bigsegments.Status) {
			t.Helper()
			select {
			case got := <-changes:
				if got != want {
					t.Fatalf("listener got %+v, want %+v", got, want)
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("listener not told of %+v", want)
			}
			if got := m.Status(); got != want {
				t.Errorf("Status = %+v, want %+v", got, want)
			}
		}
		touch(t, w, time.Now().Add(-time.Hour))
		expect(bigsegments.Status{Available: true, Stale: true})
		p.failSync.Store(true)
		expect(bigsegments.Status{Available: false})
		touch(t, w, time.Now())
		p.failSync.Store(false)
		expect(bigsegments.Status{Available: true})

		remove()
		touch(t, w, time.Now().Add(-time.Hour))
		eventually(t, "the status turns stale", func() bool { return m.Status().Stale })
		select {
		case s := <-changes:
			t.Errorf("removed listener told of %+v", s)
		default:
		}
	})
}

// TestCloseStopsPolling runs on a fake clock (the poller's logic does not
// depend on the backend): after Close, a second of fake time passes without
// a poll.
func TestCloseStopsPolling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := memstore.New()
		defer ms.Close()
		if err := ms.SetSynchronizedOn(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		p := &probe{BigSegmentReader: ms}
		m, err := bigsegments.New(bigsegments.Options{Store: p, StatusPollInterval: 5 * time.Millisecond, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if n := p.syncReads.Load(); n < 3 {
			t.Fatalf("%d polls in 20 ms at a 5 ms interval, want at least 3", n)
		}
		if err := m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		m.Close() // idempotent
		after := p.syncReads.Load()
		time.Sleep(time.Second)
		synctest.Wait()
		if got := p.syncReads.Load(); got != after {
			t.Errorf("%d polls after Close", got-after)
		}
		// The store stays open for its owner.
		if _, _, err := ms.SynchronizedOn(context.Background()); err != nil {
			t.Errorf("store after Close of the Manager: %v", err)
		}
	})
}

func TestNewRejectsBadOptions(t *testing.T) {
	s, _ := openBolt(t)
	for name, o := range map[string]bigsegments.Options{
		"no store":          {},
		"negative size":     {Store: s, CacheSize: -1},
		"negative ttl":      {Store: s, CacheTTL: -time.Second},
		"negative interval": {Store: s, StatusPollInterval: -time.Second},
		"negative stale":    {Store: s, StaleAfter: -time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := bigsegments.New(o)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// A big-segment store outage is logged when lookups start failing and when
// they succeed again, not once per failed lookup.
func TestLookupOutageLogsStateChangesOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		apply(t, w, include("alice", "s.g1"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		var logs lockedBuffer
		m := newManager(t, bigsegments.Options{Store: p, CacheTTL: time.Minute,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		p.failMembership.Store(true)
		for i := range 500 {
			if _, st := m.Membership(context.Background(), fmt.Sprint("user-", i)); st != evaluation.BigSegmentsStoreError {
				t.Fatalf("failing lookup: %s", st)
			}
		}
		p.failMembership.Store(false)
		if got, _ := lookup(t, m, "alice", "s.g1"); got != "included" {
			t.Fatalf("after recovery: %s", got)
		}
		lines := logs.linesWith("membership")
		if len(lines) != 2 || !strings.Contains(lines[0], "failing") || !strings.Contains(lines[1], "again") {
			t.Errorf("log lines for 500 failed lookups and a recovery, want 2:\n%s", strings.Join(lines, "\n"))
		}
	})
}

// lockedBuffer collects log output from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) linesWith(sub string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return out
}
