package bigsegments

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Status is the health of the big-segment store as last polled.
type Status struct {
	// Available is false when the last read of the synchronized-on time
	// failed; lookups then report STORE_ERROR.
	Available bool
	// Stale is true when the store's synchronized-on time is older than
	// Options.StaleAfter or was never set: the writer that keeps the store
	// current may have stopped. Only meaningful when Available.
	Stale bool
}

// StatusProvider reports the big-segment store's [Status] and its changes.
type StatusProvider interface {
	// Status returns the current status. Before the first poll has
	// finished it waits for it.
	Status() Status
	// AddStatusListener registers fn to be called with the new status each
	// time the status changes, and returns a function that unregisters it.
	// Listeners are called one at a time, on the poller's goroutine, in the
	// order the changes happen; a slow listener delays the next poll.
	AddStatusListener(fn func(Status)) (remove func())
}

// Bits of statusHolder.bits.
const (
	statusKnown uint32 = 1 << iota
	statusAvailable
	statusStale
)

// statusHolder keeps the current Status where a lookup can read it without
// locking or allocating.
type statusHolder struct {
	bits      atomic.Uint32
	firstPoll chan struct{} // closed once the first poll has set bits
	once      sync.Once
}

func (h *statusHolder) init() { h.firstPoll = make(chan struct{}) }

func (h *statusHolder) set(s Status) {
	b := statusKnown
	if s.Available {
		b |= statusAvailable
	}
	if s.Stale {
		b |= statusStale
	}
	h.bits.Store(b)
	h.once.Do(func() { close(h.firstPoll) })
}

// load returns the current status; ok is false before the first poll.
func (h *statusHolder) load() (s Status, ok bool) {
	b := h.bits.Load()
	return Status{Available: b&statusAvailable != 0, Stale: b&statusStale != 0}, b&statusKnown != 0
}

// wait returns the current status, first waiting for the first poll if
// needed; ok is false when ctx was done before it finished.
func (h *statusHolder) wait(ctx context.Context) (Status, bool) {
	if s, ok := h.load(); ok {
		return s, true
	}
	select {
	case <-h.firstPoll:
		return h.load()
	case <-ctx.Done():
		return Status{}, false
	}
}

// listeners is the set of status listeners.
type listeners struct {
	mu     sync.Mutex
	nextID int
	fns    map[int]func(Status)
	order  []int
}

func (l *listeners) add(fn func(Status)) (remove func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = make(map[int]func(Status))
	}
	id := l.nextID
	l.nextID++
	l.fns[id] = fn
	l.order = append(l.order, id)
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if _, ok := l.fns[id]; !ok {
			return
		}
		delete(l.fns, id)
		for i, o := range l.order {
			if o == id {
				l.order = append(l.order[:i:i], l.order[i+1:]...)
				break
			}
		}
	}
}

// snapshot returns the listeners in registration order.
func (l *listeners) snapshot() []func(Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fns := make([]func(Status), 0, len(l.order))
	for _, id := range l.order {
		fns = append(fns, l.fns[id])
	}
	return fns
}

// Status returns the current status of the big-segment store. Before the
// first poll has finished it waits for it (at most about 10 s, the bound on
// one poll).
func (m *Manager) Status() Status {
	s, _ := m.status.wait(context.Background())
	return s
}

// AddStatusListener registers fn to be told of every status change, and
// returns a function that unregisters it. See [StatusProvider].
func (m *Manager) AddStatusListener(fn func(Status)) (remove func()) {
	return m.listeners.add(fn)
}

// pollLoop polls the synchronized-on time at once and then every interval
// until Close.
func (m *Manager) pollLoop() {
	defer close(m.done)
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.poll()
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll reads the synchronized-on time, updates the status, and tells the
// listeners when it changed.
func (m *Manager) poll() {
	ctx, cancel := context.WithTimeout(m.ctx, statusPollTimeout)
	synced, ok, err := m.store.SynchronizedOn(ctx)
	cancel()
	if m.ctx.Err() != nil {
		// Closed during the read: its failure says nothing about the
		// store. Only a first poll still needs to settle the status, so
		// that nobody waits for it forever.
		if _, known := m.status.load(); !known {
			m.status.set(Status{})
		}
		return
	}
	var next Status
	switch {
	case err != nil:
		next = Status{Available: false}
	case !ok:
		next = Status{Available: true, Stale: true}
	default:
		next = Status{Available: true, Stale: time.Since(synced) > m.staleAfter}
	}
	prev, known := m.status.load()
	m.status.set(next)
	if known && prev == next {
		return
	}
	m.logStatus(next, known, synced, ok, err)
	if !known {
		return
	}
	for _, fn := range m.listeners.snapshot() {
		fn(next)
	}
}

func (m *Manager) logStatus(next Status, known bool, synced time.Time, ok bool, err error) {
	switch {
	case !next.Available:
		m.logger.Warn("big segment store unavailable", "err", err)
	case next.Stale && !ok:
		m.logger.Warn("big segment store was never synchronized: no writer has set its synchronized-on time")
	case next.Stale:
		m.logger.Warn("big segment store is stale", "synchronizedOn", synced, "staleAfter", m.staleAfter)
	case known:
		m.logger.Info("big segment store is healthy again", "synchronizedOn", synced)
	}
}
