package model

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// keySet indexes a list of context keys (a target's or a segment's values)
// for membership tests. It is an open-addressing hash table with linear
// probing, at most two-thirds full, whose slots hold positions in the list
// rather than copies of the keys: 4 bytes a slot, so a 10-key list costs
// 64 bytes where a map[string]struct{} costs about 480. The zero keySet
// indexes nothing; lists of up to setThreshold keys have none and are
// scanned.
//
// A keySet is one pointer (every target holds one, most of them zero): p
// points at the table's length, a power of two, followed by the slots, each
// 1 + a key's index in the list or 0 for an empty slot.
type keySet struct {
	p *uint32
}

// slots returns the table's slots (nil for the zero keySet).
func (s keySet) slots() []uint32 {
	if s.p == nil {
		return nil
	}
	return unsafe.Slice(s.p, 1+*s.p)[1:]
}

// keySeed seeds the hashes of every keySet of the process.
var keySeed = maphash.MakeSeed()

// maxIndexed bounds the lists a keySet indexes, so that positions fit in a
// slot; longer lists (far beyond any real flag) are scanned.
const maxIndexed = 1 << 30

// newKeySet indexes list, or returns the zero keySet when list is short
// enough to scan.
func newKeySet(list []string) keySet {
	n := len(list)
	if n <= setThreshold || n > maxIndexed {
		return keySet{}
	}
	size := 1 << bits.Len(uint(n+n/2)) // a power of two above 1.5n
	table := make([]uint32, 1+size)
	table[0] = uint32(size)
	slots := table[1:]
	mask := uint64(size - 1)
	for i, k := range list {
		j := maphash.String(keySeed, k) & mask
		for slots[j] != 0 {
			if list[slots[j]-1] == k {
				break // a duplicate: the first one answers
			}
			j = (j + 1) & mask
		}
		if slots[j] == 0 {
			slots[j] = uint32(i + 1)
		}
	}
	return keySet{p: &table[0]}
}

// containsKey reports whether key is in list, through set when list has
// one.
func containsKey(set keySet, list []string, key string) bool {
	slots := set.slots()
	if slots == nil {
		for _, v := range list {
			if v == key {
				return true
			}
		}
		return false
	}
	mask := uint64(len(slots) - 1)
	for j := maphash.String(keySeed, key) & mask; ; j = (j + 1) & mask {
		p := slots[j]
		if p == 0 {
			return false
		}
		if i := int(p - 1); i < len(list) && list[i] == key {
			return true
		}
	}
}
