// Package changefeed delivers store change notifications to the callbacks
// of store.Notifier subscribers: each subscriber has a goroutine of its own
// and an unbounded-in-effect queue that never blocks the sender (a backlog
// beyond a bound collapses into store.ChangeAll), so a slow callback never
// holds up a write or a subscription's reader. The Redis and DynamoDB
// backends share it.
package changefeed

import (
	"slices"
	"sync"

	"github.com/daemonflag/daemonflag/store"
)

// maxPending bounds the changes queued for one subscriber; past it the
// queue is replaced by store.ChangeAll, which subsumes every change.
const maxPending = 1024

// Hub is the set of a store's subscribers. The zero value is ready to use.
type Hub struct {
	mu     sync.Mutex
	subs   map[*Sub]struct{}
	closed bool
}

// Sub is one subscriber.
type Sub struct {
	hub     *Hub
	fn      func([]store.Change)
	mu      sync.Mutex
	pending []store.Change
	all     bool // pending collapsed into ChangeAll (a backlog past maxPending)
	signal  chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// Add registers fn and starts its delivery goroutine. It returns nil when
// the hub is closed.
func (h *Hub) Add(fn func([]store.Change)) *Sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	s := &Sub{hub: h, fn: fn, signal: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if h.subs == nil {
		h.subs = map[*Sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	go s.run()
	return s
}

// Broadcast queues changes for every subscriber.
func (h *Hub) Broadcast(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		s.Send(changes)
	}
}

// Len returns the number of subscribers.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close stops every subscriber; later Adds return nil.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	subs := h.subs
	h.subs = nil
	h.mu.Unlock()
	for s := range subs {
		s.halt()
	}
}

// Send queues changes for the subscriber without blocking. Changes are
// delivered in order, each one (a store.ChangeAll does not swallow the item
// changes queued after it: a subscriber may wait for a given key), except
// that a backlog beyond maxPending collapses into store.ChangeAll, which
// then subsumes everything sent until it is delivered.
func (s *Sub) Send(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	s.mu.Lock()
	switch {
	case s.all:
	case len(s.pending)+len(changes) > maxPending:
		s.pending, s.all = []store.Change{store.ChangeAll}, true
	default:
		for _, c := range changes {
			if c.IsAll() && slices.ContainsFunc(s.pending, store.Change.IsAll) {
				continue // one re-check of everything per batch is enough
			}
			s.pending = append(s.pending, c)
		}
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

// Stop removes the subscriber; its callback is not called again once Done
// is closed.
func (s *Sub) Stop() {
	s.hub.mu.Lock()
	delete(s.hub.subs, s)
	s.hub.mu.Unlock()
	s.halt()
}

// Done is closed once the subscriber has stopped delivering.
func (s *Sub) Done() <-chan struct{} { return s.done }

func (s *Sub) halt() {
	s.once.Do(func() { close(s.stop) })
}

func (s *Sub) run() {
	defer close(s.done)
	for {
		select {
		case <-s.stop:
			return
		case <-s.signal:
		}
		s.mu.Lock()
		batch := s.pending
		s.pending, s.all = nil, false
		s.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		select {
		case <-s.stop:
			return
		default:
		}
		s.fn(batch)
	}
}
