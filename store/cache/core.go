package cache

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// core is the kind-independent part of the cache: the store, options,
// clock, status machine, background goroutines and listeners. Each kind of
// item is cached by a kind[T] that points to its core.
type core struct {
	r      store.Reader
	pinger store.Pinger // nil when r has no probe of its own
	// writeTimes is r's record of the writer's last write; nil without one.
	writeTimes store.WriteTimeReader
	// marks is r's write mark (see startup.go); nil without one.
	marks store.WriteMarker
	// starter makes the first check in one call (see startCheck); nil
	// when r cannot, or lacks marks or write times.
	starter store.StartChecker
	opts    Options // normalized
	log     *slog.Logger

	base time.Time    // monotonic origin of now()
	skew atomic.Int64 // added to now(); tests move the clock forward with it
	seq  atomic.Uint64
	// removals counts the cached live items replaced by a removal; it is
	// incremented before the removal is installed (see Cache.Removals).
	removals atomic.Uint64

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	bgMu   sync.RWMutex // orders goBackground against close
	closed bool         // guarded by bgMu

	// Status. mu serializes transitions; status is read without it.
	mu       sync.Mutex
	status   atomic.Pointer[Status]
	stateSeq uint64 // seq of the operation that caused the last transition
	// everAnswered: the store has answered an Initialized check. Guarded by mu.
	everAnswered bool
	hadData      atomic.Bool
	// everInited: the store has been seen with its "$inited" marker. Only
	// then does a vanished marker mean lost data (see dataLost).
	everInited atomic.Bool
	inited     atomic.Bool
	firstCheck chan struct{} // closed when the first check is done (see runFirstCheck)
	// firstStarted: the first check has begun (see runFirstCheck).
	firstStarted atomic.Bool
	monitorWake  chan struct{}
	initCall     atomic.Pointer[initCall]
	failErr      atomic.Pointer[error] // see failFastErr

	// Listeners, guarded by lmu.
	lmu             sync.Mutex
	nextID          int
	statusListeners map[int]func(Status)
	statusQueue     []Status
	statusWake      chan struct{}
	changeListeners map[int]func([]string)
	polling         bool
	pollWake        chan struct{} // runs the change poll at once

	// listening is closed once the first subscription attempt returned;
	// nil when the store does not notify. Set before background work
	// starts, as is notify (the store's Notifier, or nil).
	listening chan struct{}
	notify    store.Notifier
	// subStarted: the subscription has begun (see startListening).
	subStarted atomic.Bool
	// startMark is the store's write mark read by the first check, and
	// marked that it was read: item reads then do not wait for the
	// subscription (see startup.go). Both set before firstCheck is closed.
	startMark string
	marked    bool
	// earlyReads counts the item reads in flight that began before the
	// first check was done and do not wait for the subscription; the last
	// to end starts it (see awaitListening).
	earlyReads atomic.Int64
	// firstFailed: the first check found the store unavailable, and it has
	// not answered since; item reads fail fast meanwhile (see
	// awaitListening).
	firstFailed atomic.Bool
	// allSeq is the seq at which the last batch of notifications that
	// reads everything again began (see noticeLoop).
	allSeq atomic.Uint64
	// Change notifications (see notify.go), guarded by nmu.
	nmu        sync.Mutex
	pending    notices
	noticeWake chan struct{}

	kinds []kindAPI // set once before any background work starts

	// Data age, Unix nanoseconds (0: never): the store's last answer, and
	// the writer's last write as the store records it.
	lastConfirmed atomic.Int64
	lastWrite     atomic.Int64

	malformedSeen sync.Map // "kind\x00key\x00hash" -> struct{}: logged once

	stats counters // see stats.go

	reads readCtxs  // see readContext
	named namedRefs // what decoded items name (see beforeRemoving)

	// refreshLead is how long before its expiry an entry's refresh-ahead
	// starts, when longer than the last fifth of its life: it follows how
	// long refreshes recently took (see noteRefresh).
	refreshLead atomic.Int64

	pacer pacer // see pace.go
}

// kindAPI is what the core needs from each kind[T], whatever T is.
type kindAPI interface {
	storeKind() store.Kind
	// applyAll installs a GetAll result read at seq (begun at start; held:
	// a refresh-ahead read) and describes every item for change detection.
	applyAll(ctx context.Context, items []store.KeyedItem, seq uint64, start int64, h hold) map[string]itemInfo
	// prune forgets "not found" entries that expired long ago.
	prune(now int64)
	// refreshDependents reads again every cached live item that depends
	// on dep; depth counts nested removals.
	refreshDependents(ctx context.Context, dep ref, depth int)
	// refreshNotified reads again what a notification names.
	refreshNotified(ctx context.Context, all bool, keys []string)
}

func newCore(r store.Reader, opts Options) *core {
	opts = opts.normalized()
	c := &core{
		r:               r,
		opts:            opts,
		log:             opts.Logger,
		base:            time.Now(),
		firstCheck:      make(chan struct{}),
		monitorWake:     make(chan struct{}, 1),
		statusWake:      make(chan struct{}, 1),
		pollWake:        make(chan struct{}, 1),
		noticeWake:      make(chan struct{}, 1),
		statusListeners: map[int]func(Status){},
		changeListeners: map[int]func([]string){},
	}
	c.pinger, _ = r.(store.Pinger)
	c.writeTimes, _ = r.(store.WriteTimeReader)
	c.marks, _ = r.(store.WriteMarker)
	if c.marks != nil && c.writeTimes != nil {
		c.starter, _ = r.(store.StartChecker)
	}
	c.r, c.pinger, c.writeTimes = c.stats.instrument(r, c.pinger, c.writeTimes, opts.ReadObserver)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.status.Store(&Status{State: Available, Since: c.base})
	if n, ok := r.(store.Notifier); ok {
		// The subscription starts once it is needed (see startListening).
		c.notify = n
		c.listening = make(chan struct{})
	}
	return c
}

