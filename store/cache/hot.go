package cache

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// hotEntry is a copy, in the slot itself, of what a hit needs from the
// slot's current entry: its value and when its refresh is due. In a mix of
// many keys every line a lookup reads is a cache miss, and they come one
// after the other (index, slot, entry, item); with the copy a hit reads the
// index and the slot only.
//
// The copy is guarded by a sequence count (a seqlock): odd while a writer
// updates it, so a reader that saw the same even count before and after
// reading the fields read a consistent pair. Every change of the slot's
// entry is followed by publish, which copies the entry current at that
// moment, so the copy always ends up as the slot's entry. Between the swap
// of the entry and its publish, a lookup still finds the entry before (as a
// lookup just before the swap would): the copy is never fresher than that
// entry, since it carries that entry's own refresh time, so the TTL bound
// holds as for the entry. An entry with an error, and a slot with no entry,
// have no usable copy: such lookups take the entry's path.
type hotEntry[T any] struct {
	seq       atomic.Uint64 // odd while publish writes
	refreshAt atomic.Int64  // the entry's refreshAt; 0 (never fresh) when there is no usable copy
	val       atomic.Value  // of type T: the entry's value
}

// slotKeyBuf is the room for a key's bytes inside its slot. It makes a
// slot 128 bytes, a size class of the allocator whose objects are 128-byte
// aligned, so that hot, the key's header and the first 16 bytes of the key
// share the slot's first cache line, and a key up to 40 bytes long is
// compared without reading another allocation.
const slotKeyBuf = 40

// newSlot returns a new slot for key, holding a copy of key in the slot
// itself when it fits.
func newSlot[T any](key string) *slot[T] {
	s := &slot[T]{key: key}
	if n := len(key); n > 0 && n <= slotKeyBuf {
		copy(s.keyBuf[:], key)
		s.key = unsafe.String(&s.keyBuf[0], n)
	}
	return s
}

// fresh returns the copied value when the entry is fresh at now (before its
// refresh is due).
func (h *hotEntry[T]) fresh(now int64) (v T, ok bool) {
	q := h.seq.Load()
	at := h.refreshAt.Load()
	x := h.val.Load()
	if q&1 != 0 || now >= at || h.seq.Load() != q {
		return v, false
	}
	v, _ = x.(T) // a "not found" entry's zero value is stored as a zero T
	return v, true
}

// publish copies the entry current in e. Writers are rare (one per store
// read that changes the entry) and short; one that finds another writing
// lets it finish.
func (h *hotEntry[T]) publish(e *atomic.Pointer[entry[T]]) {
	for {
		q := h.seq.Load()
		if q&1 == 0 && h.seq.CompareAndSwap(q, q+1) {
			break
		}
		runtime.Gosched()
	}
	if cur := e.Load(); cur != nil && cur.err == nil {
		h.val.Store(any(cur.val))
		h.refreshAt.Store(cur.refreshAt)
	} else {
		h.refreshAt.Store(0)
	}
	h.seq.Add(1)
}
