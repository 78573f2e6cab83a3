package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Big-segment writes: changes to the blocks in place, runs, and compaction.

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
// runs of the live file ltx into its base: on a synchronized-on time (the
// end of an import, or a periodic touch), and when a new run would make
// more than maxRuns. (Merging the runs into one instead, which an earlier
// version did while the runs held less than half the base, measured no
// faster: see the package doc.)
func (s *Store) wantsCompaction(ltx *bbolt.Tx, members int, syncOn bool) bool {
	pb := ltx.Bucket(s.prefix)
	if pb == nil {
		return false
	}
	n, _ := runStats(pb)
	switch {
	case n == 0:
		return false
	case syncOn:
		return true
	}
	return members > 0 && n+1 > maxRuns
}

// rebuild returns a builder of a new file: the live file with this prefix's
// memberships compacted, and then inc applied.
func (s *Store) rebuild(inc func(w *txWriter) error) builder {
	return builder{fresh: true, build: func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error {
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
	}}
}

// flushMembership applies the membership changes collected in the
// transaction (sorted by hash, each hash's in order): with the transaction
// rebuilding the file, into a new base with the live file's base and runs
// (a compaction); when a run exists or the changes are many, as a new run
// (Store.wantsCompaction keeps runs at most maxRuns); otherwise into the
// base in place.
func (w *txWriter) flushMembership() error {
	changes := *w.members
	if len(changes) == 0 && w.compactFrom == nil {
		return nil
	}
	w.sorter.sort(changes)
	pb, err := w.bucket()
	if err != nil {
		return err
	}
	if w.compactFrom != nil {
		return w.compact(pb, changes)
	}
	base, err := pb.CreateBucketIfNotExists(bigSegmentsBucket)
	if err != nil {
		return err
	}
	if n, _ := runStats(pb); n > 0 || len(changes) >= runMin {
		return w.writeRun(pb, changes)
	}
	return w.applyToBase(base, changes)
}

// applyToBase applies changes to the base bucket b: each block the changes
// fall in is decoded, merged with them and written back, split when it
// outgrows blockTarget.
func (w *txWriter) applyToBase(b *bbolt.Bucket, changes []store.MembershipChange) error {
	bw := &blockWriter{arena: w.arena}
	var sc memberScratch
	var val []byte
	count := int64(b.Sequence())
	c := b.Cursor()
	for i := 0; i < len(changes); {
		// The block that holds changes[i]'s hash: the first whose key (its
		// last hash) is not smaller, or the last block, which then grows.
		k, v := c.Seek(bytesOf(changes[i].ContextHash))
		last := k == nil
		if last {
			k, v = c.Last()
		}
		if v == nil && k != nil {
			return fmt.Errorf("%w: %w: nested bucket %q in %s", store.ErrMalformedItem, errBadBlock, k, bigSegmentsBucket)
		}
		// Changes up to the block's key fall in it; the last block takes
		// every remaining change.
		j := i + 1
		for j < len(changes) && (last || changes[j].ContextHash <= string(k)) {
			j++
		}
		bw.out, bw.entries = bw.out[:0], 0
		it := newEntryIter(k, v)
		h, m, ok := it.next()
		for x := i; x < j || ok; {
			var cmp int
			switch {
			case !ok:
				cmp = 1 // only changes left
			case x == j:
				cmp = -1 // only stored entries left
			default:
				cmp = bytes.Compare(h, bytesOf(changes[x].ContextHash))
			}
			if cmp < 0 {
				bw.add(h, m)
				h, m, ok = it.next()
				continue
			}
			sc.reset()
			if cmp == 0 {
				count--     // counted again below if it stays
				sc.apply(m) // a malformed value is replaced
				h, m, ok = it.next()
			}
			y := nextGroup(changes, x)
			sc.applyChanges(changes[x:y])
			if !sc.empty(false) {
				count++
				val = sc.encode(val[:0], false)
				bw.add(bytesOf(changes[x].ContextHash), val)
			}
			x = y
		}
		// A damaged block is replaced by what could be read of it.
		bw.flush()
		if k != nil && (len(bw.out) == 0 || !bytes.Equal(bw.out[len(bw.out)-1].key, k)) {
			if err := b.Delete(k); err != nil {
				return err
			}
			w.record(w.bsPath, k)
		}
		for _, nb := range bw.out {
			if err := b.Put(nb.key, nb.val); err != nil {
				return err
			}
			w.record(w.bsPath, nb.key)
		}
		i = j
	}
	return b.SetSequence(uint64(max(count, 0)))
}

