package cache

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestOthersRunnable: with every processor taken by a goroutine that never
// blocks and one more waiting, othersRunnable sees the waiting goroutine;
// once they have stopped, it sees none (the test's own goroutine is
// running, not waiting), so a yield would be skipped.
func TestOthersRunnable(t *testing.T) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) + 2 {
		wg.Go(func() {
			for !stop.Load() {
			}
		})
	}
	eventually(t, "a runnable goroutine while the spinners outnumber the processors", othersRunnable)
	stop.Store(true)
	wg.Wait()
	eventually(t, "no runnable goroutine once the spinners stopped", func() bool { return !othersRunnable() })
}

// TestOthersRunnableBusyReader: a reader that finds the sample taken keeps
// the yield.
func TestOthersRunnableBusyReader(t *testing.T) {
	runq.Lock()
	defer runq.Unlock()
	if !othersRunnable() {
		t.Fatal("othersRunnable with the sample locked by another reader = false, want true (keep the yield)")
	}
}
