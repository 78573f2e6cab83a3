package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Big-segment storage (see the package doc, "Big segments").
//
// Memberships are stored in blocks: a value holds the memberships of a run
// of consecutive context hashes, and its key is the last of them. A block is
//
//	byte 0     encoding version, 2 (blockV2)
//	entries    each a uvarint-length-prefixed context hash followed by a
//	           uvarint-length-prefixed membership value, in strictly
//	           increasing hash order
//
// A value whose first byte is not 2 is one membership value stored under its
// own hash (format "1" files hold only those): a block of one entry.
//
// A membership value is a state (membershipV1: included and excluded refs)
// or, in a run, a delta (membershipDelta: refs added to and removed from
// each set). A state is a delta that removes nothing.
//
// The base bucket big_segments holds states. Bulk writes go to runs instead:
// buckets big_segments_runs/<sequence> of deltas, each written in one go in
// key order, which costs pages in proportion to the changes and not to the
// store. A membership is the base state with every run's delta applied in
// sequence order. A compaction folds the runs into a new base.
const (
	blockV2         = 2
	membershipDelta = 3
	// blockTarget is the size a block is filled to: two blocks and their
	// keys fill a 4 KB page. (Smaller blocks avoid nodes that overflow a
	// page, but cost more in bbolt's per-key work than they save.)
	blockTarget = 1900
)

// Run and compaction policy.
const (
	// runMin is the fewest membership changes that one write puts in a run
	// when there is none: smaller writes update the base in place, which
	// costs about a page per change. A run costs a page per ~60 changes,
	// plus a share of the compaction that folds it into the base.
	runMinDefault = 4096
	// maxRuns is the most runs a store keeps: each costs a lookup per
	// membership read, so a write that would make more compacts them into
	// the base, or merges them into one run (Store.wantsCompaction).
	maxRuns = 16
	// compactStep is how many bytes of memberships a compaction writes per
	// step (see txWriter.checkpoint).
	compactStep = 4 << 20
)

// runMin is runMinDefault; benchmarks set it higher to measure writes
// without runs.
var runMin = runMinDefault

// bytesOf views s as bytes without copying; the bytes must not be modified.
// bbolt copies the keys it stores, and values are only read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

var errBadBlock = errors.New("bad membership block")

// entryIter walks the entries of one value of a membership bucket, block
// or single membership, checking that hashes increase.
type entryIter struct {
	key    []byte // the value's key, which is the hash of a single membership
	b      []byte
	single bool
	prev   []byte
	err    error
}

func newEntryIter(k, v []byte) entryIter {
	if len(v) > 0 && v[0] == blockV2 {
		return entryIter{key: k, b: v[1:]}
	}
	return entryIter{key: k, b: v, single: true}
}

// next returns the next entry; ok is false at the end or on an error (err).
func (it *entryIter) next() (hash, val []byte, ok bool) {
	if it.err != nil {
		return nil, nil, false
	}
	if it.single {
		if it.b == nil {
			return nil, nil, false
		}
		val, it.b = it.b, nil
		return it.key, val, true
	}
	if len(it.b) == 0 {
		if it.prev == nil {
			it.err = fmt.Errorf("%w: %w: empty block", store.ErrMalformedItem, errBadBlock)
		} else if !bytes.Equal(it.prev, it.key) {
			it.err = fmt.Errorf("%w: %w: the last hash is not the block's key", store.ErrMalformedItem, errBadBlock)
		}
		return nil, nil, false
	}
	d := decoder{b: it.b}
	hash = d.bytes()
	val = d.bytes()
	switch {
	case d.err != nil:
		it.err = fmt.Errorf("%w: %w: %w", store.ErrMalformedItem, errBadBlock, d.err)
	case len(hash) == 0 || it.prev != nil && bytes.Compare(hash, it.prev) <= 0:
		it.err = fmt.Errorf("%w: %w: hashes out of order", store.ErrMalformedItem, errBadBlock)
	}
	if it.err != nil {
		return nil, nil, false
	}
	it.b, it.prev = d.b, hash
	return hash, val, true
}

// findMembership returns the membership value of hash in the membership
// bucket b (nil when there is none).
func findMembership(b *bbolt.Bucket, hash []byte) ([]byte, error) {
	k, v := b.Cursor().Seek(hash)
	if k == nil || v == nil {
		return nil, nil
	}
	it := newEntryIter(k, v)
	for {
		h, m, ok := it.next()
		if !ok {
			return nil, it.err
		}
		switch c := bytes.Compare(h, hash); {
		case c == 0:
			return m, nil
		case c > 0:
			return nil, nil
		}
	}
}

