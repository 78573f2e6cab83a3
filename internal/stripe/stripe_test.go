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

// TestIndexSpreads: goroutines alive at the same time (so on stacks of
// their own) land on more than one stripe, each in range, and one goroutine
// keeps its stripe from one call to the next. (Not across a wait: the
// garbage collector may move a waiting goroutine's stack to a smaller one,
// and the goroutine then changes stripes, which costs nothing but a line.)
func TestIndexSpreads(t *testing.T) {
	const goroutines = 64
	got := make([]int, goroutines)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(goroutines)
	for g := range goroutines {
		done.Go(func() {
			i, j := Index(Cells), Index(Cells)
			got[g] = i
			ready.Done()
			<-start // every goroutine is alive until all have their index
			if j != i {
				t.Errorf("Index changed between two calls of one goroutine: %d, %d", i, j)
			}
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	seen := map[int]bool{}
	for _, i := range got {
		if i < 0 || i >= Cells {
			t.Fatalf("Index(%d) = %d, out of range", Cells, i)
		}
		seen[i] = true
	}
	if len(seen) < Cells/2 {
		t.Errorf("%d goroutines alive at once used %d of %d stripes, want at least %d", goroutines, len(seen), Cells, Cells/2)
	}
}

// TestCellSize: each cell fills two cache lines.
func TestCellSize(t *testing.T) {
	if s := unsafe.Sizeof(cell{}); s != 128 {
		t.Errorf("cell is %d bytes, want 128", s)
	}
}

// TestAddReturnsCell: Add returns the new count of the cell it added to,
// not the total.
func TestAddReturnsCell(t *testing.T) {
	var c Counter
	c.cells[(Index(Cells)+1)%Cells].n.Store(1000) // another cell's count
	for range 10 {
		got := c.Add(1)
		found := false
		for k := range c.cells {
			found = found || c.cells[k].n.Load() == got
		}
		if !found || got >= 1000 {
			t.Fatalf("Add returned %d, which is not the count of the cell it added to", got)
		}
	}
	if c.Load() != 1010 {
		t.Fatalf("Load() = %d, want 1010", c.Load())
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
