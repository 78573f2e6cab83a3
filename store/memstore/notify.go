package memstore

import (
	"context"
	"sync"

	"github.com/daemonflag/daemonflag/store"
)

// subscriber is one Notify call: its changes wait in pending until its
// goroutine hands them to fn.
type subscriber struct {
	fn      func([]store.Change)
	mu      sync.Mutex
	pending []store.Change
	wake    chan struct{}
}

// Notify implements [store.Notifier]. fn is called on a goroutine of the
// store's with the changes of each write (or of several writes made while
// fn ran), in write order, until ctx is done or this handle is closed.
// Every write that starts after Notify returns is delivered. A change names
// an item whose stored bytes changed, or is what [Store.Announce] was
// given.
func (s *Store) Notify(ctx context.Context, fn func([]store.Change)) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	sub := &subscriber{fn: fn, wake: make(chan struct{}, 1)}
	s.d.subMu.Lock()
	s.d.subs[sub] = struct{}{}
	s.d.subMu.Unlock()
	go func() {
		defer func() {
			s.d.subMu.Lock()
			delete(s.d.subs, sub)
			s.d.subMu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.done:
				return
			case <-sub.wake:
			}
			// A write that follows the end of the subscription is not
			// delivered, even when its wake-up won the select above.
			if ctx.Err() != nil || s.closed.Load() {
				return
			}
			sub.mu.Lock()
			batch := sub.pending
			sub.pending = nil
			sub.mu.Unlock()
			if len(batch) > 0 {
				sub.fn(batch)
			}
		}
	}()
	return nil
}

// publishLocked queues changes for every subscriber. It is called with the
// data lock held, so that subscribers receive writes in the order they were
// applied.
func (d *data) publishLocked(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	d.marks++
	d.subMu.Lock()
	defer d.subMu.Unlock()
	for sub := range d.subs {
		sub.mu.Lock()
		sub.pending = append(sub.pending, changes...)
		sub.mu.Unlock()
		select {
		case sub.wake <- struct{}{}:
		default:
		}
	}
}

// Announce delivers changes to every subscriber as if a write had made
// them, without changing the data: a store built on a Store uses it to
// tell readers to re-check ([store.ChangeAll]) when something outside the
// items changed, and tests use it to deliver a ChangeAll as a backend does
// after a lost subscription.
func (s *Store) Announce(changes ...store.Change) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.publishLocked(changes)
}

// Subscribers returns the number of [Store.Notify] subscriptions currently
// listening on this data, through any handle: a test can wait for a cache
// to have subscribed before it writes what the cache must be told of.
func (s *Store) Subscribers() int {
	s.d.subMu.Lock()
	defer s.d.subMu.Unlock()
	return len(s.d.subs)
}
