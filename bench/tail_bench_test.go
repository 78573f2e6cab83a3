package bench

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Tail latency under CPU saturation, with a no-SDK control (issue 17). 64
// goroutines that never block call BoolVariation on the 22 benchmark flags
// (Redis, 100 ms cache TTL, so entries expire and refresh all along) for
// tailDuration per op, and every call's latency goes into a histogram:
// p50, p99, p99.9 and the maximum (ns). The third side, "control", makes
// the same calls to a function of comparable trivial work that involves no
// SDK (an FNV hash of the flag key and the context JSON, about as long as a
// warm evaluation): what it shows is the Go scheduler's share of the tail,
// since 64 runnable goroutines on 2 cores wait up to tens of milliseconds
// each for a time slice and a call interrupted by preemption takes that
// long. Modes: "tight" calls without pause; "work" computes about
// tailWorkIters steps (a few microseconds) between calls, as a handler does
// around its flag evaluations. All three sides run one after the other in
// the same run, so they see the same machine.
func BenchmarkTail(b *testing.B) {
	url := redisURL(b)
	cases, flags, segments := benchData()
	prefix := writeRedisDataset(b, url, "tail", flags, segments)
	octx, lctx := caseContexts(b, cases)
	for _, mode := range []string{"tight", "work"} {
		work := 0
		if mode == "work" {
			work = tailWorkIters
		}
		for _, side := range []string{"ours", "ld", "control"} {
			b.Run(fmt.Sprintf("goroutines=%d/%s/%s", tailGoroutines, mode, side), func(b *testing.B) {
				var eval func(i int) uint64
				switch side {
				case "ours":
					c := newOurClient(b, url, prefix, ourSetup{ttl: ttlExpiryTTL})
					eval = func(i int) uint64 {
						v, _ := c.BoolVariation(cases[i].flagKey, octx[i], false)
						return b2u(v)
					}
				case "ld":
					c := newLDClient(b, url, prefix, ldSetup{ttl: ttlExpiryTTL})
					eval = func(i int) uint64 {
						v, _ := c.BoolVariation(cases[i].flagKey, lctx[i], false)
						return b2u(v)
					}
				default:
					eval = func(i int) uint64 { return controlWork(cases[i].flagKey, cases[i].context) }
				}
				for i := range cases {
					eval(i) // warm
				}
				var h latencyHist
				calls := 0
				b.ResetTimer()
				for range b.N {
					r := runTail(tailGoroutines, len(cases), work, tailDuration, eval)
					h.merge(&r.hist)
					calls += int(r.hist.n)
				}
				b.StopTimer()
				b.ReportMetric(0, "ns/op") // the op is a fixed duration
				reportLatencies(b, &h)
				b.ReportMetric(float64(calls)/(float64(b.N)*tailDuration.Seconds()), "calls/s")
			})
		}
	}
}

const (
	tailGoroutines = 64
	tailDuration   = time.Second
	// tailWorkIters steps of spinWork take a few microseconds (about 3 µs
	// on the 2-core development machine).
	tailWorkIters = 2048
)

// tailSink keeps the results of the calls and the work alive.
var tailSink atomic.Uint64

func b2u(v bool) uint64 {
	if v {
		return 1
	}
	return 0
}

// controlWork is the control's call: FNV-1a over the flag key and the
// context JSON, a few hundred bytes of trivial work and no SDK.
func controlWork(flagKey, context string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(flagKey); i++ {
		h = (h ^ uint64(flagKey[i])) * 1099511628211
	}
	for i := 0; i < len(context); i++ {
		h = (h ^ uint64(context[i])) * 1099511628211
	}
	return h
}

// spinWork is the callers' own work between calls: n dependent steps.
func spinWork(n int, x uint64) uint64 {
	for i := range n {
		x = x*6364136223846793005 + uint64(i)
	}
	return x
}

// runTail runs g goroutines calling eval on cases round robin for d, each
// computing work steps of spinWork between calls, and records every call's
// latency.
func runTail(g, ncases, work int, d time.Duration, eval func(caseIdx int) uint64) *loadResult {
	var wg sync.WaitGroup
	hists := make([]latencyHist, g)
	start := time.Now()
	stop := start.Add(d)
	for w := range g {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			h := &hists[w]
			c := w % ncases
			var acc uint64
			for {
				t0 := time.Now()
				acc += eval(c)
				t1 := time.Now()
				h.add(t1.Sub(t0))
				if t1.After(stop) {
					break
				}
				if c++; c == ncases {
					c = 0
				}
				if work > 0 {
					acc = spinWork(work, acc)
				}
			}
			tailSink.Add(acc)
		}(w)
	}
	wg.Wait()
	return loadResultOf(start, hists)
}

// BenchmarkSpinWork measures the callers' work between calls in
// BenchmarkTail (tailWorkIters steps), so the "work" mode's pause is known.
func BenchmarkSpinWork(b *testing.B) {
	var x uint64
	for b.Loop() {
		x = spinWork(tailWorkIters, x)
	}
	tailSink.Add(x)
}
