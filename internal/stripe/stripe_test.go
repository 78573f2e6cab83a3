package stripe

import (
	"sync"
	"testing"
	"unsafe"
)

// TestCounterTotal: adds from many goroutines at once all reach the total.
func TestCounterTotal(t *testing.T) {
	var c Counter
	const goroutines, adds = 64, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range adds {
				c.Add(1)
			}
		})
	}
	wg.Wait()
	if got := c.Load(); got != goroutines*adds {
		t.Fatalf("Load() = %d, want %d", got, goroutines*adds)
	}
}

// TestIndexSpreads: goroutines land on more than one stripe, each in range,
// and one goroutine keeps its stripe from call to call.
func TestIndexSpreads(t *testing.T) {
	seen := map[int]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			i := Index(Cells)
			if j := Index(Cells); j != i {
				t.Errorf("Index changed between two calls of one goroutine: %d, %d", i, j)
			}
			if i < 0 || i >= Cells {
				t.Errorf("Index(%d) = %d, out of range", Cells, i)
			}
			mu.Lock()
			seen[i] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(seen) < Cells/2 {
		t.Errorf("64 goroutines used %d of %d stripes, want at least %d", len(seen), Cells, Cells/2)
	}
}

// TestCellSize: each cell fills two cache lines.
func TestCellSize(t *testing.T) {
	if s := unsafe.Sizeof(cell{}); s != 128 {
		t.Errorf("cell is %d bytes, want 128", s)
	}
}

// TestAddReturnsCell: Add returns the count of the goroutine's own cell.
func TestAddReturnsCell(t *testing.T) {
	var c Counter
	for i := uint64(1); i <= 10; i++ {
		if got := c.Add(1); got != i {
			t.Fatalf("add %d returned %d", i, got)
		}
	}
}

// BenchmarkCounterAddParallel is the cost of an add from every processor
// at once; BenchmarkAtomicAddParallel is one shared atomic for comparison.
func BenchmarkCounterAddParallel(b *testing.B) {
	var c Counter
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Add(1)
		}
	})
}

func BenchmarkAtomicAddParallel(b *testing.B) {
	var c cell
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.n.Add(1)
		}
	})
}

// TestIndexNeighbours: of goroutines whose stacks lie next to each other
// (2, 4 and 8 KiB apart, as the runtime allocates them), most pairs get
// different stripes (at random, a quarter would share one of 4): for 4
// stripes and more.
func TestIndexNeighbours(t *testing.T) {
	for _, n := range []int{4, 16, 256} {
		for _, gap := range []uintptr{2 << 10, 4 << 10, 8 << 10} {
			same, pairs := 0, 0
			for base := uintptr(0xc000_000000); base < 0xc000_000000+4096*gap; base += gap {
				a, b := indexAt(base, n), indexAt(base+gap, n)
				if a < 0 || a >= n {
					t.Fatalf("indexAt(%#x, %d) = %d, out of range", base, n, a)
				}
				if a == b {
					same++
				}
				pairs++
			}
			if same*10 > pairs { // at most a tenth
				t.Errorf("n=%d, stacks %d KiB apart: %d of %d neighbouring pairs share a stripe", n, gap>>10, same, pairs)
			}
		}
	}
	if Index(1) != 0 {
		t.Errorf("Index(1) = %d, want 0", Index(1))
	}
}