// writeRun stores changes as a new run, after the existing ones.
func (w *txWriter) writeRun(pb *bbolt.Bucket, changes []store.MembershipChange) error {
	runs, err := pb.CreateBucketIfNotExists(runsBucket)
	if err != nil {
		return err
	}
	var seq uint64
	if k, _ := runs.Cursor().Last(); len(k) == 8 {
		seq = binary.BigEndian.Uint64(k)
	}
	name := u64(seq + 1)
	rb, err := runs.CreateBucket(name)
	if err != nil {
		return err
	}
	rb.FillPercent = 1 // filled in key order: full pages
	bw := &blockWriter{arena: w.arena, bucket: rb}
	var sc memberScratch
	var val []byte
	for i := 0; i < len(changes); {
		j := nextGroup(changes, i)
		sc.reset()
		sc.applyChanges(changes[i:j])
		if !sc.empty(true) {
			val = sc.encode(val[:0], true)
			bw.add(bytesOf(changes[i].ContextHash), val)
		}
		i = j
	}
	bw.flush()
	if bw.err != nil {
		return bw.err
	}
	if err := rb.SetSequence(bw.entries); err != nil {
		return err
	}
	w.record(w.runsPath, name)
	return nil
}

// compact writes the base of the prefix bucket pb, which is being rebuilt
// in a new file: the live file's base with its runs and changes applied, in
// key order.
func (w *txWriter) compact(pb *bbolt.Bucket, changes []store.MembershipChange) error {
	base, err := pb.CreateBucket(bigSegmentsBucket)
	if err != nil {
		return err
	}
	base.FillPercent = 1
	bw := &blockWriter{arena: w.arena, bucket: base}
	var ls []*level
	if lp := w.compactFrom.Bucket(w.prefix); lp != nil {
		ls = levels(lp, nil, true)
	}
	var val []byte
	written := 0
	err = fold(ls, changes, func(hash []byte, sc *memberScratch) error {
		if sc.empty(false) {
			return nil
		}
		if written >= compactStep {
			// Commit what is written so far (a block may end early).
			written = 0
			bw.flush()
			if bw.err != nil {
				return bw.err
			}
			if err := w.checkpoint(); err != nil {
				return err
			}
			if base = w.tx.Bucket(w.prefix).Bucket(bigSegmentsBucket); base == nil {
				return errors.New("compaction: base bucket lost at a checkpoint")
			}
			base.FillPercent = 1
			bw.bucket = base
		}
		val = sc.encode(val[:0], false)
		bw.add(hash, val)
		written += len(val) + len(hash)
		return bw.err
	})
	if err != nil {
		return err
	}
	bw.flush()
	if bw.err != nil {
		return bw.err
	}
	return base.SetSequence(bw.entries)
}

// fold merges the levels ls, oldest first, with changes (sorted, the
// newest), calling fn with each context hash and its membership in hash
// order. Damaged blocks and malformed values of ls are dropped: a writer
// must not fail on what readers report as malformed, and replaces it.
func fold(ls []*level, changes []store.MembershipChange, fn func(hash []byte, sc *memberScratch) error) error {
	var sc, cs memberScratch // stored memberships; ones only changes hold
	i := 0
	// changesBefore passes on the memberships that only changes hold, up to
	// hash (all of them when hash is nil).
	changesBefore := func(hash []byte) error {
		for i < len(changes) && (hash == nil || changes[i].ContextHash < string(hash)) {
			j := nextGroup(changes, i)
			cs.reset()
			cs.applyChanges(changes[i:j])
			if err := fn(bytesOf(changes[i].ContextHash), &cs); err != nil {
				return err
			}
			i = j
		}
		return nil
	}
	err := merge(ls, &sc, true, func(hash []byte) (bool, error) {
		if err := changesBefore(hash); err != nil {
			return false, err
		}
		if i < len(changes) && changes[i].ContextHash == string(hash) {
			j := nextGroup(changes, i)
			sc.applyChanges(changes[i:j])
			i = j
		}
		return true, fn(hash, &sc)
	})
	if err != nil {
		return err
	}
	return changesBefore(nil)
}

// nextGroup returns the end of the group of changes to changes[i]'s hash.
func nextGroup(changes []store.MembershipChange, i int) int {
	j := i + 1
	for j < len(changes) && changes[j].ContextHash == changes[i].ContextHash {
		j++
	}
	return j
}

// changeSorter sorts membership changes by context hash, keeping the order
// of each hash's changes. It sorts positions with the position as a
// tie-break, several times faster than a stable sort of the changes, and
// keeps its buffers for the next write.
type changeSorter struct {
	items []sortItem
	buf   []store.MembershipChange
}

type sortItem struct {
	hash string
	pos  int
}

func (cs *changeSorter) sort(changes []store.MembershipChange) {
	if slices.IsSortedFunc(changes, func(a, b store.MembershipChange) int {
		return strings.Compare(a.ContextHash, b.ContextHash)
	}) {
		return
	}
	cs.items = cs.items[:0]
	for i, c := range changes {
		cs.items = append(cs.items, sortItem{c.ContextHash, i})
	}
	slices.SortFunc(cs.items, func(a, b sortItem) int {
		if c := strings.Compare(a.hash, b.hash); c != 0 {
			return c
		}
		return a.pos - b.pos
	})
	cs.buf = cs.buf[:0]
	for _, it := range cs.items {
		cs.buf = append(cs.buf, changes[it.pos])
	}
	copy(changes, cs.buf)
	// Let go of the changes' strings until the next write.
	clear(cs.items)
	clear(cs.buf)
}
