package bolt

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/daemonflag/daemonflag/store"
)

const (
	// tmpInfix marks temporary files: PATH.tmp-*. Any such file found while
	// holding the writer lock was left by a writer that died.
	tmpInfix = ".tmp-"
	// keepGenerations is how many change-log entries a file keeps.
	keepGenerations = 8
	// maxLogChanges bounds one log entry; a bigger write counts as a full
	// rewrite (the next write then copies instead of catching up).
	maxLogChanges = 10000
)

// slotPaths are the two files the live path alternates between.
func (s *Store) slotPaths() [2]string {
	return [2]string{s.path + ".0", s.path + ".1"}
}

// writeOp is one write waiting to be committed, possibly with others in one
// transaction (group commit).
type writeOp struct {
	apply   func(w *txWriter) error
	extra   int  // bytes the write may add, to size the memory map
	members int  // membership changes
	syncOn  bool // sets the synchronized-on time
	applied bool
	err     error
	done    chan struct{}
}

// txWriter applies writes in a read-write transaction and records the keys
// they touch for the change log.
type txWriter struct {
	tx      *bbolt.Tx
	prefix  []byte
	changes []change
	seen    map[string]bool
	id      []byte // scratch for seen's keys

	// members collects the transaction's membership changes, which are
	// applied together, in hash order, by flushMembership.
	members  *[]store.MembershipChange
	arena    *chunkArena
	sorter   *changeSorter
	bsPath   [][]byte // prefix, big_segments
	runsPath [][]byte // prefix, big_segments_runs
	// compactFrom, when set, is the live file's transaction, whose
	// memberships are to be compacted into this new file.
	compactFrom *bbolt.Tx
	// db is set when tx writes a file that is not published yet, which
	// may then be committed in steps (checkpoint).
	db *bbolt.DB
}

// checkpoint commits the transaction so far, without syncing, and begins
// the next, when the file is not published yet (otherwise it does
// nothing): a large build then holds only a step's pages and values in
// memory. Bucket handles from before are stale afterwards.
func (w *txWriter) checkpoint() error {
	if w.db == nil {
		return nil
	}
	noSync := w.db.NoSync
	w.db.NoSync = true // the last commit syncs the whole file
	err := w.tx.Commit()
	w.db.NoSync = noSync
	w.tx = nil
	if err != nil {
		return err
	}
	w.arena.reset(arenaKeep)
	w.tx, err = w.db.Begin(true)
	return err
}

// newTxWriter starts recording the writes of tx. s.wmu must be held: the
// writer reuses the store's buffers.
func (s *Store) newTxWriter(tx *bbolt.Tx) *txWriter {
	s.arena.reset(arenaKeep)
	clear(s.members)
	s.members = s.members[:0]
	return &txWriter{
		tx: tx, prefix: s.prefix, arena: &s.arena, members: &s.members, sorter: &s.sorter,
		bsPath: [][]byte{s.prefix, bigSegmentsBucket}, runsPath: [][]byte{s.prefix, runsBucket},
	}
}

// arenaKeep is how much of its write buffers a store keeps between writes.
const arenaKeep = 8 << 20

// bucket returns prefix/names..., creating what is missing.
func (w *txWriter) bucket(names ...[]byte) (*bbolt.Bucket, error) {
	b, err := w.tx.CreateBucketIfNotExists(w.prefix)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if b, err = b.CreateBucketIfNotExists(n); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// path returns the bucket path prefix/names....
func (w *txWriter) path(names ...[]byte) [][]byte {
	return append([][]byte{w.prefix}, names...)
}

// record notes that key in the bucket at path changed. Once the
// transaction has more changes than a log entry holds, it stops recording:
// the generation is then logged as a full rewrite.
func (w *txWriter) record(path [][]byte, key []byte) {
	if len(w.changes) > maxLogChanges {
		return
	}
	w.id = w.id[:0]
	for _, p := range path {
		w.id = binary.AppendUvarint(w.id, uint64(len(p)))
		w.id = append(w.id, p...)
	}
	w.id = append(w.id, key...)
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[string(w.id)] {
		return
	}
	w.seen[string(w.id)] = true
	w.changes = append(w.changes, change{path: path, key: slices.Clone(key)})
}

func (s *Store) beginWrite(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if s.cfg.readOnly {
		return ErrReadOnly
	}
	return nil
}

func checkKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("bolt: empty %s", what)
	}
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: %s of %d bytes is longer than %d", what, len(key), bbolt.MaxKeySize)
	}
	return nil
}

