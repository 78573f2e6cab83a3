package bolt

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// snapshot is one published store file, open read-only. bbolt holds a shared
// flock on it while it is open, so no writer rewrites it underneath.
type snapshot struct {
	db   *bbolt.DB
	info os.FileInfo // identity of the open file, compared with os.SameFile
	path string
}

// view runs fn in a read transaction. A corrupt file can make bbolt panic or
// fault on the memory map; both become an error wrapping ErrCorrupt.
func (sn *snapshot) view(fn func(tx *bbolt.Tx) error) error {
	return guarded(sn.path, func() error { return sn.db.View(fn) })
}

func (sn *snapshot) close() {
	_ = sn.db.Close()
}

// guarded calls fn with faults and panics turned into ErrCorrupt errors.
func guarded(path string, fn func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(path, "%v", r)
		}
	}()
	return fn()
}

// openSnapshot opens the file published at path. It returns nil, nil when no
// file exists. It never returns a file that was not live at some moment after
// its lock was taken: a file that stopped being live may be rewritten in place
// by the next write.
func openSnapshot(path string, timeout time.Duration) (*snapshot, error) {
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
		time.Sleep(backoff)
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
	sn = &snapshot{db: db, path: path}
	if sn.info, err = file.Stat(); err != nil {
		sn.close()
		return nil, false, unavailable("stat", path, err)
	}
	// The path may have moved on between the open and the lock.
	now, err := os.Stat(path)
	if err != nil || !os.SameFile(now, sn.info) {
		sn.close()
		return nil, true, nil
	}
	if err := sn.validate(); err != nil {
		sn.close()
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
