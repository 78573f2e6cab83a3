package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// Client evaluates feature flags read from a store. Create one per process
// with [New]; it is safe for concurrent use by any number of goroutines.
// Call [Client.Close] when done.
type Client struct {
	logger  *slog.Logger
	offline bool
	// needData: Config.NotReadyWithoutData.
	needData bool
	created  time.Time

	cache *cache.Cache          // nil when offline
	big   *bigsegments.Manager  // nil when big segments are not configured
	eval  *evaluation.Evaluator // nil when offline

	hooks              []hookEntry       // nil when there are none
	events             *events.Processor // nil when events are off
	eventsCloseTimeout time.Duration
	secureKey          []byte
	closed             atomic.Bool
	closedCh           chan struct{} // closed by Close
	closeOnce          sync.Once
	malformed          logged   // flags logged as malformed
	errs               errCache // the errors of variation calls without a cause
	stats              *stats   // see stats.go; nil when offline
}

// New creates a client reading from cfg.Store and starts its background
// work (the cache's store checks, and the big-segment status poll when big
// segments are configured). It does not wait for the store: evaluations work
// at once, and [Client.WaitForInitialization] waits for the store's dataset
// when that matters. New fails only on invalid configuration.
func New(cfg Config) (*Client, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	c := &Client{logger: logger, offline: cfg.Offline, needData: cfg.NotReadyWithoutData,
		created: time.Now(), closedCh: make(chan struct{})}
	if cfg.SecureModeKey != "" {
		c.secureKey = []byte(cfg.SecureModeKey)
	}
	hooks, err := newHookEntries(cfg.Hooks)
	if err != nil {
		return nil, err
	}
	c.hooks = hooks
	if cfg.Offline {
		return c, nil
	}
	if cfg.Store == nil {
		return nil, ErrNoStore
	}
	var bigProvider evaluation.BigSegmentProvider // a nil interface, not a nil *Manager
	if bs := cfg.BigSegments; bs.Store != nil {
		if bs.Logger == nil {
			bs.Logger = logger
		}
		m, err := bigsegments.New(bs)
		if err != nil {
			return nil, fmt.Errorf("client: big segments: %w", err)
		}
		c.big = m
		bigProvider = m
	}
	opts := cfg.Cache
	if opts.Logger == nil {
		opts.Logger = logger
	}
	c.cache = cache.New(cfg.Store, opts)
	c.stats = newStats(cfg.Stats, c.created)
	c.cache.AddStatusListener(c.stats.statusChanged)
	c.eval = evaluation.New(c.cache, bigProvider)
	if err := c.startEvents(cfg); err != nil {
		c.cache.Close()
		if c.big != nil {
			c.big.Close()
		}
		return nil, err
	}
	return c, nil
}

// Close stops the client's background work (the cache's store checks and
// change polls, the big-segment status poll) and waits for it. With events
// on it first delivers what is queued, waiting at most
// Config.Events.CloseTimeout (5 s by default). Afterwards
// every variation returns its default with reason ERROR/CLIENT_NOT_READY and
// AllFlagsState is invalid. Close does not close the stores in Config: their
// owner closes them, after Close. It always returns nil and may be called
// more than once.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.closedCh)
		c.closeEvents()
		if c.big != nil {
			c.big.Close()
		}
		if c.cache != nil {
			c.cache.Close()
		}
	})
	return nil
}

// Initialized reports whether the client can evaluate flags from its store:
// true from New until Close, unless the client is offline. As in
// LaunchDarkly's daemon mode, a client is ready as soon as it exists; a store
// that holds no dataset yet makes flags read as not found, and
// [Client.DataStoreStatus] says so. Use [Client.WaitForInitialization] to
// wait for a dataset.
func (c *Client) Initialized() bool { return c.notReady() == nil }

// notReady returns the cause when the client cannot evaluate, nil otherwise.
func (c *Client) notReady() error {
	switch {
	case c.offline:
		return errOffline
	case c.closed.Load():
		return errClosed
	}
	return nil
}

// noData returns errNoDataset when Config.NotReadyWithoutData is set and the
// store has not been seen with a dataset, nil otherwise.
func (c *Client) noData() error {
	if c.needData && !c.cache.HasDataset() {
		return errNoDataset
	}
	return nil
}

var (
	errOffline   = errors.New("client is offline")
	errClosed    = errors.New("client is closed")
	errNoDataset = errors.New("the store holds no dataset yet (Config.NotReadyWithoutData)")
)

// WaitForInitialization waits until the store answers and holds a dataset
// (its "$inited" marker, which the writer sets), or until ctx ends. It is
// never needed for evaluations, which work at once; it helps a service that
// prefers not to start serving before its flags exist.
//
// It returns nil when the store is ready; an error matching
// [ErrClientNotReady] when the client is offline or is closed (also while
// waiting); otherwise,
// when ctx ends, an error that matches ctx's error and the store's state:
// store.ErrNotInitialized (the store answers but holds no dataset: no
// writer yet, or a prefix that is not the writer's) or store.ErrUnavailable
// (the store does not answer).
func (c *Client) WaitForInitialization(ctx context.Context) error {
	if err := c.notReady(); err != nil {
		return fmt.Errorf("client: %w: %w", ErrClientNotReady, err)
	}
	changed := make(chan struct{}, 1)
	remove := c.cache.AddStatusListener(func(cache.Status) {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	defer remove()
	for {
		// Initialized waits for the cache's first check of the store;
		// afterwards Available means the store answered with its marker.
		if c.cache.Initialized(ctx) && c.cache.Status().State == cache.Available {
			return nil
		}
		select {
		case <-changed:
		case <-c.closedCh:
			return fmt.Errorf("client: %w: %w", ErrClientNotReady, errClosed)
		case <-ctx.Done():
			return storeNotReadyError(c.cache.Status(), ctx.Err())
		}
	}
}

func storeNotReadyError(st cache.Status, ctxErr error) error {
	switch {
	case st.State == cache.NotInitialized:
		return fmt.Errorf("client: waiting for the store: %w: %w", store.ErrNotInitialized, ctxErr)
	case st.Err != nil && errors.Is(st.Err, store.ErrUnavailable):
		return fmt.Errorf("client: waiting for the store: %w: %w", st.Err, ctxErr)
	case st.Err != nil:
		return fmt.Errorf("client: waiting for the store: %w: %v: %w", store.ErrUnavailable, st.Err, ctxErr)
	default: // the store has not answered the first check yet
		return fmt.Errorf("client: waiting for the store: %w: no answer yet: %w", store.ErrUnavailable, ctxErr)
	}
}
