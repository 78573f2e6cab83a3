package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"

	"github.com/fsnotify/fsnotify"
	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/internal/changefeed"
	"github.com/daemonflag/daemonflag/store"
)

var _ store.Notifier = (*Store)(nil)

// notifier tells a store's Notify subscribers what changed, from two
// sources: a watch (fsnotify) on the store's directory, which sees every
// writer's rename over the live file and any change to it in place, and the
// store's own writes, which report as soon as they are published. Either way
// it opens the newest file and reports what its change log says changed
// since the last file it reported; duplicates (a write seen by both) are
// dropped by comparing generations.
type notifier struct {
	hub changefeed.Hub

	mu      sync.Mutex // guards the fields below and serializes reports
	watcher *fsnotify.Watcher
	done    chan struct{} // closed when the watch goroutine ends
	subs    int
	closed  bool
	known   bool   // gen and id describe the last file reported
	gen     uint64 // its generation
	id      []byte // its snapshot id
	missing bool   // the last look found no file
}

// Notify calls fn, from a goroutine of the store's, with the flags and
// segments that changed each time a writer publishes a new file (in this
// process or another): the keys the new file's change log names, or
// [store.ChangeAll] when the log cannot say (an Init, a write of more than
// 10,000 keys, more than 8 writes since the last report, a file damaged or
// repaired in place, or a watch that overflowed). Writes through this Store
// are reported as soon as they are published; other writers' as soon as the
// file system reports the rename (inotify on Linux, kqueue on the BSDs and
// macOS). Writes that change only big-segment data are not reported.
//
// Notify returns once the watch is set up, so a write published after it
// returns is reported. It fails (the caller then relies on its TTL) when the
// store's directory does not exist or the watch cannot be set up. It
// delivers until ctx is done or the store is closed.
func (s *Store) Notify(ctx context.Context, fn func([]store.Change)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	n := &s.notify
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	if n.watcher == nil {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			n.mu.Unlock()
			return fmt.Errorf("bolt notify: watch %s: %w", s.dir, err)
		}
		if err := w.Add(s.dir); err != nil {
			_ = w.Close()
			n.mu.Unlock()
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("bolt notify: the directory %s does not exist: %w", s.dir, &notExistError{path: s.path})
			}
			return fmt.Errorf("bolt notify: watch %s: %w", s.dir, err)
		}
		n.watcher = w
		n.done = make(chan struct{})
		go s.watch(w, n.done)
		// The baseline: what later reports are relative to.
		s.lookLocked(false)
	}
	n.subs++
	n.mu.Unlock()

	sub := n.hub.Add(fn)
	if sub == nil {
		s.unsubscribe()
		return ErrClosed
	}
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		sub.Stop()
		s.unsubscribe()
	}()
	return nil
}

// unsubscribe stops the watch when no subscriber is left.
func (s *Store) unsubscribe() {
	n := &s.notify
	n.mu.Lock()
	n.subs--
	var w *fsnotify.Watcher
	var done chan struct{}
	if n.subs == 0 && n.watcher != nil {
		w, done = n.watcher, n.done
		n.watcher, n.done = nil, nil
		n.known = false
	}
	n.mu.Unlock()
	if w != nil {
		_ = w.Close()
		<-done
	}
}

// watch reports changes to the live file until w is closed.
func (s *Store) watch(w *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	for {
		select {
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if ev.Name != s.path || ev.Op == fsnotify.Chmod {
				continue
			}
			s.look()
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			// Events may have been lost (an overflowing queue): re-check
			// everything.
			_ = err
			s.notify.hub.Broadcast([]store.Change{store.ChangeAll})
			s.look()
		}
	}
}

// look reports what the newest file changed, if there are subscribers.
func (s *Store) look() {
	n := &s.notify
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.watcher == nil {
		return
	}
	s.lookLocked(true)
}

// lookLocked opens the newest file and, when report is set, broadcasts what
// changed since the last file looked at. s.notify.mu must be held.
func (s *Store) lookLocked(report bool) {
	n := &s.notify
	changes, err := s.changesSince(n)
	if !report {
		return
	}
	if err != nil {
		// A damaged or vanished file, or one being repaired: the reader
		// must look at everything (and will meet the error itself).
		changes = []store.Change{store.ChangeAll}
	}
	n.hub.Broadcast(changes)
}

// changesSince updates n to the newest file and returns the changes of
// flags and segments since the file n described.
func (s *Store) changesSince(n *notifier) ([]store.Change, error) {
	if err := s.refresh(s.ctx, checkNow); err != nil {
		n.known = false
		return nil, err
	}
	sn, err := s.acquire()
	if err != nil {
		n.known = false
		return nil, err
	}
	if sn == nil {
		was := n.missing || !n.known
		n.known, n.missing = false, true
		if was {
			return nil, nil
		}
		return []store.Change{store.ChangeAll}, nil // the file went away
	}
	defer sn.release()
	var changes []store.Change
	err = sn.view(func(tx *bbolt.Tx) error {
		gen, id := readMeta(tx)
		if n.known && gen == n.gen && bytes.Equal(id, n.id) {
			return nil // reported already
		}
		plan, ok := []change(nil), false
		if n.known {
			plan, ok = catchUpPlan(tx, n.gen, n.id, gen)
		}
		n.known, n.missing, n.gen, n.id = true, false, gen, slices.Clone(id)
		if !ok {
			changes = []store.Change{store.ChangeAll}
			return nil
		}
		for _, c := range plan {
			if len(c.path) != 2 || !bytes.Equal(c.path[0], s.prefix) {
				continue
			}
			kind := store.Kind(c.path[1])
			if kind != store.Features && kind != store.Segments {
				continue
			}
			changes = append(changes, store.Change{Kind: kind, Key: string(c.key)})
		}
		return nil
	})
	if err != nil {
		n.known = false
		return nil, err
	}
	return changes, nil
}

// notifyWritten reports a write this store has just published.
func (s *Store) notifyWritten() {
	s.look()
}

// closeNotify stops the watch and the subscribers' deliveries.
func (s *Store) closeNotify() {
	n := &s.notify
	n.hub.Close()
	n.mu.Lock()
	n.closed = true
	w, done := n.watcher, n.done
	n.watcher, n.done = nil, nil
	n.mu.Unlock()
	if w != nil {
		_ = w.Close()
		<-done
	}
}
