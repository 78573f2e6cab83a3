// Package nudge hands a busy processor, now and then, to goroutines whose
// network reply has arrived but that the Go scheduler has not woken yet.
//
// When every processor (P) runs goroutines that never block, the Go runtime
// polls the network only from its monitor thread, at most every 10 ms, and
// puts the goroutines it finds ready at the back of the global run queue,
// behind every busy goroutine: a reply that took 50 µs to arrive reaches its
// reader tens of milliseconds later (64 runnable goroutines on 2 processors).
// A cache refreshing its entries in the background then refreshes them late.
//
// A connection wrapped by [Wrap] records when a reader waits in Read. [Nudge],
// called by a goroutine that holds a processor (a cache lookup), checks
// without blocking which waiting readers have bytes in the kernel's receive
// buffer and wakes each one by moving its read deadline into the past: the
// runtime readies a goroutine whose wait ends that way on the waker's own
// processor, next in line. The waker then blocks on a channel the reader
// signals once it has taken the wake-up, so the reader runs at once, reads its
// reply and gives the processor back as soon as it blocks again or ends. The
// reader's own deadline is restored before it reads again, and the early
// timeout is never returned from Read: the wrapped connection's user (go-redis,
// TLS on top of the wrapped TCP connection) sees an ordinary read.
//
// Where the readiness of a socket cannot be checked without blocking (systems
// other than Unix, connections without a file descriptor), Wrap returns the
// connection as it is and nothing changes.
package nudge

import (
	"sync"
	"sync/atomic"
)

// waiting is the set of wrapped connections with a reader in Read.
var waiting struct {
	mu    sync.Mutex
	conns []*Conn
	next  int // where the next Nudge starts, so no reader is always last
}

// nWaiting is len(waiting.conns), read without the lock.
var nWaiting atomic.Int32

// maxPerNudge bounds the readers one Nudge wakes, and so the time its caller
// spends on them.
const maxPerNudge = 8

// Waiting reports whether some reader waits on a wrapped connection. It is
// one atomic load.
func Waiting() bool { return nWaiting.Load() > 0 }

// Nudge wakes the readers waiting on wrapped connections whose reply has
// arrived (at most maxPerNudge of them), running each on the caller's
// processor until it blocks again or ends, and returns how many it woke. A
// reader whose reply has not arrived is left waiting: a Nudge that finds
// nothing costs a non-blocking system call per waiting reader. It makes no
// allocation.
func Nudge() int {
	if nWaiting.Load() == 0 {
		return 0
	}
	var cand [maxPerNudge]*Conn
	n := 0
	waiting.mu.Lock()
	if l := len(waiting.conns); l > 0 {
		start := waiting.next % l
		waiting.next = start + 1
		for i := 0; i < l && n < len(cand); i++ {
			cand[n] = waiting.conns[(start+i)%l]
			n++
		}
	}
	waiting.mu.Unlock()
	woke := 0
	for _, c := range cand[:n] {
		if c.nudge() {
			woke++
		}
	}
	return woke
}

func register(c *Conn) {
	waiting.mu.Lock()
	c.idx = len(waiting.conns)
	waiting.conns = append(waiting.conns, c)
	nWaiting.Store(int32(len(waiting.conns)))
	waiting.mu.Unlock()
}

func unregister(c *Conn) {
	waiting.mu.Lock()
	last := len(waiting.conns) - 1
	moved := waiting.conns[last]
	waiting.conns[c.idx] = moved
	moved.idx = c.idx
	waiting.conns[last] = nil
	waiting.conns = waiting.conns[:last]
	nWaiting.Store(int32(last))
	waiting.mu.Unlock()
}
