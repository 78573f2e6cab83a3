package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// State is the cache's view of its store.
type State int

const (
	// Available: the store answers and holds an initialized dataset. A new
	// cache reports Available until its first check says otherwise.
	Available State = iota
	// Unavailable: the last store call failed. Cached values are served,
	// reads that would need the store fail at once with the error, and the
	// store is probed every ProbeInterval until it answers again.
	Unavailable
	// NotInitialized: the store answers but has no "$inited" marker: the
	// prefix is not the writer's, no writer has written a dataset yet, or
	// the store lost its data. Values the cache read earlier are kept and
	// served; keys it never had read as not found.
	NotInitialized
)

// String returns "available", "unavailable" or "not initialized".
func (s State) String() string {
	switch s {
	case Available:
		return "available"
	case Unavailable:
		return "unavailable"
	case NotInitialized:
		return "not initialized"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Status is a snapshot of the cache's view of its store.
type Status struct {
	// State is the current state.
	State State
	// Err is the last store error while State is Unavailable, nil otherwise.
	Err error
	// Since is when State began (the cache's creation for the first state).
	Since time.Time
	// Stale reports that the cache serves values it read before the store
	// became unavailable or lost its data, which the store cannot confirm
	// now. It is false whenever State is Available.
	Stale bool

	// LastConfirmed is when the store last answered the cache (a read, a
	// check of its marker, a notification): what the cache serves is at
	// most that old plus the TTL. Zero until the first answer. Not set in
	// the Status given to status listeners.
	LastConfirmed time.Time
	// LastWrite is when the store's writer last wrote the dataset, as the
	// store records it (store.WriteTimeReader; daemonflag's writers record
	// it, a LaunchDarkly Relay Proxy does not), read when the cache starts,
	// on each notification and change poll, and every two TTLs. Zero when
	// unknown. Not set in the Status given to status listeners.
	LastWrite time.Time
}

// withAge returns st with the data-age fields filled in.
func (c *core) withAge(st Status) Status {
	if n := c.lastConfirmed.Load(); n != 0 {
		st.LastConfirmed = time.Unix(0, n)
	}
	if n := c.lastWrite.Load(); n != 0 {
		st.LastWrite = time.Unix(0, n)
	}
	return st
}

// ErrClosed is returned by reads that need the store after [Cache.Close].
var ErrClosed = errors.New("cache closed")

// unavailableErr makes err satisfy errors.Is(err, store.ErrUnavailable), so
// callers can branch on the condition whatever the backend returned.
func unavailableErr(err error) error {
	if err == nil {
		return store.ErrUnavailable
	}
	if errors.Is(err, store.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
}

// failFastErr is the error of a read that needs the store while it is
// Unavailable: the last store error, made to satisfy
// errors.Is(err, store.ErrUnavailable), built once per failure rather than
// once per read.
func (c *core) failFastErr() error {
	if p := c.failErr.Load(); p != nil {
		return *p
	}
	return store.ErrUnavailable
}

// isItemError reports whether err concerns one item rather than the store.
func isItemError(err error) bool {
	return errors.Is(err, store.ErrMalformedItem)
}

// storeError records that a store call begun at seq failed. The first
// failure makes the cache Unavailable (logged once, listeners told, probe
// started); later ones only update Status.Err.
func (c *core) storeError(seq uint64, err error) {
	if c.ctx.Err() != nil {
		return // closing: cancelled calls say nothing about the store
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < c.stateSeq {
		return // began before a newer observation
	}
	wrapped := unavailableErr(err)
	c.failErr.Store(&wrapped)
	cur := c.status.Load()
	if cur.State == Unavailable {
		st := *cur
		st.Err = err
		c.status.Store(&st)
		return
	}
	st := Status{State: Unavailable, Err: err, Since: time.Now(), Stale: c.hadData.Load()}
	c.setLocked(seq, st)
	prev := previousAttr(cur.State, c.everAnswered)
	switch {
	case errors.Is(err, store.ErrInitInProgress):
		c.log.Warn("flag store init in progress (a writer is replacing the dataset); serving the last good values until it completes",
			"err", err, prev, "stale", st.Stale, "probe_interval", c.opts.ProbeInterval)
	case st.Stale:
		c.log.Warn("flag store unavailable; serving cached values and probing for recovery",
			"err", err, prev, "probe_interval", c.opts.ProbeInterval)
	default:
		c.log.Warn("flag store unavailable; nothing cached yet, so flags read from it fail until it answers; probing for recovery",
			"err", err, prev, "probe_interval", c.opts.ProbeInterval)
	}
	c.wakeMonitor()
}

// observeInited records the answer of an Initialized call begun at seq.
func (c *core) observeInited(seq uint64, inited bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if seq < c.stateSeq {
		return
	}
	c.inited.Store(inited)
	c.firstFailed.Store(false) // the store answered
	if inited {
		c.everInited.Store(true)
	}
	first := !c.everAnswered
	c.everAnswered = true
	cur := c.status.Load()
	want := NotInitialized
	if inited {
		want = Available
	}
	if cur.State == want {
		return
	}
	now := time.Now()
	st := Status{State: want, Since: now}
	prev := previousAttr(cur.State, !first || cur.State != Available)
	switch {
	case inited:
		c.setLocked(seq, st)
		c.log.Info("flag store available", prev,
			"after", now.Sub(cur.Since).Round(time.Millisecond))
	case c.hadData.Load() && c.everInited.Load():
		st.Stale = true
		c.setLocked(seq, st)
		c.log.Warn("flag store lost its data (no $inited marker); serving the last known values until a writer initializes it again",
			prev)
		c.wakeMonitor()
	default:
		c.setLocked(seq, st)
		c.log.Warn("flag store not initialized (no $inited marker): wrong prefix, or no writer has written a dataset yet; flags read as not found until it is",
			prev)
		c.wakeMonitor()
	}
}

// previousAttr is the log attribute naming the state before a transition:
// the state, or "none" before the store ever answered (a new cache reports
// Available until its first check, which is no observation of the store).
func previousAttr(prev State, answered bool) slog.Attr {
	if !answered && prev == Available {
		return slog.String("previous", "none (first check)")
	}
	return slog.String("previous", prev.String())
}

// setLocked installs st and queues it for the status listeners. c.mu held.
func (c *core) setLocked(seq uint64, st Status) {
	c.stateSeq = seq
	c.status.Store(&st)
	c.lmu.Lock()
	if len(c.statusListeners) > 0 {
		c.statusQueue = append(c.statusQueue, st)
		select {
		case c.statusWake <- struct{}{}:
		default:
		}
	}
	c.lmu.Unlock()
}

func (c *core) wakeMonitor() {
	select {
	case c.monitorWake <- struct{}{}:
	default:
	}
}

// addStatusListener registers fn; see Cache.AddStatusListener.
func (c *core) addStatusListener(fn func(Status)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	c.nextID++
	id := c.nextID
	c.statusListeners[id] = fn
	return func() {
		c.lmu.Lock()
		delete(c.statusListeners, id)
		c.lmu.Unlock()
	}
}

// notifier delivers queued status changes to the listeners, in order, from
// one goroutine, so a slow listener never delays the cache.
func (c *core) notifier() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.statusWake:
		}
		for {
			c.lmu.Lock()
			if len(c.statusQueue) == 0 {
				c.lmu.Unlock()
				break
			}
			st := c.statusQueue[0]
			c.statusQueue = c.statusQueue[1:]
			fns := make([]func(Status), 0, len(c.statusListeners))
			for _, id := range sortedIDs(c.statusListeners) {
				fns = append(fns, c.statusListeners[id])
			}
			c.lmu.Unlock()
			for _, fn := range fns {
				c.safely("status listener", func() { fn(st) })
			}
		}
	}
}

// firstCheckGrace is how long the monitor leaves the first check to a
// lookup, on a store that makes it together with an item read
// (store.StartChecker): a service that evaluates as soon as it made its
// client has it made in the same round trip as its first read. A wait for
// the check (Cache.Initialized, WaitForInitialization) makes it at once.
const firstCheckGrace = time.Millisecond

// monitor runs for the life of the cache: it makes the first Initialized
// check, probes the store every ProbeInterval while it is not Available, and
// prunes expired "not found" entries.
func (c *core) monitor() {
	defer c.wg.Done()
	if c.starter != nil && !c.firstStarted.Load() {
		// The first lookup, when it comes at once, makes the check with
		// its own read in one round trip (see awaitItemRead); a check
		// begun here first would cost it a second one.
		t := time.NewTimer(firstCheckGrace)
		select {
		case <-t.C:
		case <-c.firstCheck:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
	c.runFirstCheck()
	select {
	case <-c.firstCheck: // made here, or by the first item read (see awaitListening)
	case <-c.ctx.Done():
		return
	}
	probe := time.NewTimer(c.opts.ProbeInterval)
	defer probe.Stop()
	pruneEvery := max(2*c.opts.TTL, time.Second)
	prune := time.NewTicker(pruneEvery)
	defer prune.Stop()
	for {
		if c.status.Load().State == Available {
			probe.Stop()
			select {
			case <-c.ctx.Done():
				return
			case <-c.monitorWake:
				probe.Reset(c.opts.ProbeInterval)
			case <-prune.C:
				c.prune()
				c.readLastWrite()
			}
			continue
		}
		select {
		case <-c.ctx.Done():
			return
		case <-c.monitorWake:
		case <-prune.C:
			c.prune()
			c.readLastWrite()
		case <-probe.C:
			c.probe()
			probe.Reset(c.opts.ProbeInterval)
		}
	}
}

// probe checks whether a store that is not Available has recovered: a Ping
// (when the store has one) while it is Unavailable, then Initialized.
func (c *core) probe() {
	seq := c.seq.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RefreshTimeout)
	defer cancel()
	if c.pinger != nil && c.status.Load().State == Unavailable {
		if err := c.pinger.Ping(ctx); err != nil {
			c.storeError(seq, err)
			return
		}
	}
	ok, err := c.r.Initialized(ctx)
	if err != nil {
		c.storeError(seq, err)
		return
	}
	c.confirmed()
	c.observeInited(seq, ok)
}

// runFirstCheck makes the cache's first check of the store, unless it has
// begun already: the "$inited" marker, then the writer's last write (before
// the first item reads, on the same connection: see awaitListening), and
// closes firstCheck; then it starts the subscription to the store's
// notifications, unless an item read has started it already. The monitor
// runs it as soon as it starts; the first item read runs it on its own
// goroutine when the monitor has not begun it yet, so a new cache's first
// lookup does not wait for the monitor goroutine to be scheduled.
func (c *core) runFirstCheck() {
	if c.firstStarted.Load() || !c.firstStarted.CompareAndSwap(false, true) {
		return
	}
	if c.starter != nil {
		c.startCheck()
	} else {
		c.checkInited()
		c.readStartMark()
		c.readLastWrite()
	}
	c.endFirstCheck()
}

// endFirstCheck closes firstCheck once the first check is done, and starts
// the subscription unless an early read is in flight: before closing (the
// goroutine it wakes, a WaitForInitialization, then runs before the new
// ones) and after, as an early read may have ended meanwhile (see endRead).
func (c *core) endFirstCheck() {
	if c.status.Load().State == Unavailable {
		c.firstFailed.Store(true)
	}
	c.listenIfIdle()
	close(c.firstCheck)
	c.listenIfIdle()
}

// checkInited asks the store whether it is initialized and records the
// answer. It returns false when the store says no or fails.
func (c *core) checkInited() bool {
	seq := c.seq.Add(1)
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RefreshTimeout)
	defer cancel()
	ok, err := c.r.Initialized(ctx)
	if err != nil {
		c.storeError(seq, err)
		return false
	}
	c.confirmed()
	c.observeInited(seq, ok)
	return ok
}

// confirmInited is asked before the cache replaces a value it had with "not
// found": it answers whether the store still holds a dataset. While the
// cache already knows the store is not initialized it answers false without
// a store call (the probe watches for the marker); otherwise one check is
// shared by every concurrent caller.
// dataLost reports whether a store that was initialized has lost its
// "$inited" marker. A store never seen initialized (no writer has marked it,
// as when something other than a writer fills it) has lost nothing: items
// that vanish from it are simply gone.
func (c *core) dataLost() bool {
	return c.everInited.Load() && !c.confirmInited()
}

func (c *core) confirmInited() bool {
	if c.status.Load().State == NotInitialized {
		return false
	}
	for {
		if cl := c.initCall.Load(); cl != nil {
			<-cl.done
			return cl.ok
		}
		cl := &initCall{done: make(chan struct{})}
		if c.initCall.CompareAndSwap(nil, cl) {
			cl.ok = c.checkInited()
			c.initCall.Store(nil)
			close(cl.done)
			return cl.ok
		}
	}
}

type initCall struct {
	done chan struct{}
	ok   bool
}
