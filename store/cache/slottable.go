package cache

import "hash/maphash"

// slotTable is a slotMap's immutable snapshot: the Go map, for the rare
// operations (copies, iteration), and beside it an open-addressing index
// for warm lookups. In a mix of many keys each lookup is a chain of cache
// misses; a Go map lookup reads the group's control word, the group's key
// and value (the group is 200 bytes, several lines), the key's bytes and
// then the slot. The index holds the key's full hash next to the slot
// pointer, 16 bytes, four to a line, at most half full with linear probing:
// a lookup reads one line of it, compares the hash there, and then reads
// the slot, which it needs anyway and which holds the key for the final
// comparison (pointer-equal strings compare without reading their bytes).
type slotTable[T any] struct {
	m     map[string]*slot[T]
	index []indexEntry[T] // len a power of two, at least twice len(m); nil when m is empty
	mask  uint64
}

// indexEntry is one place of the index: hash is never 0 for a used place.
type indexEntry[T any] struct {
	hash uint64
	s    *slot[T]
}

// indexSeed is the index's hash seed (one per process, as for Go maps).
var indexSeed = maphash.MakeSeed()

// indexHash is key's hash in the index; 0 marks an empty place.
func indexHash(key string) uint64 {
	return maphash.String(indexSeed, key) | 1
}

// newSlotTable returns the snapshot of m, which it keeps and which must not
// be modified afterwards. Every slot in m must have its key set.
func newSlotTable[T any](m map[string]*slot[T]) *slotTable[T] {
	t := &slotTable[T]{m: m}
	if len(m) == 0 {
		return t
	}
	n := 8
	for n < 2*len(m) {
		n *= 2
	}
	t.index = make([]indexEntry[T], n)
	t.mask = uint64(n - 1)
	for key, s := range m {
		h := indexHash(key)
		i := h & t.mask
		for t.index[i].hash != 0 {
			i = (i + 1) & t.mask
		}
		t.index[i] = indexEntry[T]{hash: h, s: s}
	}
	return t
}

// find returns the slot for key, or nil. It makes no allocation.
func (t *slotTable[T]) find(key string) *slot[T] {
	if t == nil || t.index == nil {
		return nil
	}
	h := indexHash(key)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		e := &t.index[i]
		if e.hash == h && e.s.key == key {
			return e.s
		}
		if e.hash == 0 {
			return nil
		}
	}
}
