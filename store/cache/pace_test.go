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

// TestOverdueYieldBudget: an overdue refresh makes a lookup yield only once
// overdueLookups hits came since the last yield of either kind, and at most
// once per overdueInterval.
func TestOverdueYieldBudget(t *testing.T) {
	yields := 0
	defer func(g func(), r func() bool) { gosched, runnable = g, r }(gosched, runnable)
	gosched, runnable = func() { yields++ }, func() bool { return true }

	var c core
	now := int64(1e12)
	began := now - 2*refreshOverdue // in flight for twice refreshOverdue
	c.pace(now, began)
	if yields != 0 {
		t.Fatalf("yielded %d times with no hits since the last yield", yields)
	}
	for range overdueLookups - 1 {
		c.stats.kinds[0].hits.Add(1)
	}
	now += overdueInterval
	c.pace(now, began)
	if yields != 0 {
		t.Fatalf("yielded after %d hits, want none before %d", overdueLookups-1, overdueLookups)
	}
	c.stats.kinds[1].hits.Add(1) // segment hits count too
	c.pace(now, began)           // within the interval of the last call: no yield
	if yields != 0 {
		t.Fatalf("yielded twice within overdueInterval")
	}
	now += overdueInterval
	c.pace(now, began)
	if yields != 1 {
		t.Fatalf("yields = %d after %d hits and an interval, want 1", yields, overdueLookups)
	}
	now += overdueInterval
	c.pace(now, began) // the budget was spent
	if yields != 1 {
		t.Fatalf("yields = %d right after a yield, want still 1", yields)
	}
	// A due yield spends the budget too.
	for range overdueLookups {
		c.stats.kinds[0].hits.Add(1)
	}
	c.yieldDue(now)
	if yields != 2 {
		t.Fatalf("yields = %d after a due yield, want 2", yields)
	}
	now += overdueInterval
	c.pace(now, began)
	if yields != 2 {
		t.Fatalf("an overdue yield right after a due yield: yields = %d, want 2", yields)
	}
	// A refresh that is not overdue never yields.
	for range overdueLookups {
		c.stats.kinds[0].hits.Add(1)
	}
	now += overdueInterval
	c.pace(now, now-refreshOverdue/2)
	if yields != 2 {
		t.Fatalf("a refresh in flight for less than refreshOverdue made a lookup yield")
	}
}
