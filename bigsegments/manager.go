package bigsegments

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

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

	cache   *lruCache
	flights singleflight.Group

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
			m.logger.Debug("big segment membership lookup failed", "err", err)
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

// fetch reads contextKey's membership from the store and caches it. Callers
// that arrive while a read of the same key is running wait for its result
// instead of starting another. The read is not canceled when the caller that
// started it gives up (others may be waiting), only when the Manager is
// closed; each caller stops waiting when its own ctx is done.
func (m *Manager) fetch(ctx context.Context, contextKey string) (*memberSet, error) {
	ch := m.flights.DoChan(contextKey, func() (any, error) {
		// A read that finished between our cache miss and this flight has
		// already filled the cache.
		if set, ok := m.cache.get(contextKey, time.Now()); ok {
			return set, nil
		}
		rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		defer cancel()
		stop := context.AfterFunc(m.ctx, cancel)
		defer stop()
		stored, err := m.store.Membership(rctx, store.ContextHash(contextKey))
		if err != nil {
			return nil, fmt.Errorf("bigsegments: read membership: %w", err)
		}
		set := newMemberSet(stored)
		m.cache.put(contextKey, set, time.Now().Add(m.ttl))
		return set, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*memberSet), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("bigsegments: read membership: %w", ctx.Err())
	}
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
