package bolt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The write side of the publishing protocol: the writer lock, the two
// slots, writing the next state (in place or by copying) and publishing it
// with a link and a rename, and sweeping what dead writers left.

// tmpInfix marks temporary files: PATH.tmp-*. Any such file found while
// holding the writer lock was left by a writer that died.
const tmpInfix = ".tmp-"

// slotPaths are the two files the live path alternates between.
func (s *Store) slotPaths() [2]string {
	return [2]string{s.path + ".0", s.path + ".1"}
}

// lockWriter takes the writer lock (PATH.lock); s.wmu must be held.
func (s *Store) lockWriter(ctx context.Context) (unlock func(), err error) {
	if s.lock == nil {
		if s.cfg.makeDirs {
			if err := os.MkdirAll(s.dir, 0o755); err != nil {
				return nil, unavailable("mkdir", s.dir, err)
			}
		} else if _, err := os.Stat(s.dir); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("bolt: the directory %s of the store file does not exist (create it, or set Options.MakeDirs, ?mkdir=true in an address, to let the writer create it): %w", s.dir, err)
		}
		l, err := openLock(s.path+".lock", s.cfg.fileMode)
		if err != nil {
			return nil, unavailable("open lock", s.path+".lock", err)
		}
		s.lock = l
	}
	deadline := time.Now().Add(s.cfg.timeout)
	backoff := 50 * time.Microsecond
	for {
		ok, err := s.lock.tryLock()
		if err != nil {
			return nil, unavailable("lock", s.path+".lock", err)
		}
		if ok {
			l := s.lock
			return func() { _ = l.unlock() }, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !time.Now().Before(deadline) {
			return nil, unavailable("lock", s.path+".lock", fmt.Errorf("another writer holds the lock for longer than %v", s.cfg.timeout))
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Millisecond)
	}
}

// sweep removes temporary files left by writers that died; it runs under
// the writer lock, when no other writer can have temporary files.
func (s *Store) sweep() {
	if s.swept {
		return
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), s.base+tmpInfix) {
			_ = os.Remove(filepath.Join(s.dir, e.Name()))
		}
	}
	s.swept = true
}

// writeNext takes the writer lock, has write put the next state into the
// standby slot (canInPlace: the slot may be updated in place), and
// publishes it. replaces says the write needs nothing of the live file
// (Init), so a damaged live file does not stop it. s.wmu must be held.
func (s *Store) writeNext(ctx context.Context, replaces bool, write func(live *snapshot, slot string, canInPlace bool) error) (err error) {
	unlock, err := s.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	defer func() {
		if err != nil {
			s.swept = false // look for our own leftovers next time
		}
	}()
	s.sweep()
	live, err := s.liveForWrite(ctx, replaces)
	if err != nil {
		return s.corruptHint(err)
	}
	if live != nil {
		defer live.release()
	}
	slot, canInPlace := s.standby(live)
	if err := write(live, slot, canInPlace); err != nil {
		return s.corruptHint(err)
	}
	if err := s.publish(slot); err != nil {
		return err
	}
	// Let go of the previous file at once, so the next write can update it
	// in place; a failure here is a read problem, reported by reads.
	_ = s.refresh(ctx, checkNow)
	s.notifyWritten()
	return nil
}

// liveForWrite returns the live file, with a reference, or nil when there is
// none. A damaged live file is an error, unless the write replaces the whole
// dataset (Init): it is then set aside (keepCorrupt) and the write builds a
// new file without it.
func (s *Store) liveForWrite(ctx context.Context, replaces bool) (*snapshot, error) {
	err := s.refresh(ctx, checkRetry)
	var live *snapshot
	if err == nil {
		live, err = s.acquire()
	}
	if err == nil && live != nil && live.isBroken() {
		err = live.broken
		live.release()
		live = nil
	}
	if err != nil {
		if replaces && errors.Is(err, ErrCorrupt) {
			s.keepCorrupt()
			return nil, nil
		}
		return nil, err
	}
	return live, nil
}

// keepCorrupt links the damaged live file to PATH.corrupt-<Unix ms>, so
// replacing it loses nothing an operator could still recover by hand.
func (s *Store) keepCorrupt() {
	fi, err := os.Lstat(s.path)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	_ = os.Link(s.path, fmt.Sprintf("%s.corrupt-%d", s.path, time.Now().UnixMilli()))
}

// corruptHint adds to a corruption error what the user can do about it.
func (s *Store) corruptHint(err error) error {
	if !errors.Is(err, ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w (a full write, Init, replaces a damaged live file; or remove %s, %s.0 and %s.1 and write again)", err, s.path, s.path, s.path)
}

// standby picks the slot the next state goes to: the one that is not live.
// canInPlace is false when that slot cannot be updated in place.
func (s *Store) standby(live *snapshot) (slot string, canInPlace bool) {
	slots := s.slotPaths()
	if live == nil {
		return slots[0], false
	}
	for i, p := range slots {
		if fi, err := os.Stat(p); err == nil && os.SameFile(fi, live.info) {
			other := slots[1-i]
			_, err := os.Stat(other)
			return other, err == nil
		}
	}
	// The live file is in neither slot (replaced by hand): copy it.
	return slots[0], false
}

// publish makes slot the live file: a hard link to it is renamed over the
// live path, which readers see atomically.
func (s *Store) publish(slot string) error {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	link := filepath.Join(s.dir, fmt.Sprintf("%s%slink-%x", s.base, tmpInfix, rnd))
	if err := os.Link(slot, link); err != nil {
		return unavailable("link", slot, err)
	}
	if err := os.Rename(link, s.path); err != nil {
		_ = os.Remove(link)
		return unavailable("rename", link, err)
	}
	if !s.cfg.noSync {
		if err := syncDir(s.dir); err != nil {
			return unavailable("sync", s.dir, err)
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return err
	}
	return nil
}