// start launches the background goroutines. Kinds must be registered first.
func (c *core) start() {
	// The monitor last: the goroutine started last runs first when the
	// caller blocks (Go's scheduler runs it next on the same processor),
	// and its first check is what WaitForInitialization waits for.
	c.wg.Add(2)
	go c.notifier()
	go c.monitor()
}

// close stops every background goroutine and waits for them, including
// store calls in flight. It is idempotent.
func (c *core) close() {
	c.bgMu.Lock()
	already := c.closed
	c.closed = true
	c.bgMu.Unlock()
	if already {
		return
	}
	c.cancel()
	c.wg.Wait()
}

func (c *core) isClosed() bool {
	c.bgMu.RLock()
	defer c.bgMu.RUnlock()
	return c.closed
}

// goBackground runs fn on a tracked goroutine, unless the cache is closed.
func (c *core) goBackground(fn func()) bool {
	c.bgMu.RLock()
	defer c.bgMu.RUnlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn()
	}()
	return true
}

// track runs fn on the caller's goroutine as background work that Close
// waits for, unless the cache is closed.
func (c *core) track(fn func()) bool {
	c.bgMu.RLock()
	if c.closed {
		c.bgMu.RUnlock()
		return false
	}
	c.wg.Add(1)
	c.bgMu.RUnlock()
	defer c.wg.Done()
	fn()
	return true
}

// confirmed records that the store just answered a read.
func (c *core) confirmed() {
	c.lastConfirmed.Store(time.Now().UnixNano())
}

// now is the cache clock: monotonic nanoseconds since the cache was created.
func (c *core) now() int64 {
	return int64(time.Since(c.base)) + c.skew.Load()
}

// refreshAheadFraction is the last part of an entry's life during which a
// read starts a background refresh: an entry read then is replaced before it
// expires, so its readers never wait. When refreshes take longer than that
// part (a saturated CPU delays the goroutine that reads, or its wake-up when
// the store answers), the part grows to twice the time refreshes recently
// took, up to maxRefreshAheadFraction (see noteRefresh).
const (
	refreshAheadFraction    = 0.2
	maxRefreshAheadFraction = 0.5
)

// life returns when an entry whose store read began at start should start
// refreshing and when it expires. live tells whether the store had the item
// (ModeForever keeps those forever). Jitter only shortens a life, so the TTL
// is a bound on the age of what is served.
func (c *core) life(start int64, live bool) (refreshAt, expires int64) {
	if live && c.opts.Mode == ModeForever {
		return math.MaxInt64, math.MaxInt64
	}
	ttl := float64(c.opts.TTL)
	if j := c.opts.Jitter; j > 0 {
		ttl *= 1 - j*rand.Float64()
	}
	lead := int64(ttl * refreshAheadFraction)
	if l := c.refreshLead.Load(); l > lead {
		lead = min(l, int64(ttl*maxRefreshAheadFraction))
	}
	return start + int64(ttl) - lead, start + int64(ttl)
}

// noteRefresh records that a refresh-ahead read took d, from the lookup
// that started it to the install of its answer. The lead of later entries
// (see life) rises at once to twice the slowest recent refresh, and falls
// back by an eighth of the difference per faster refresh, so one slow
// refresh after a quiet spell costs at most one late answer, and a burst of
// load widens the refresh window for a while after it.
func (c *core) noteRefresh(d int64) {
	target := 2 * d
	for {
		cur := c.refreshLead.Load()
		next := target
		if target < cur {
			next = cur - (cur-target)/8
		}
		if next == cur || c.refreshLead.CompareAndSwap(cur, next) {
			return
		}
	}
}

// callCtx is the context of a store call the cache makes on its own behalf.
func (c *core) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.ctx, c.opts.RefreshTimeout)
}

// logMalformed logs a malformed item once per distinct stored content.
func (c *core) logMalformed(kind store.Kind, key string, hash uint64, err error) {
	id := fmt.Sprintf("%s\x00%s\x00%x", kind, key, hash)
	if _, seen := c.malformedSeen.LoadOrStore(id, struct{}{}); seen {
		return
	}
	c.log.Warn("malformed item in flag store; serving its last good value if any",
		"kind", string(kind), "key", key, "err", err)
}

// safely calls a user callback, logging a panic instead of crashing the
// goroutine that delivers it.
func (c *core) safely(what string, fn func()) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("cache "+what+" panicked", "panic", fmt.Sprint(p))
		}
	}()
	fn()
}

func (c *core) prune() {
	if c.status.Load().State != Available {
		// A "not found" is a last good answer too: while the store cannot
		// confirm it, keep serving it rather than failing the lookup.
		return
	}
	now := c.now()
	for _, k := range c.kinds {
		k.prune(now)
	}
}

func sortedIDs[V any](m map[int]V) []int {
	ids := make([]int, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
