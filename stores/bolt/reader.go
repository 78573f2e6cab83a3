package bolt

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// The read side of the publishing protocol: following the live file from
// one published file to the next.

// releaseLoop lets go of a file a writer has replaced, even when nothing
// reads, so the writer can update it in place.
func (s *Store) releaseLoop() {
	defer close(s.stopped)
	t := time.NewTicker(s.cfg.releaseInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.RLock()
			open := s.snap != nil
			s.mu.RUnlock()
			if open {
				_ = s.refresh(s.ctx, checkNow)
			}
		}
	}
}

// How refresh looks at the path.
type checkMode int

const (
	// checkMaybe stats the path at most once per CheckInterval.
	checkMaybe checkMode = iota
	// checkNow stats it now.
	checkNow
	// checkRetry stats it now and opens again a file that failed to open
	// even if it looks unchanged (a repair in place within the file
	// system's timestamp granularity would otherwise go unseen).
	checkRetry
)

// refresh makes snap the file the path names now.
func (s *Store) refresh(ctx context.Context, mode checkMode) error {
	now := time.Now().UnixNano()
	if mode == checkMaybe && s.cfg.checkInterval > 0 && now-s.lastCheck.Load() < int64(s.cfg.checkInterval) {
		if sn := s.current(); sn == nil || !sn.isBroken() {
			return nil
		}
	}
	fi, statErr := os.Stat(s.path)
	s.lastCheck.Store(now)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return unavailable("stat", s.path, statErr)
	}
	if statErr != nil {
		fi = nil
	}
	if s.isCurrent(fi) {
		return nil
	}
	return s.reopen(ctx, mode)
}

// current returns snap, or nil.
func (s *Store) current() *snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

// isCurrent reports whether snap is the file fi describes (nil: no file)
// and usable.
func (s *Store) isCurrent(fi os.FileInfo) bool {
	s.mu.RLock()
	sn, badErr := s.snap, s.badErr
	s.mu.RUnlock()
	if fi == nil {
		return sn == nil && badErr == nil
	}
	return sn != nil && os.SameFile(sn.info, fi) && !sn.isBroken()
}

// reopen swaps snap for the file the path names now.
func (s *Store) reopen(ctx context.Context, mode checkMode) error {
	select {
	case s.reopenCh <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return ErrClosed
	}
	defer func() { <-s.reopenCh }()
	if s.closed.Load() {
		return ErrClosed
	}
	fi, err := os.Stat(s.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return unavailable("stat", s.path, err)
	}
	if err != nil {
		fi = nil
	}
	if s.isCurrent(fi) {
		return nil
	}
	// A file that failed to open is not tried again until it changes.
	s.mu.RLock()
	bad, badErr := s.bad, s.badErr
	s.mu.RUnlock()
	if mode != checkRetry && fi != nil && bad != nil && os.SameFile(bad, fi) && bad.Size() == fi.Size() && bad.ModTime().Equal(fi.ModTime()) {
		return badErr
	}
	sn, err := openSnapshot(ctx, s.stop, s.path, s.cfg.timeout)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		// Could not open the new file this time (a lock not granted, a
		// permission): keep reading the one we have.
		return err
	}
	s.mu.Lock()
	old := s.snap
	s.snap = sn
	s.bad, s.badErr = nil, nil
	if err != nil {
		s.bad, s.badErr = fi, err
	}
	s.mu.Unlock()
	if old != nil {
		old.release()
	}
	return err
}

// acquire returns the current snapshot with a reference the caller
// releases, or nil when there is no file, or the error of the file that
// failed to open.
func (s *Store) acquire() (*snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if s.badErr != nil {
		return nil, s.badErr
	}
	if s.snap != nil {
		s.snap.acquire()
	}
	return s.snap, nil
}

// view runs fn in a read transaction on the live file. When no file exists
// it returns an error wrapping ErrNotExist on a read-only store, and calls
// fn with a nil tx on a store that writes (its first write creates the
// file).
func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.refresh(ctx, checkMaybe); err != nil {
		return err
	}
	sn, err := s.acquire()
	if err != nil {
		return err
	}
	if sn == nil {
		if s.cfg.readOnly {
			return &notExistError{path: s.path}
		}
		return fn(nil)
	}
	defer sn.release()
	return sn.view(fn)
}
