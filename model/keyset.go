package model

import (
	"hash/maphash"
	"math/bits"
	"unsafe"
)

// keySet indexes a list of context keys (a target's or a segment's values)
// for membership tests. It is an open-addressing hash table with linear
// probing, at most two-thirds full, whose slots hold positions in the list
// rather than copies of the keys: 2 bytes a slot for lists of fewer than
// 65,535 keys, 4 for longer ones, so a 10-key list costs 48 bytes where a
// map[string]struct{} costs about 480. The zero keySet indexes nothing;
// lists of up to setThreshold keys have none and are scanned.
//
// A keySet is one pointer (every target holds one, most of them zero): p
// points at a header word (the number of slots, a power of two, with
// wideSlots set for 4-byte slots) followed by the slots, each 1 + a key's
// index in the list or 0 for an empty slot.
type keySet struct {
	p *uint32
}

const (
	// wideSlots marks a table of 4-byte slots in the header word.
	wideSlots = 1 << 31
	// maxNarrow is the longest list whose positions fit 2-byte slots.
	maxNarrow = 1<<16 - 2
	// maxIndexed bounds the lists a keySet indexes, so that the number of
	// slots fits the header; longer lists (far beyond any real flag) are
	// scanned.
	maxIndexed = 1 << 29
)

// keySeed seeds the hashes of every keySet of the process.
var keySeed = maphash.MakeSeed()

// newKeySet indexes list, or returns the zero keySet when list is short
// enough to scan.
func newKeySet(list []string) keySet {
	n := len(list)
	if n <= setThreshold || n > maxIndexed {
		return keySet{}
	}
	size := 1 << bits.Len(uint(n+n/2)) // a power of two above 1.5n, at least 16
	if n <= maxNarrow {
		table := make([]uint32, 1+size/2)
		table[0] = uint32(size)
		fill(unsafe.Slice((*uint16)(unsafe.Pointer(&table[1])), size), list)
		return keySet{p: &table[0]}
	}
	table := make([]uint32, 1+size)
	table[0] = uint32(size) | wideSlots
	fill(table[1:], list)
	return keySet{p: &table[0]}
}

// fill puts list's positions into slots (which has room for all of them).
func fill[S uint16 | uint32](slots []S, list []string) {
	mask := uint64(len(slots) - 1)
	for i, k := range list {
		j := maphash.String(keySeed, k) & mask
		for slots[j] != 0 {
			if list[slots[j]-1] == k {
				break // a duplicate: the first one answers
			}
			j = (j + 1) & mask
		}
		if slots[j] == 0 {
			slots[j] = S(i + 1)
		}
	}
}

// size returns the number of slots (0 for the zero keySet).
func (s keySet) size() int {
	if s.p == nil {
		return 0
	}
	return int(*s.p &^ wideSlots)
}

// containsKey reports whether key is in list, through set when list has
// one.
func containsKey(set keySet, list []string, key string) bool {
	if set.p == nil {
		for _, v := range list {
			if v == key {
				return true
			}
		}
		return false
	}
	h := *set.p
	size := int(h &^ wideSlots)
	slots := unsafe.Add(unsafe.Pointer(set.p), 4)
	j := maphash.String(keySeed, key) & uint64(size-1)
	if h&wideSlots == 0 {
		return probe(unsafe.Slice((*uint16)(slots), size), j, list, key)
	}
	return probe(unsafe.Slice((*uint32)(slots), size), j, list, key)
}

// probe looks for key from slot j on.
func probe[S uint16 | uint32](slots []S, j uint64, list []string, key string) bool {
	mask := uint64(len(slots) - 1)
	for ; ; j = (j + 1) & mask {
		p := slots[j]
		if p == 0 {
			return false
		}
		if i := int(p - 1); i < len(list) && list[i] == key {
			return true
		}
	}
}
