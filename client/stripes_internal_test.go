package client

import (
	"sync"
	"testing"
	"unsafe"
)

// TestFlagCountersLayout: a flag's counters fill one 256-byte size class,
// so that each stripe is a cache line of its own.
func TestFlagCountersLayout(t *testing.T) {
	if s := unsafe.Sizeof(flagCounters{}); s != 256 {
		t.Errorf("flagCounters is %d bytes, want 256", s)
	}
	if s := unsafe.Sizeof(reasonCounts{}); s != 64 {
		t.Errorf("reasonCounts is %d bytes, want 64", s)
	}
}

// TestFlagCountersParallel: evaluations counted from many goroutines at
// once (on every stripe) all reach the snapshot.
func TestFlagCountersParallel(t *testing.T) {
	var fc flagCounters
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 500 {
				fc.add(1)
				fc.add(3)
			}
		})
	}
	wg.Wait()
	s := fc.snapshot("k")
	if s.ByReason[1] != 16000 || s.ByReason[3] != 16000 || s.Total() != 32000 {
		t.Errorf("snapshot = %+v, want 16000 in reasons 1 and 3", s)
	}
}
