package bolt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// snapshot is one published store file, open read-only. bbolt holds a shared
// flock on it while it is open, so no writer rewrites it underneath.
//
// A file damaged in place under its memory map (overwritten, truncated) can
// make bbolt panic, or fault on the map, inside its own locks: a panic in
// Begin leaves bbolt's meta lock held for good, and every later Begin,
// Rollback or Close of that handle would wait for it forever. So after any
// recovered panic the handle is broken: no goroutine enters bbolt on it
// again, and the store opens the path anew. mu serializes Begin and
// Rollback (bbolt serializes them on its meta lock anyway), so a goroutine
// checks broken before it enters bbolt and never waits inside it.
type snapshot struct {
	db   *bbolt.DB
	file *os.File    // bbolt's file, closed by hand when the handle is broken
	info os.FileInfo // identity of the open file, compared with os.SameFile
	path string

	// refs counts the store's reference (while the snapshot is current)
	// and one per read or write using it; the last release closes it.
	refs atomic.Int64

	mu     sync.Mutex
	broken error // the recovered panic that broke the handle
}

// panicError is the error of a guarded call that recovered a panic or a
// memory fault; it wraps an ErrCorrupt error.
type panicError struct{ err error }

func (e *panicError) Error() string { return e.err.Error() }
func (e *panicError) Unwrap() error { return e.err }

func isPanic(err error) bool {
	var p *panicError
	return errors.As(err, &p)
}

// view runs fn in a read transaction. A corrupt file can make bbolt panic or
// fault on the memory map; both become an error wrapping ErrCorrupt, and
// break the handle.
func (sn *snapshot) view(fn func(tx *bbolt.Tx) error) error {
	sn.mu.Lock()
	if sn.broken != nil {
		sn.mu.Unlock()
		return sn.broken
	}
	var tx *bbolt.Tx
	err := guarded(sn.path, func() (err error) {
		tx, err = sn.db.Begin(false)
		return err
	})
	if err != nil {
		sn.breakOn(err)
		sn.mu.Unlock()
		return err
	}
	sn.mu.Unlock()

	err = guarded(sn.path, func() error { return fn(tx) })

	sn.mu.Lock()
	defer sn.mu.Unlock()
	if isPanic(err) {
		// No rollback: bbolt's state after a panic is unknown.
		sn.breakOn(err)
		return err
	}
	if sn.broken == nil {
		if rerr := guarded(sn.path, tx.Rollback); isPanic(rerr) {
			sn.breakOn(rerr)
		}
	}
	// When another goroutine broke the handle meanwhile, the transaction is
	// left open: its Rollback could wait on bbolt's stranded lock.
	return err
}

// breakOn marks the handle broken when err comes from a recovered panic.
// sn.mu must be held.
func (sn *snapshot) breakOn(err error) {
	if sn.broken == nil && isPanic(err) {
		sn.broken = err
	}
}

// isBroken reports whether a panic broke the handle.
func (sn *snapshot) isBroken() bool {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return sn.broken != nil
}

// acquire adds a reference; release drops one and closes the file with the
// last. The caller of acquire must know the count is above zero (it holds a
// reference, or the store's lock while the snapshot is current).
func (sn *snapshot) acquire() { sn.refs.Add(1) }

func (sn *snapshot) release() {
	if sn.refs.Add(-1) == 0 {
		sn.close()
	}
}

// close closes the file. A broken handle is not closed through bbolt, whose
// locks a panic may hold: its descriptor is closed, which releases its
// shared lock, and its memory map stays (address space, not memory: the
// pages belong to the file).
func (sn *snapshot) close() {
	if sn.isBroken() {
		_ = sn.file.Close()
		return
	}
	if err := guarded(sn.path, sn.db.Close); isPanic(err) {
		_ = sn.file.Close()
	}
}

// guarded calls fn with faults and panics turned into ErrCorrupt errors
// (a *panicError).
func guarded(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{corrupt(path, "%v", r)}
		}
	}()
	return fn()
}

// openSnapshot opens the file published at path. It returns nil, nil when no
// file exists. It never returns a file that was not live at some moment after
// its lock was taken: a file that stopped being live may be rewritten in place
// by the next write. It waits for the shared lock until timeout, ctx or stop.
func openSnapshot(ctx context.Context, stop <-chan struct{}, path string, timeout time.Duration) (*snapshot, error) {
	deadline := time.Now().Add(timeout)
	backoff := 50 * time.Microsecond
	for {
		sn, retry, err := tryOpenSnapshot(path)
		if !retry {
			return sn, err
		}
		if !time.Now().Before(deadline) {
			return nil, unavailable("open", path, fmt.Errorf("shared file lock not granted within %v", timeout))
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-stop:
			t.Stop()
			return nil, ErrClosed
		}
		backoff = min(2*backoff, 2*time.Millisecond)
	}
}

func tryOpenSnapshot(path string) (sn *snapshot, retry bool, err error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, unavailable("stat", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, false, corrupt(path, "not a regular file")
	}
	if fi.Size() == 0 {
		return nil, false, corrupt(path, "empty file")
	}
	var (
		db   *bbolt.DB
		file *os.File
	)
	err = guarded(path, func() error {
		var err error
		// A timeout of 1ns makes bbolt try the shared lock once; this loop
		// retries, re-resolving the path each time.
		db, err = bbolt.Open(path, 0, &bbolt.Options{
			ReadOnly: true,
			Timeout:  time.Nanosecond,
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			},
		})
		return err
	})
	if file != nil && isPanic(err) {
		// bbolt closes its file when Open fails, but not after a panic.
		_ = file.Close()
	}
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		// A writer is rewriting the file the path named a moment ago: it is
		// no longer live. Look again.
		return nil, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case errors.Is(err, ErrCorrupt):
		return nil, false, err
	default:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, false, unavailable("open", path, err)
		}
		return nil, false, corrupt(path, "%v", err)
	}
	sn = &snapshot{db: db, file: file, path: path}
	sn.refs.Store(1)
	if sn.info, err = file.Stat(); err != nil {
		sn.release()
		return nil, false, unavailable("stat", path, err)
	}
	// The path may have moved on between the open and the lock.
	now, err := os.Stat(path)
	if err != nil || !os.SameFile(now, sn.info) {
		sn.release()
		return nil, true, nil
	}
	if err := sn.validate(); err != nil {
		sn.release()
		return nil, false, err
	}
	return sn, false, nil
}

// validate checks that the file is a daemonflag store of a known format and
// that its pages lie inside the file (a truncated file would fault on read).
func (sn *snapshot) validate() error {
	return sn.view(func(tx *bbolt.Tx) error {
		if size := tx.Size(); size > sn.info.Size() {
			return corrupt(sn.path, "truncated: the file has %d bytes, its pages reach %d", sn.info.Size(), size)
		}
		m := tx.Bucket(metaBucket)
		if m == nil {
			return corrupt(sn.path, "not a daemonflag store (no %s bucket)", metaBucket)
		}
		if f := m.Get(metaFormat); !bytes.Equal(f, formatV2) && !bytes.Equal(f, formatV1) {
			return corrupt(sn.path, "unsupported store format %q (this version reads %q and %q)", f, formatV1, formatV2)
		}
		return nil
	})
}
