package cache

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/internal/stripe"
	"github.com/daemonflag/daemonflag/store"
)

// Stats are the cache's counters since it was created, for metrics: every
// count only grows. Taking them costs a few atomic loads; counting costs an
// atomic add per lookup and no allocation.
type Stats struct {
	// Flags and Segments count lookups of each kind.
	Flags, Segments KindStats
	// Reads are the store calls the cache made, by operation, in the order
	// of [ReadOps].
	Reads [len(ReadOps)]ReadStats
	// Notifications counts the changes the store's notifications named
	// (see store.Notifier); a notification of "everything" counts one.
	Notifications uint64
}

// KindStats counts the lookups of one kind of item.
type KindStats struct {
	// Hits are lookups answered from the cache without a store read: fresh
	// entries, and values served while a refresh runs or the store fails.
	Hits uint64
	// Misses are lookups of keys the cache held nothing for, which waited
	// for (or shared) a store read.
	Misses uint64
	// Refreshes are background re-reads of entries near the end of their
	// life (refresh-ahead), which no lookup waited for.
	Refreshes uint64
}

// ReadOps names the store operations [Stats.Reads] counts, in order:
// Reader.Get, Reader.GetAll, Reader.Initialized, Pinger.Ping and
// WriteTimeReader.LastWrite.
var ReadOps = [...]string{"get", "get_all", "initialized", "ping", "last_write"}

const (
	opGet = iota
	opGetAll
	opInitialized
	opPing
	opLastWrite
)

// LatencyBounds are the upper bounds of the latency histogram buckets of
// [ReadStats.Buckets].
var LatencyBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
}

// ReadStats counts the calls of one store operation.
type ReadStats struct {
	// Op is the operation's name (see [ReadOps]).
	Op string
	// Count is the number of calls, Errors those that failed (any error:
	// an unavailable store, a malformed item, a cancelled call).
	Count, Errors uint64
	// Latency is the total time the calls took.
	Latency time.Duration
	// Buckets[i] counts calls that took at most LatencyBounds[i] (and more
	// than the bound before); the last counts the slower ones.
	Buckets [len(LatencyBounds) + 1]uint64
}

// Stats returns the cache's counters.
func (x *Cache) Stats() Stats {
	c := &x.c.stats
	st := Stats{
		Flags:         c.kinds[0].snapshot(),
		Segments:      c.kinds[1].snapshot(),
		Notifications: c.notifications.Load(),
	}
	for i := range st.Reads {
		r := &c.reads[i]
		st.Reads[i] = ReadStats{Op: ReadOps[i], Count: r.count.Load(), Errors: r.errors.Load(), Latency: time.Duration(r.nanos.Load())}
		for b := range r.buckets {
			st.Reads[i].Buckets[b] = r.buckets[b].Load()
		}
	}
	return st
}

// counters is the live form of Stats, in the core.
type counters struct {
	kinds         [2]kindCounters // features, segments
	reads         [len(ReadOps)]readCounters
	notifications atomic.Uint64
}

func (c *counters) init(observer func(string, time.Duration, error)) {
	for i := range c.reads {
		c.reads[i].op, c.reads[i].observer = ReadOps[i], observer
	}
}

type kindCounters struct {
	// hits is added to by every warm lookup, from every processor: striped
	// (see internal/stripe), or a warm lookup on two processors would cost
	// more than on one.
	hits              stripe.Counter
	misses, refreshes atomic.Uint64
	_                 [48]byte // keep each kind's other counters on their own cache line
}

func (k *kindCounters) snapshot() KindStats {
	return KindStats{Hits: k.hits.Load(), Misses: k.misses.Load(), Refreshes: k.refreshes.Load()}
}

// forKind returns the counters of kind.
func (c *counters) forKind(kind store.Kind) *kindCounters {
	if kind == store.Segments {
		return &c.kinds[1]
	}
	return &c.kinds[0]
}

type readCounters struct {
	count, errors, nanos atomic.Uint64
	buckets              [len(LatencyBounds) + 1]atomic.Uint64
	op                   string
	observer             func(string, time.Duration, error) // Options.ReadObserver
}

func (r *readCounters) observe(start time.Time, err error) {
	d := time.Since(start)
	if r.observer != nil {
		r.observer(r.op, d, err)
	}
	r.count.Add(1)
	if err != nil {
		r.errors.Add(1)
	}
	r.nanos.Add(uint64(d))
	b := 0
	for b < len(LatencyBounds) && d > LatencyBounds[b] {
		b++
	}
	r.buckets[b].Add(1)
}

// instrument returns r, p and w wrapped so that every call is counted and
// timed, and told to observer when it is not nil (p and w may be nil). The
// unwrapped reader stays reachable through unwrapReader, for the optional
// interfaces the wrappers do not have.
func (c *counters) instrument(r store.Reader, p store.Pinger, w store.WriteTimeReader, observer func(string, time.Duration, error)) (store.Reader, store.Pinger, store.WriteTimeReader) {
	c.init(observer)
	tr := &timedReader{Reader: r, c: c}
	var tp store.Pinger
	if p != nil {
		tp = timedPinger{p, &c.reads[opPing]}
	}
	var tw store.WriteTimeReader
	if w != nil {
		tw = timedWriteTimes{w, &c.reads[opLastWrite]}
	}
	return tr, tp, tw
}

// unwrapReader returns the store behind an instrumented reader.
func unwrapReader(r store.Reader) store.Reader {
	if t, ok := r.(*timedReader); ok {
		return t.Reader
	}
	return r
}

type timedReader struct {
	store.Reader
	c *counters
}

func (t *timedReader) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	start := time.Now()
	it, found, err := t.Reader.Get(ctx, kind, key)
	t.c.reads[opGet].observe(start, err)
	return it, found, err
}

func (t *timedReader) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	start := time.Now()
	items, err := t.Reader.GetAll(ctx, kind)
	t.c.reads[opGetAll].observe(start, err)
	return items, err
}

func (t *timedReader) Initialized(ctx context.Context) (bool, error) {
	start := time.Now()
	ok, err := t.Reader.Initialized(ctx)
	t.c.reads[opInitialized].observe(start, err)
	return ok, err
}

type timedPinger struct {
	p store.Pinger
	r *readCounters
}

func (t timedPinger) Ping(ctx context.Context) error {
	start := time.Now()
	err := t.p.Ping(ctx)
	t.r.observe(start, err)
	return err
}

type timedWriteTimes struct {
	w store.WriteTimeReader
	r *readCounters
}

func (t timedWriteTimes) LastWrite(ctx context.Context) (time.Time, bool, error) {
	start := time.Now()
	at, ok, err := t.w.LastWrite(ctx)
	t.r.observe(start, err)
	return at, ok, err
}