// Sets of a memberScratch.
const (
	incAdd = iota
	excAdd
	incRemove
	excRemove
)

// memberScratch holds one membership while values and changes are applied
// to it: the refs added to and removed from each set, sorted, as views into
// the values and the changes' strings. It is reused, so it does not
// allocate once grown.
type memberScratch struct {
	sets [4][][]byte
}

func (sc *memberScratch) reset() {
	for i := range sc.sets {
		sc.sets[i] = sc.sets[i][:0]
	}
}

// op adds ref to set (incAdd or excAdd), or removes it.
func (sc *memberScratch) op(set int, ref []byte, remove bool) {
	add, rem := &sc.sets[set], &sc.sets[set+2]
	if remove {
		add, rem = rem, add
	}
	if i, found := slices.BinarySearchFunc(*rem, ref, bytes.Compare); found {
		*rem = slices.Delete(*rem, i, i+1)
	}
	if i, found := slices.BinarySearchFunc(*add, ref, bytes.Compare); !found {
		*add = slices.Insert(*add, i, ref)
	}
}

// applyChanges applies membership changes in order.
func (sc *memberScratch) applyChanges(changes []store.MembershipChange) {
	for _, c := range changes {
		set := incAdd
		if c.Excluded {
			set = excAdd
		}
		sc.op(set, bytesOf(c.SegmentRef), c.Remove)
	}
}

// apply applies a membership value (a state or a delta). It reports false,
// having applied part of it, when v is malformed.
func (sc *memberScratch) apply(v []byte) bool {
	if len(v) == 0 || v[0] != membershipV1 && v[0] != membershipDelta {
		return false
	}
	d := decoder{b: v[1:]}
	sets := [4]int{incAdd, excAdd, incRemove, excRemove}
	n := 2
	if v[0] == membershipDelta {
		n = 4
	}
	for _, set := range sets[:n] {
		count := d.uvarint()
		if d.err != nil || count > uint64(len(d.b)) {
			return false
		}
		for range count {
			r := d.bytes()
			if d.err != nil {
				return false
			}
			if set < incRemove {
				sc.op(set, r, false)
			} else {
				sc.op(set-2, r, true)
			}
		}
	}
	return len(d.b) == 0
}

// empty reports whether the membership has no refs; with removals too, when
// delta is set.
func (sc *memberScratch) empty(delta bool) bool {
	n := len(sc.sets[incAdd]) + len(sc.sets[excAdd])
	if delta {
		n += len(sc.sets[incRemove]) + len(sc.sets[excRemove])
	}
	return n == 0
}

// encode appends the membership's value: a state, or with delta set a
// delta (a state when it removes nothing).
func (sc *memberScratch) encode(dst []byte, delta bool) []byte {
	n := 2
	if delta && len(sc.sets[incRemove])+len(sc.sets[excRemove]) > 0 {
		n = 4
		dst = append(dst, membershipDelta)
	} else {
		dst = append(dst, membershipV1)
	}
	for _, set := range sc.sets[:n] {
		dst = binary.AppendUvarint(dst, uint64(len(set)))
		for _, r := range set {
			dst = binary.AppendUvarint(dst, uint64(len(r)))
			dst = append(dst, r...)
		}
	}
	return dst
}

// membership returns the state as a store.Membership.
func (sc *memberScratch) membership() store.Membership {
	var m store.Membership
	for _, r := range sc.sets[incAdd] {
		m.Included = append(m.Included, string(r))
	}
	for _, r := range sc.sets[excAdd] {
		m.Excluded = append(m.Excluded, string(r))
	}
	return m
}

// chunkArena hands out byte slices that stay put until reset: bbolt keeps
// the values given to Put until the transaction commits. It keeps its
// chunks across writes.
type chunkArena struct {
	chunks [][]byte
	cur    int
}

const arenaChunk = 1 << 20

func (a *chunkArena) copy(b []byte) []byte {
	for a.cur < len(a.chunks) && cap(a.chunks[a.cur])-len(a.chunks[a.cur]) < len(b) {
		a.cur++
	}
	if a.cur == len(a.chunks) {
		a.chunks = append(a.chunks, make([]byte, 0, max(arenaChunk, len(b))))
	}
	c := a.chunks[a.cur]
	n := len(c)
	a.chunks[a.cur] = append(c, b...)
	return a.chunks[a.cur][n : n+len(b) : n+len(b)]
}