// submit queues op and commits it, with whatever else is queued, in one
// write. The first goroutine to get the write mutex commits for all.
func (s *Store) submit(ctx context.Context, op *writeOp) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	op.done = make(chan struct{})
	s.pendMu.Lock()
	s.pending = append(s.pending, op)
	s.pendMu.Unlock()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-op.done:
		return op.err
	default:
	}
	s.pendMu.Lock()
	batch := s.pending
	s.pending = nil
	s.pendMu.Unlock()

	var err error
	if s.closed.Load() {
		err = ErrClosed
	} else {
		// A batch carries other callers' writes, so one caller's
		// cancellation does not abort it; Timeout bounds the lock wait.
		extra, members, syncOn := 0, 0, false
		for _, o := range batch {
			extra += o.extra
			members += o.members
			syncOn = syncOn || o.syncOn
		}
		inc := func(w *txWriter) error {
			for _, o := range batch {
				o.applied, o.err = false, nil
				if err := o.apply(w); err != nil {
					return err
				}
			}
			return w.flushMembership()
		}
		err = s.writeLocked(context.WithoutCancel(ctx), inc, nil, extra, func(ltx *bbolt.Tx) bool {
			return s.wantsCompaction(ltx, members, syncOn)
		})
	}
	for _, o := range batch {
		if err != nil {
			o.applied, o.err = false, err
		}
		close(o.done)
	}
	return op.err
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

