package bolt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Writing the next state into a new file: a copy of the live file, or a
// fresh build.

// builder writes the next state into a new file: a copy of the live file
// (fresh unset) that build changes, or an empty file (fresh set) that build
// fills, reading what it keeps from the live file's transaction ltx (nil
// when there is no live file).
type builder struct {
	fresh bool
	build func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error
}

// increment is the builder that applies inc to a copy of the live file.
func increment(inc func(w *txWriter) error) builder {
	return builder{build: func(_ context.Context, w *txWriter, _ *bbolt.Tx) error { return inc(w) }}
}

// writeCopy writes the next state into a new temporary file, as b builds
// it, and renames it over slot.
func (s *Store) writeCopy(ctx context.Context, live *snapshot, slot string, b builder, extra int) (err error) {
	tmp, err := os.CreateTemp(s.dir, s.base+tmpInfix+"*")
	if err != nil {
		return unavailable("create", s.dir, err)
	}
	name := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(name)
		}
	}()
	err = tmp.Chmod(s.cfg.fileMode)
	if err == nil && live != nil && !b.fresh {
		// Only the pages in use: bbolt grows files ahead of need.
		var used int64
		if err = live.view(func(tx *bbolt.Tx) error { used = tx.Size(); return nil }); err == nil {
			err = copyFile(tmp, s.path, live.info, used)
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return unavailable("copy", s.path, err)
	}
	rw, err := openRW(name, s.cfg.fileMode, bbolt.Options{Timeout: time.Nanosecond, NoSync: s.cfg.noSync, InitialMmapSize: mmapSize(s.path, extra)})
	if err != nil {
		return unavailable("open", name, err)
	}
	db := rw.db
	build := func(ltx *bbolt.Tx) error {
		var lGen uint64
		if ltx != nil {
			lGen, _ = readMeta(ltx)
		}
		return rw.do(func() error {
			tx, err := db.Begin(true)
			if err != nil {
				return err
			}
			w := s.newTxWriter(tx)
			w.db = db // the file is not published yet: checkpoints are allowed
			defer func() {
				if w.tx != nil {
					_ = w.tx.Rollback()
				}
			}()
			err = b.build(ctx, w, ltx)
			if err == nil {
				// A fresh file, or a copy with no ancestor on record, is
				// logged as a full rewrite: no catch-up across it.
				err = writeMeta(w.tx, lGen+1, w.changes, b.fresh || lGen == 0)
			}
			if err != nil {
				return err
			}
			err = w.tx.Commit()
			w.tx = nil
			return err
		})
	}
	if live != nil {
		err = live.view(build)
	} else {
		err = build(nil)
	}
	if cerr := rw.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bolt write %s: %w", name, err)
	}
	if err := os.Rename(name, slot); err != nil {
		return unavailable("rename", name, err)
	}
	return nil
}

// copyFile copies the first n bytes of the live file, which no one writes
// while it is live, into dst; the kernel copies (copy_file_range) where it
// can.
func copyFile(dst *os.File, path string, want os.FileInfo, n int64) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !os.SameFile(fi, want) {
		return errors.New("the live file changed while the writer lock was held")
	}
	_, err = io.CopyN(dst, src, n)
	return err
}

// mmapSize is the memory map to give a file that is about to grow by extra
// bytes: bbolt copies every dirty node to the heap each time a write
// transaction outgrows its map, which a map sized up front avoids. Address
// space is cheap; the map does not grow the file.
func mmapSize(path string, extra int) int {
	size := 0
	if fi, err := os.Stat(path); err == nil {
		size = int(fi.Size())
	}
	return 2*size + 3*extra + 1<<20
}

// copyBucket copies src, recursively, into a new bucket made by create.
func copyBucket(create func([]byte) (*bbolt.Bucket, error), name []byte, src *bbolt.Bucket) error {
	dst, err := create(slices.Clone(name))
	if err != nil {
		return err
	}
	dst.FillPercent = 1
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			sub := src.Bucket(k)
			if sub == nil {
				return nil
			}
			return copyBucket(dst.CreateBucket, k, sub)
		}
		// k and v stay valid: the source's read transaction outlasts the
		// commit.
		return dst.Put(k, v)
	})
}