// reset makes every chunk free again, keeping at most keep bytes of them.
func (a *chunkArena) reset(keep int) {
	total := 0
	for i, c := range a.chunks {
		total += cap(c)
		if total > keep {
			clear(a.chunks[i:])
			a.chunks = a.chunks[:i]
			break
		}
		a.chunks[i] = c[:0]
	}
	a.cur = 0
}

// blockWriter cuts a sorted stream of entries into blocks. With a bucket it
// stores each block as it is cut (a new bucket filled in key order); without
// one it collects them in out.
type blockWriter struct {
	arena   *chunkArena
	bucket  *bbolt.Bucket
	cur     []byte // the block being filled
	last    []byte // its last hash
	n       int    // its entries
	entries uint64 // entries written in all
	out     []builtBlock
	err     error
}

type builtBlock struct{ key, val []byte }

// add appends an entry. hash must stay valid until the block is stored.
func (bw *blockWriter) add(hash, val []byte) {
	size := uvarintLen(len(hash)) + len(hash) + uvarintLen(len(val)) + len(val)
	if bw.n > 0 && len(bw.cur)+size > blockTarget {
		bw.flush()
	}
	if bw.n == 0 {
		bw.cur = append(bw.cur[:0], blockV2)
	}
	bw.cur = binary.AppendUvarint(bw.cur, uint64(len(hash)))
	bw.cur = append(bw.cur, hash...)
	bw.cur = binary.AppendUvarint(bw.cur, uint64(len(val)))
	bw.cur = append(bw.cur, val...)
	bw.last = hash
	bw.n++
	bw.entries++
}

func (bw *blockWriter) flush() {
	if bw.n == 0 {
		return
	}
	v := bw.arena.copy(bw.cur)
	bw.n = 0
	if bw.bucket == nil {
		bw.out = append(bw.out, builtBlock{key: bw.last, val: v})
		return
	}
	if bw.err == nil {
		bw.err = bw.bucket.Put(bw.last, v)
	}
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
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

// nextGroup returns the end of the group of changes to changes[i]'s hash.
func nextGroup(changes []store.MembershipChange, i int) int {
	j := i + 1
	for j < len(changes) && changes[j].ContextHash == changes[i].ContextHash {
		j++
	}
	return j
}

// flushMembership applies the membership changes collected in the
// transaction (sorted by hash, each hash's in order): with the transaction
// rebuilding the file, into a new base with the live file's base and runs
// (a compaction); when maxRuns runs exist, into one run with them (see
// Store.wantsCompaction, which chose not to compact); when a run exists or
// the changes are many, as a new run; otherwise into the base in place.
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
	switch n, _ := runStats(pb); {
	case n+1 > maxRuns:
		return w.mergeRuns(pb, changes)
	case n > 0 || len(changes) >= runMin:
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

// runStats returns the number of runs in the prefix bucket pb and the
// memberships they hold.
func runStats(pb *bbolt.Bucket) (n int, entries uint64) {
	runs := pb.Bucket(runsBucket)
	if runs == nil {
		return 0, 0
	}
	c := runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if rb := runs.Bucket(k); rb != nil {
			n++
			entries += rb.Sequence()
		}
	}
	return n, entries
}

// level iterates the entries of one membership bucket in hash order. A
// lenient level skips damaged blocks; otherwise it stops at one, with err.
type level struct {
	c       *bbolt.Cursor
	lenient bool
	it      entryIter
	hash    []byte
	val     []byte
	ok      bool
	err     error
}

// seek positions l at the first entry after after (the first entry when
// after is nil).
func (l *level) seek(after []byte) {
	var k, v []byte
	if after == nil {
		k, v = l.c.First()
	} else {
		k, v = l.c.Seek(after)
	}
	l.start(k, v)
	for l.ok && after != nil && bytes.Compare(l.hash, after) <= 0 {
		l.next()
	}
}

func (l *level) start(k, v []byte) {
	for {
		for k != nil && v == nil {
			k, v = l.c.Next() // nested buckets: none are written
		}
		if k == nil {
			l.ok = false
			return
		}
		l.it = newEntryIter(k, v)
		if l.hash, l.val, l.ok = l.it.next(); l.ok || !l.damaged() {
			return
		}
		k, v = l.c.Next()
	}
}

func (l *level) next() {
	if l.hash, l.val, l.ok = l.it.next(); l.ok {
		return
	}
	if !l.damaged() {
		l.start(l.c.Next())
	}
}

// damaged reports whether the iteration of the current block stopped at
// damage that ends the level's iteration (in a lenient level, none does).
func (l *level) damaged() bool {
	if l.it.err == nil || l.lenient {
		return false
	}
	l.err = fmt.Errorf("block %q: %w", l.it.key, l.it.err)
	return true
}

// levels returns iterators over the base and the runs of the prefix bucket
// pb, oldest first, positioned after after.
func levels(pb *bbolt.Bucket, after []byte, lenient bool) []*level {
	var ls []*level
	if pb == nil {
		return nil
	}
	if b := pb.Bucket(bigSegmentsBucket); b != nil {
		ls = append(ls, &level{c: b.Cursor(), lenient: lenient})
	}
	if runs := pb.Bucket(runsBucket); runs != nil {
		c := runs.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v != nil {
				continue
			}
			if rb := runs.Bucket(k); rb != nil {
				ls = append(ls, &level{c: rb.Cursor(), lenient: lenient})
			}
		}
	}
	for _, l := range ls {
		l.seek(after)
	}
	return ls
}

