package bigsegments

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store"
)

// Manager serves big-segment memberships to the evaluator from a store,
// through a per-context cache, and watches the store's freshness. It
// implements [evaluation.BigSegmentProvider] and [StatusProvider]. It is
// safe for concurrent use. Create one with [New]; call Close when done.
type Manager struct {
	store      store.BigSegmentReader
	ttl        time.Duration
	staleAfter time.Duration
	interval   time.Duration
	logger     *slog.Logger

	cache *lruCache
	// flights holds the store read in flight per context key.
	flightsMu sync.Mutex
	flights   map[string]*flight
	// lookupsFailing: the last membership read failed (logged once, until
	// one succeeds).
	lookupsFailing atomic.Bool

	status    statusHolder
	listeners listeners

	ctx       context.Context // canceled by Close
	cancel    context.CancelFunc
	done      chan struct{} // closed when the poller has returned
	closeOnce sync.Once
}

var (
	_ evaluation.BigSegmentProvider = (*Manager)(nil)
	_ StatusProvider                = (*Manager)(nil)
)

// New returns a Manager reading from opts.Store and starts its status
// poller, whose first poll begins at once. It returns an error when opts is
// invalid (no Store, a negative value).
func New(opts Options) (*Manager, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		store:      o.Store,
		ttl:        o.CacheTTL,
		staleAfter: o.StaleAfter,
		interval:   o.StatusPollInterval,
		logger:     o.Logger,
		cache:      newLRUCache(o.CacheSize),
		flights:    map[string]*flight{},
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
	}
	m.status.init()
	go m.pollLoop()
	return m, nil
}

// Membership returns the big-segment membership of the context with the
// given key and the big-segments status to put in the evaluation's reason.
//
// The membership comes from the cache when a fresh entry exists (without
// allocating); otherwise from one store read, shared with any concurrent
// lookups of the same key. It is nil when the store holds no membership for
// the key or the read failed. The status is STORE_ERROR when the read failed
// or the last status poll did, STALE when the store's data is stale (the
// membership is still returned and should be used), HEALTHY otherwise.
//
// If the first status poll has not finished, Membership waits for it or
// for ctx to be done.
func (m *Manager) Membership(ctx context.Context, contextKey string) (evaluation.Membership, evaluation.BigSegmentsStatus) {
	set, ok := m.cache.get(contextKey, time.Now())
	if !ok {
		var err error
		set, err = m.fetch(ctx, contextKey)
		if err != nil {
			return nil, evaluation.BigSegmentsStoreError
		}
	}
	st := m.evaluationStatus(ctx)
	if set == nil {
		return nil, st
	}
	return set, st
}

// evaluationStatus maps the current status to the status of an evaluation
// whose membership lookup succeeded.
func (m *Manager) evaluationStatus(ctx context.Context) evaluation.BigSegmentsStatus {
	s, ok := m.status.wait(ctx)
	switch {
	case !ok || !s.Available:
		return evaluation.BigSegmentsStoreError
	case s.Stale:
		return evaluation.BigSegmentsStale
	default:
		return evaluation.BigSegmentsHealthy
	}
}

// flight is one membership read shared by every lookup of its key.
type flight struct {
	// done is closed when the read has finished. It is made (under
	// flightsMu) only when some lookup has to wait for the read: a read
	// nobody else joined, on the caller's goroutine, needs no channel.
	done chan struct{}
	set  *memberSet
	err  error
}

// fetch reads contextKey's membership from the store and caches it. Callers
// that arrive while a read of the same key is running wait for its result
// instead of starting another. With a ctx that can never end, the read runs
// on the caller's goroutine; otherwise on its own, so that the caller stops
// waiting when its ctx is done while the read goes on for the others. The
// read is canceled only when the Manager is closed.
func (m *Manager) fetch(ctx context.Context, contextKey string) (*memberSet, error) {
	m.flightsMu.Lock()
	f := m.flights[contextKey]
	if f == nil {
		// A read that finished between our cache miss and now has
		// already filled the cache.
		if set, ok := m.cache.get(contextKey, time.Now()); ok {
			m.flightsMu.Unlock()
			return set, nil
		}
		f = &flight{}
		m.flights[contextKey] = f
		if ctx.Done() == nil {
			m.flightsMu.Unlock()
			m.read(contextKey, f)
			return f.set, f.err
		}
		f.done = make(chan struct{})
		m.flightsMu.Unlock()
		go m.read(contextKey, f)
	} else {
		if f.done == nil {
			f.done = make(chan struct{})
		}
		m.flightsMu.Unlock()
	}
	select {
	case <-f.done:
		return f.set, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("bigsegments: read membership: %w", ctx.Err())
	}
}

// read makes flight f's store read. A failure is logged once, when lookups
// start failing, and a success after failures once.
func (m *Manager) read(contextKey string, f *flight) {
	stored, err := m.store.Membership(m.ctx, store.ContextHash(contextKey))
	if err != nil {
		f.err = fmt.Errorf("bigsegments: read membership: %w", err)
		if m.lookupsFailing.CompareAndSwap(false, true) && m.ctx.Err() == nil {
			m.logger.Warn("big segment membership lookups failing; evaluations that need one report STORE_ERROR until the store answers",
				"err", err)
		}
	} else {
		f.set = newMemberSet(stored)
		m.cache.put(contextKey, f.set, time.Now().Add(m.ttl))
		if m.lookupsFailing.CompareAndSwap(true, false) {
			m.logger.Info("big segment membership lookups succeed again")
		}
	}
	m.flightsMu.Lock()
	delete(m.flights, contextKey)
	if f.done != nil {
		close(f.done) // wakes whoever joined the read
	}
	m.flightsMu.Unlock()
}

// Close stops the status poller and waits for it to return, and cancels
// running store reads. It does not close the store. After Close, a lookup
// that misses the cache reports STORE_ERROR and the status no longer
// changes. Close is idempotent. A status listener must not call Close.
func (m *Manager) Close() error {
	m.closeOnce.Do(func() {
		m.cancel()
		<-m.done
	})
	return nil
}
