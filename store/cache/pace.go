package cache

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/internal/nudge"
)

// When lookups saturate every processor (goroutines that call the cache and
// never block), the Go scheduler gives a goroutine that was woken by the
// network, came back from a system call or was preempted a processor only
// when it reaches the head of the global run queue: behind every busy
// goroutine, up to hundreds of milliseconds with 64 of them on 2 processors,
// as each runs its 10 ms time slice. A refresh-ahead read stuck there lets
// its entry expire and its value outlive the TTL. pacer rations what lookups
// do about it, by the clock reading each lookup already has and across all
// keys of the cache, so that only a small, bounded share of lookups pays:
//
//   - nudges: at most once per nudgeInterval, a lookup of an entry whose
//     refresh is in flight hands its processor to the store reads whose
//     reply has arrived (see the package nudge: the reader runs at once and
//     hands the processor back when it blocks again or ends, a few
//     microseconds for the lookup, without the reader waiting in any queue);
//   - overdue yields: while a refresh has been in flight for longer than
//     refreshOverdue (it waits in the run queue, after a system call or a
//     preemption), one lookup per overdueInterval of its entry yields the
//     processor, so the queue turns over within tens of milliseconds, as
//     long as overdueLookups hits came since the last yield of either kind
//     (so that yields stay under one lookup in 2,048 whatever the call
//     rate: with work between calls, at 650,000 calls a second, the overdue
//     yields alone made more slow calls than p99.9 allows);
//   - yields: one lookup per yieldLookups hits, and at most one per
//     yieldInterval, yields the processor, so the scheduler keeps turning
//     for the cache's other goroutines (notifications, status checks) and
//     the caller's, and no lookup is preempted for long at a time.
//
// A yield sends its caller to the back of the global run queue: that lookup
// takes as long as the queue takes to turn (milliseconds), so yields are the
// slow lookups of the tail; nudges cost microseconds. A yield is skipped
// when no goroutine waits for a processor (see othersRunnable): then it
// would hand nothing the processor and cost a thread wake-up (wakep), and
// tens of microseconds on a goroutine locked to its thread.
type pacer struct {
	nudgeAt   atomic.Int64 // cache clock: no nudge before
	overdueAt atomic.Int64 // cache clock: no overdue yield before
	yieldAt   atomic.Int64 // cache clock: no yield before
	// yieldHits is the cache's count of hits at its last yield of either
	// kind: an overdue yield waits for overdueLookups hits since, so that
	// yields stay a bounded share of lookups whatever the call rate.
	yieldHits atomic.Uint64
}

const (
	nudgeInterval   = 100_000   // ns
	refreshOverdue  = 2_000_000 // ns: a refresh's round trip is well under this
	overdueInterval = 250_000   // ns
	yieldInterval   = 500_000   // ns
	yieldLookups    = 4096      // hits per yield, at most (a power of two)
	overdueLookups  = 2048      // hits since the last yield before an overdue yield
)

// pace is called by a lookup at now of an entry in the last part of its
// life, or past it, while its refresh, begun at began, is in flight.
func (c *core) pace(now, began int64) {
	if nudge.Waiting() {
		if at := c.pacer.nudgeAt.Load(); now >= at && c.pacer.nudgeAt.CompareAndSwap(at, now+nudgeInterval) {
			nudge.Nudge()
		}
	}
	if began > 0 && now-began > refreshOverdue {
		if at := c.pacer.overdueAt.Load(); now >= at && c.pacer.overdueAt.CompareAndSwap(at, now+overdueInterval) {
			if h := c.hits(); h-c.pacer.yieldHits.Load() >= overdueLookups && runnable() {
				c.pacer.yieldHits.Store(h)
				gosched()
			}
		}
	}
}

// yieldDue is called by one hit in yieldLookups: it yields the processor
// unless another lookup did within yieldInterval.
func (c *core) yieldDue(now int64) {
	if at := c.pacer.yieldAt.Load(); now >= at && c.pacer.yieldAt.CompareAndSwap(at, now+yieldInterval) && runnable() {
		c.pacer.yieldHits.Store(c.hits())
		gosched()
	}
}

// hits is the cache's count of hits of both kinds (sixteen loads each).
func (c *core) hits() uint64 {
	return c.stats.kinds[0].hits.Load() + c.stats.kinds[1].hits.Load()
}

// gosched and runnable are runtime.Gosched and othersRunnable, replaced by
// tests that count yields.
var (
	gosched  = runtime.Gosched
	runnable = othersRunnable
)

// runq is othersRunnable's sample of the runtime's count of runnable
// goroutines (runtime/metrics, Go 1.26), read under its lock.
var runq struct {
	sync.Mutex
	s [1]metrics.Sample
}

// othersRunnable reports whether a goroutine waits in a run queue for a
// processor, so that a yield hands it one. Reading the count takes about
// 80 ns and the scheduler's lock, and it is read at most once per
// yieldInterval and overdueInterval. When the count cannot be read (a
// concurrent reader, a runtime without the metric) it answers true: the
// yield is kept.
func othersRunnable() bool {
	if !runq.TryLock() {
		return true
	}
	defer runq.Unlock()
	if runq.s[0].Name == "" {
		runq.s[0].Name = "/sched/goroutines/runnable:goroutines"
	}
	metrics.Read(runq.s[:])
	v := runq.s[0].Value
	return v.Kind() != metrics.KindUint64 || v.Uint64() > 0
}