// merge calls fn with each context hash that any level holds, in order,
// after applying every level's value of it to sc (reset before each), until
// fn returns false or an error. A damaged block is an error, unless the
// levels are lenient; so is a malformed value, unless lenient is set, when
// it is skipped.
func merge(ls []*level, sc *memberScratch, lenient bool, fn func(hash []byte) (bool, error)) error {
	for {
		var low []byte
		for _, l := range ls {
			if l.err != nil {
				return l.err
			}
			if l.ok && (low == nil || bytes.Compare(l.hash, low) < 0) {
				low = l.hash
			}
		}
		if low == nil {
			return nil
		}
		sc.reset()
		for _, l := range ls {
			if l.ok && bytes.Equal(l.hash, low) {
				if !sc.apply(l.val) && !lenient {
					return fmt.Errorf("%q: %w: %w", low, store.ErrMalformedItem, errBadMembership)
				}
				l.next()
			}
		}
		if more, err := fn(low); err != nil || !more {
			return err
		}
	}
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

// mergeRuns replaces the runs of the prefix bucket pb by one run that holds
// their changes and then changes: it keeps the number of runs down between
// compactions, for a fraction of a compaction's cost.
func (w *txWriter) mergeRuns(pb *bbolt.Bucket, changes []store.MembershipChange) error {
	runs := pb.Bucket(runsBucket)
	var names [][]byte
	var ls []*level
	c := runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if rb := runs.Bucket(k); rb != nil {
			names = append(names, slices.Clone(k))
			l := &level{c: rb.Cursor(), lenient: true}
			l.seek(nil)
			ls = append(ls, l)
		}
	}
	var seq uint64
	if len(names) > 0 {
		seq = binary.BigEndian.Uint64(names[len(names)-1])
	}
	name := u64(seq + 1)
	rb, err := runs.CreateBucket(name)
	if err != nil {
		return err
	}
	rb.FillPercent = 1
	bw := &blockWriter{arena: w.arena, bucket: rb}
	var val []byte
	err = fold(ls, changes, func(hash []byte, sc *memberScratch) error {
		if !sc.empty(true) {
			val = sc.encode(val[:0], true)
			bw.add(hash, val)
		}
		return bw.err
	})
	if err != nil {
		return err
	}
	bw.flush()
	if bw.err != nil {
		return bw.err
	}
	if err := rb.SetSequence(bw.entries); err != nil {
		return err
	}
	w.record(w.runsPath, name)
	for _, n := range names {
		if err := runs.DeleteBucket(n); err != nil {
			return err
		}
		w.record(w.runsPath, n)
	}
	return nil
}

// lookupMembership returns the membership of hash in the prefix bucket pb:
// the base's, with every run's changes applied.
func lookupMembership(pb *bbolt.Bucket, hash []byte) (store.Membership, error) {
	var base []byte
	if b := pb.Bucket(bigSegmentsBucket); b != nil {
		var err error
		if base, err = findMembership(b, hash); err != nil {
			return store.Membership{}, err
		}
	}
	runs := pb.Bucket(runsBucket)
	if runs == nil {
		if base == nil {
			return store.Membership{}, nil
		}
		return decodeMembership(base)
	}
	var sc memberScratch
	if base != nil && !sc.apply(base) {
		return store.Membership{}, fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
	}
	c := runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		rb := runs.Bucket(k)
		if v != nil || rb == nil {
			continue
		}
		d, err := findMembership(rb, hash)
		if err == nil && d != nil && !sc.apply(d) {
			err = fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
		}
		if err != nil {
			return store.Membership{}, fmt.Errorf("run %x: %w", k, err)
		}
	}
	return sc.membership(), nil
}