// writeLocked takes the writer lock and writes the next file state: with inc
// applied to the current state (in place on the standby file when possible),
// or, when full is set, built from scratch by full. It then publishes it.
// When compact, given the live file, reports true, inc is applied to a
// rebuilt file whose memberships are compacted instead. s.wmu must be held.
//
// extra estimates how many bytes the write adds, to size the memory map.
func (s *Store) writeLocked(ctx context.Context, inc func(w *txWriter) error, full func(ctx context.Context, w *txWriter, live *bbolt.Tx) error, extra int, compact func(ltx *bbolt.Tx) bool) (err error) {
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
	live, err := s.liveForWrite(ctx, full != nil)
	if err != nil {
		return s.corruptHint(err)
	}
	if live != nil {
		defer live.release()
	}
	slot, canInPlace := s.standby(live)
	if inc != nil && compact != nil && live != nil {
		want := false
		if err := live.view(func(ltx *bbolt.Tx) error { want = compact(ltx); return nil }); err != nil {
			return s.corruptHint(err)
		}
		if want {
			full, inc = s.rebuild(inc), nil
			s.compactions.Add(1)
		}
	}
	built := false
	if inc != nil && canInPlace && !s.forceCopy.Load() {
		built, err = s.writeInPlace(live, slot, inc)
	}
	if err == nil && !built {
		err = s.writeCopy(ctx, live, slot, inc, full, extra)
		if err != nil && full != nil && inc == nil && live != nil && live.isBroken() && errors.Is(err, ErrCorrupt) {
			// The live file broke while Init read it: Init does not
			// need it.
			s.keepCorrupt()
			err = s.writeCopy(ctx, nil, slot, nil, full, extra)
		}
		s.copyWrites.Add(1)
	} else if built {
		s.inPlaceWrites.Add(1)
	}
	if err != nil {
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

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// readMeta returns a file's generation and snapshot id (0, nil: none).
func readMeta(tx *bbolt.Tx) (gen uint64, id []byte) {
	m := tx.Bucket(metaBucket)
	if m == nil {
		return 0, nil
	}
	if v := m.Get(metaGeneration); len(v) == 8 {
		gen = binary.BigEndian.Uint64(v)
	}
	return gen, m.Get(metaSnapshot)
}

// writeMeta stamps tx as generation gen with a new snapshot id and logs the
// generation's changes.
func writeMeta(tx *bbolt.Tx, gen uint64, changes []change, full bool) error {
	m, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return err
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	for _, kv := range [][2][]byte{{metaFormat, formatV2}, {metaGeneration, u64(gen)}, {metaSnapshot, id}} {
		if err := m.Put(kv[0], kv[1]); err != nil {
			return err
		}
	}
	if len(changes) > maxLogChanges {
		full = true
	}
	if full && m.Bucket(metaChanges) != nil {
		if err := m.DeleteBucket(metaChanges); err != nil {
			return err
		}
	}
	log, err := m.CreateBucketIfNotExists(metaChanges)
	if err != nil {
		return err
	}
	e := logEntry{id: id, full: full}
	if !full {
		e.changes = changes
	}
	if err := log.Put(u64(gen), encodeLogEntry(e)); err != nil {
		return err
	}
	// Drop old entries; keys are big-endian, so they sort by generation.
	c := log.Cursor()
	for k, _ := c.First(); k != nil && len(k) == 8 && binary.BigEndian.Uint64(k)+keepGenerations <= gen; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// writeCopy writes the next state into a new temporary file, a copy of the
// live file with inc applied or a fresh build by full, and renames it over
// slot.
func (s *Store) writeCopy(ctx context.Context, live *snapshot, slot string, inc func(w *txWriter) error, full func(ctx context.Context, w *txWriter, live *bbolt.Tx) error, extra int) (err error) {
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
	if err == nil && live != nil && full == nil {
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
			if full != nil {
				err = full(ctx, w, ltx)
				if err == nil {
					err = writeMeta(w.tx, lGen+1, nil, true)
				}
			} else {
				err = inc(w)
				if err == nil {
					err = writeMeta(w.tx, lGen+1, w.changes, lGen == 0)
				}
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

// Init replaces the store's dataset under its prefix with data and marks it
// initialized. Big-segment data and other prefixes are kept. The new dataset
// is built in a new file and published with one rename, so readers see the
// old dataset or the new one, never a mix.
func (s *Store) Init(ctx context.Context, data []store.Collection) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	for _, c := range data {
		if err := checkKind(c.Kind); err != nil {
			return err
		}
		for _, ki := range c.Items {
			if err := checkKey("key", ki.Key); err != nil {
				return fmt.Errorf("%w (kind %s)", err, c.Kind)
			}
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.swept = false
	size := 0
	for _, c := range data {
		for _, ki := range c.Items {
			size += len(ki.Key) + len(ki.Item.Data) + 16
		}
	}
	return s.writeLocked(ctx, nil, func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error {
		return s.buildInit(ctx, w.tx, ltx, data)
	}, size, nil)
}

// buildInit fills an empty transaction: everything of the live file but this
// prefix's items, then data.
func (s *Store) buildInit(ctx context.Context, tx, ltx *bbolt.Tx, data []store.Collection) error {
	if ltx != nil {
		err := ltx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			if string(name) == string(metaBucket) || string(name) == string(s.prefix) {
				return nil
			}
			return copyBucket(tx.CreateBucket, name, b)
		})
		if err != nil {
			return err
		}
	}
	pb, err := tx.CreateBucket(s.prefix)
	if err != nil {
		return err
	}
	if ltx != nil {
		if lp := ltx.Bucket(s.prefix); lp != nil {
			for _, name := range [][]byte{bigSegmentsBucket, runsBucket} {
				if bs := lp.Bucket(name); bs != nil {
					if err := copyBucket(pb.CreateBucket, name, bs); err != nil {
						return err
					}
				}
			}
			if v := lp.Get(syncOnKey); v != nil {
				if err := pb.Put(syncOnKey, slices.Clone(v)); err != nil {
					return err
				}
			}
		}
	}
	n := 0
	for _, c := range data {
		kb, err := pb.CreateBucketIfNotExists([]byte(c.Kind))
		if err != nil {
			return err
		}
		// Keys go in in order into full pages: a compact file.
		kb.FillPercent = 1
		items := slices.Clone(c.Items)
		slices.SortStableFunc(items, func(a, b store.KeyedItem) int { return cmp.Compare(a.Key, b.Key) })
		for _, ki := range items {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := kb.Put([]byte(ki.Key), encodeValue(ki.Item)); err != nil {
				return fmt.Errorf("kind %s, key %q: %w", c.Kind, ki.Key, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := strconv.AppendInt(nil, time.Now().UnixMilli(), 10)
	if err := pb.Put(lastWriteKey, now); err != nil {
		return err
	}
	return pb.Put(initedKey, now)
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

// Upsert stores item under key unless the stored item (tombstones included)
// has the same or a higher version. Concurrent upserts are committed
// together in one write.
func (s *Store) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	if err := checkKind(kind); err != nil {
		return false, err
	}
	if err := checkKey("key", key); err != nil {
		return false, err
	}
	k, kb, val := []byte(key), []byte(kind), encodeValue(item)
	op := &writeOp{}
	op.apply = func(w *txWriter) error {
		ok, err := w.upsert(kb, k, val, item.Version)
		if err != nil {
			return err
		}
		op.applied = ok
		return w.stampWrite()
	}
	if err := s.submit(ctx, op); err != nil {
		return false, err
	}
	return op.applied, nil
}

// upsert stores the encoded item val under kind/key unless the stored item
// has version or a higher one, and reports whether it did.
func (w *txWriter) upsert(kind, key, val []byte, version int) (bool, error) {
	b, err := w.bucket(kind)
	if err != nil {
		return false, err
	}
	if old := b.Get(key); old != nil {
		// A stored value that does not decode is overwritten.
		if v, err := decodeVersion(old); err == nil && v >= version {
			return false, nil
		}
	}
	if err := b.Put(key, val); err != nil {
		return false, err
	}
	w.record(w.path(kind), key)
	return true, nil
}

// ApplyMembership applies big-segment membership changes in order, in one
// write. Concurrent calls are committed together.
func (s *Store) ApplyMembership(ctx context.Context, changes []store.MembershipChange) error {
	extra := 0
	for _, c := range changes {
		if err := checkKey("context hash", c.ContextHash); err != nil {
			return err
		}
		extra += len(c.ContextHash) + len(c.SegmentRef) + 8
	}
	if len(changes) == 0 {
		return s.beginWrite(ctx)
	}
	// changes is only read, and only until submit returns.
	op := &writeOp{extra: extra, members: len(changes)}
	op.apply = func(w *txWriter) error {
		*w.members = append(*w.members, changes...)
		return nil
	}
	return s.submit(ctx, op)
}

// SetSynchronizedOn records t, to the millisecond, as the time big-segment
// data was last known to be up to date.
func (s *Store) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	v := strconv.AppendInt(nil, t.UnixMilli(), 10)
	op := &writeOp{syncOn: true}
	op.apply = func(w *txWriter) error {
		b, err := w.bucket()
		if err != nil {
			return err
		}
		if err := b.Put(syncOnKey, v); err != nil {
			return err
		}
		w.record(w.path(), syncOnKey)
		return nil
	}
	return s.submit(ctx, op)
}

// wantsCompaction reports whether a write of members membership changes,
// setting the synchronized-on time when syncOn is set, should compact the
// runs of the live file ltx into its base: always on a synchronized-on time
// (the end of an import, or a periodic touch); and when a new run would
// make more than maxRuns, if the runs hold at least half as many
// memberships as the base (otherwise the runs are merged into one, which
// costs less; see txWriter.flushMembership).
func (s *Store) wantsCompaction(ltx *bbolt.Tx, members int, syncOn bool) bool {
	pb := ltx.Bucket(s.prefix)
	if pb == nil {
		return false
	}
	n, inRuns := runStats(pb)
	switch {
	case n == 0:
		return false
	case syncOn:
		return true
	case members == 0 || n+1 <= maxRuns:
		return false
	}
	var inBase uint64
	if b := pb.Bucket(bigSegmentsBucket); b != nil {
		inBase = b.Sequence()
	}
	return inRuns+uint64(members) >= inBase/2
}

// rebuild returns a builder of a new file: the live file with this prefix's
// memberships compacted, and then inc applied.
func (s *Store) rebuild(inc func(w *txWriter) error) func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error {
	return func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error {
		err := ltx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			if string(name) == string(metaBucket) || string(name) == string(s.prefix) {
				return nil
			}
			return copyBucket(w.tx.CreateBucket, name, b)
		})
		if err != nil {
			return err
		}
		pb, err := w.tx.CreateBucket(s.prefix)
		if err != nil {
			return err
		}
		if lp := ltx.Bucket(s.prefix); lp != nil {
			c := lp.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				switch {
				case string(k) == string(bigSegmentsBucket) || string(k) == string(runsBucket):
				case v == nil:
					if sub := lp.Bucket(k); sub != nil {
						err = copyBucket(pb.CreateBucket, k, sub)
					}
				default:
					err = pb.Put(k, v)
				}
				if err != nil {
					return err
				}
			}
		}
		w.compactFrom = ltx
		return inc(w)
	}
}
