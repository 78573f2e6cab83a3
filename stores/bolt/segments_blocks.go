package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
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
	// the base (Store.wantsCompaction).
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
