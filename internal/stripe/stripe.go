// Package stripe spreads a counter that every evaluation adds to over
// several cache lines, so that goroutines on different processors do not
// write the same line: a line written by two processors in turn moves
// between their caches on every write, and a warm evaluation that costs
// 50 ns on one processor then costs more on two than on one.
//
// A goroutine's stripe is a hash of the address of its stack, which stays
// the same while the goroutine runs (a stack that grows, or that the garbage
// collector shrinks while its goroutine waits, moves, and the goroutine may
// change stripes then, which only changes which cell it adds to). Two
// goroutines running at the same time on different processors share a
// stripe only when their stacks hash alike; goroutines that take turns on
// one processor share its caches anyway. The Go runtime offers no processor
// index to user code, or this package would use that.
package stripe

import (
	"sync/atomic"
	"unsafe"
)

// Index returns the calling goroutine's stripe among n, which must be 1, 2,
// 4, 16 or 256. It inlines to a few instructions when n is a constant.
func Index(n int) int {
	var b byte
	return indexAt(uintptr(unsafe.Pointer(&b)), n)
}

// indexAt is Index for a goroutine whose stack holds address sp. Stacks are
// allocated in multiples of 2 KiB: it drops those bits and folds the rest
// onto log2(n) bits by exclusive or, so that stacks next to each other (the
// goroutines started one after the other) land on different stripes in most
// cases, carries aside.
func indexAt(sp uintptr, n int) int {
	x := uint64(sp>>11) ^ uint64(sp>>43)
	x ^= x >> 16
	x ^= x >> 8 // the low 8 bits hold the fold onto 8 bits
	switch n {
	case 16:
		x ^= x >> 4
	case 4:
		x ^= x >> 4
		x ^= x >> 2
	case 2:
		x ^= x >> 4
		x ^= x >> 2
		x ^= x >> 1
	}
	return int(x & uint64(n-1))
}

// Cells is the number of stripes of a Counter.
const Cells = 16

// Counter is a uint64 counter striped over Cells cells of 128 bytes each
// (two cache lines, the unit that processors' adjacent-line prefetchers
// fetch). Its zero value is zero and ready to use; it must not be copied
// after first use.
type Counter struct {
	cells [Cells]cell
}

type cell struct {
	n atomic.Uint64
	_ [120]byte
}

// Add adds d to the calling goroutine's cell and returns that cell's new
// value (not the counter's total: use it to act on one add in so many, as
// each cell counts its own adds).
func (c *Counter) Add(d uint64) uint64 {
	return c.cells[Index(Cells)].n.Add(d)
}

// Load returns the total: the sum of the cells, each read atomically (adds
// made while it sums may or may not be in it).
func (c *Counter) Load() uint64 {
	var t uint64
	for i := range c.cells {
		t += c.cells[i].n.Load()
	}
	return t
}
