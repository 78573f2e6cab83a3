package bolt

import (
	"errors"
	"os"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// In-place catch-up of the standby slot from the live file's change log.

// writeInPlace brings the standby file up to date with the live one from the
// live file's change log and applies inc, in one transaction. It reports
// false, with no error, when that is not possible (a reader still holds the
// standby file, the log does not reach back to it, it is damaged, or the
// transaction fails): the caller then copies.
func (s *Store) writeInPlace(live *snapshot, slot string, inc func(w *txWriter) error) (built bool, err error) {
	db, err := openStandby(slot, s.cfg.standbyWait, s.cfg.noSync, s.cfg.fileMode)
	if err != nil {
		return false, nil
	}
	defer func() {
		if cerr := db.close(); cerr != nil && built {
			built, err = false, nil // not committed for sure: copy instead
		}
	}()
	var sGen uint64
	var sID []byte
	if err := db.do(func() error {
		return db.db.View(func(tx *bbolt.Tx) error {
			sGen, sID = readMeta(tx)
			sID = slices.Clone(sID)
			return nil
		})
	}); err != nil || sGen == 0 {
		return false, nil
	}
	err = live.view(func(ltx *bbolt.Tx) error {
		lGen, _ := readMeta(ltx)
		plan, ok := catchUpPlan(ltx, sGen, sID, lGen)
		if !ok {
			return nil
		}
		err := db.do(func() error {
			return db.db.Update(func(tx *bbolt.Tx) error {
				for _, c := range plan {
					if err := copyKey(ltx, tx, c); err != nil {
						return err
					}
				}
				if err := copyLog(ltx, tx); err != nil {
					return err
				}
				w := s.newTxWriter(tx)
				if err := inc(w); err != nil {
					return err
				}
				return writeMeta(tx, lGen+1, w.changes, false)
			})
		})
		// A failure here (a damaged standby file, an I/O error) leaves the
		// standby file at its last committed state; the copy path rebuilds
		// it, and reports errors that are not the standby file's.
		built = err == nil
		return nil
	})
	return built, err
}

// openStandby opens the standby file read-write once no reader holds it,
// waiting up to wait.
func openStandby(path string, wait time.Duration, noSync bool, mode os.FileMode) (*rwDB, error) {
	deadline := time.Now().Add(wait)
	backoff := 50 * time.Microsecond
	for {
		db, err := openRW(path, mode, bbolt.Options{Timeout: time.Nanosecond, NoSync: noSync})
		if err == nil {
			return db, nil
		}
		if !errors.Is(err, berrors.ErrTimeout) || !time.Now().Before(deadline) {
			return nil, err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, time.Millisecond)
	}
}

// catchUpPlan lists the keys to copy from the live file to bring a file at
// generation sGen (snapshot sID) to the live generation lGen. ok is false
// when the live file's log does not show sGen/sID as its ancestor or a full
// rewrite lies between.
func catchUpPlan(ltx *bbolt.Tx, sGen uint64, sID []byte, lGen uint64) (plan []change, ok bool) {
	if sGen >= lGen || lGen-sGen > keepGenerations {
		return nil, false
	}
	m := ltx.Bucket(metaBucket)
	if m == nil {
		return nil, false
	}
	log := m.Bucket(metaChanges)
	if log == nil {
		return nil, false
	}
	for g := sGen; g <= lGen; g++ {
		v := log.Get(u64(g))
		if v == nil {
			return nil, false
		}
		e, err := decodeLogEntry(v)
		if err != nil {
			return nil, false
		}
		if g == sGen {
			if string(e.id) != string(sID) {
				return nil, false
			}
			continue
		}
		if e.full {
			return nil, false
		}
		plan = append(plan, e.changes...)
	}
	return plan, true
}

// copyKey makes key c in tx what it is in ltx: a value or a bucket copied,
// or deleted. The bucket holding it takes ltx's sequence number too.
func copyKey(ltx, tx *bbolt.Tx, c change) error {
	var v []byte
	var sub *bbolt.Bucket
	src := nested(ltx, c.path)
	if src != nil {
		if v = src.Get(c.key); v == nil {
			sub = src.Bucket(c.key)
		}
	}
	dst := nested(tx, c.path)
	if dst == nil {
		if src == nil {
			return nil
		}
		var err error
		dst, err = tx.CreateBucketIfNotExists(c.path[0])
		for _, n := range c.path[1:] {
			if err != nil {
				break
			}
			dst, err = dst.CreateBucketIfNotExists(n)
		}
		if err != nil {
			return err
		}
	}
	if src != nil && dst.Sequence() != src.Sequence() {
		if err := dst.SetSequence(src.Sequence()); err != nil {
			return err
		}
	}
	if dst.Bucket(c.key) != nil {
		if err := dst.DeleteBucket(c.key); err != nil {
			return err
		}
	}
	switch {
	case sub != nil:
		return copyBucket(dst.CreateBucket, c.key, sub)
	case v != nil:
		// v stays valid: the live file's read transaction outlasts the
		// commit.
		return dst.Put(c.key, v)
	default:
		return dst.Delete(c.key)
	}
}

func nested(tx *bbolt.Tx, path [][]byte) *bbolt.Bucket {
	if len(path) == 0 {
		return nil
	}
	b := tx.Bucket(path[0])
	for _, n := range path[1:] {
		if b == nil {
			return nil
		}
		b = b.Bucket(n)
	}
	return b
}

// copyLog replaces tx's change log with ltx's.
func copyLog(ltx, tx *bbolt.Tx) error {
	m, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	if m.Bucket(metaChanges) != nil {
		if err := m.DeleteBucket(metaChanges); err != nil {
			return err
		}
	}
	dst, err := m.CreateBucket(metaChanges)
	if err != nil {
		return err
	}
	src := nested(ltx, [][]byte{metaBucket, metaChanges})
	if src == nil {
		return nil
	}
	return src.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil
		}
		return dst.Put(slices.Clone(k), slices.Clone(v))
	})
}
