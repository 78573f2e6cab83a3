package bench

import (
	"math/bits"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Item 3: TTL expiry under load on real Redis. Both clients use a 100 ms
// cache TTL on the same Redis dataset and are evaluated by 64 goroutines
// (in bursts, see ttlBurst);
// each evaluation's latency goes into a histogram, and the benchmark reports
// p50, p99, p99.9 and the maximum (ns) and the store reads per second the
// client made. LaunchDarkly's cache makes an evaluation wait for Redis when
// its entry has expired; ours serves the expired entry while one background
// read refreshes it.

const (
	ttlExpiryTTL        = 100 * time.Millisecond
	ttlExpiryGoroutines = 64
	// Each goroutine makes ttlBurst evaluations, then sleeps ttlPause: about
	// a quarter of the machine's 2 cores in all, like a service whose
	// handlers do other work between flag evaluations.
	ttlBurst = 16
	ttlPause = time.Millisecond
)

// ttlGoroutines is ttlExpiryGoroutines, or DAEMONFLAG_TTL_GOROUTINES.
func ttlGoroutines() int {
	if n, err := strconv.Atoi(os.Getenv("DAEMONFLAG_TTL_GOROUTINES")); err == nil && n > 0 {
		return n
	}
	return ttlExpiryGoroutines
}

// latencyHist is a histogram of durations with logarithmic buckets (16 per
// power of two, so a quantile is within about 6% of the true value).
type latencyHist struct {
	counts [1024]uint64
	n      uint64
	max    int64
}

func histBucket(ns int64) int {
	if ns < 16 {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // ns >= 1<<e, e >= 4
	m := (ns >> (e - 4)) & 15
	return (e-3)*16 + int(m)
}

// bucketUpper is the largest duration in bucket i.
func bucketUpper(i int) int64 {
	if i < 16 {
		return int64(i)
	}
	e, m := i/16+3, int64(i%16)
	return ((16 + m + 1) << (e - 4)) - 1
}

func (h *latencyHist) add(d time.Duration) {
	ns := int64(d)
	h.counts[histBucket(ns)]++
	h.n++
	if ns > h.max {
		h.max = ns
	}
}

func (h *latencyHist) merge(o *latencyHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the upper bound of the bucket holding quantile q.
func (h *latencyHist) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen > rank {
			return float64(min(bucketUpper(i), h.max))
		}
	}
	return float64(h.max)
}

// reportLatencies reports the histogram's quantiles as benchmark metrics.
func reportLatencies(b *testing.B, h *latencyHist) {
	b.ReportMetric(h.quantile(0.5), "p50-ns")
	b.ReportMetric(h.quantile(0.99), "p99-ns")
	b.ReportMetric(h.quantile(0.999), "p99.9-ns")
	b.ReportMetric(float64(h.max), "max-ns")
}

// loadResult is what a load run measured.
type loadResult struct {
	hist    latencyHist
	elapsed time.Duration
}

// loadResultOf merges the goroutines' histograms of a load run that began
// at start and has just ended.
func loadResultOf(start time.Time, hists []latencyHist) *loadResult {
	r := &loadResult{elapsed: time.Since(start)}
	for i := range hists {
		r.hist.merge(&hists[i])
	}
	return r
}

// runLoad calls eval n times in total from g goroutines, goroutine i
// starting at case i, and records every call's latency. Each goroutine
// pauses for pause after every burst calls (no pause when pause is zero):
// with every goroutine always runnable, the Go scheduler's run queue (tens of
// milliseconds with 64 goroutines on 2 cores) would dominate the tail
// latencies of both SDKs.
func runLoad(n, g, ncases, burst int, pause time.Duration, eval func(caseIdx int)) *loadResult {
	var wg sync.WaitGroup
	hists := make([]latencyHist, g)
	start := time.Now()
	for w := range g {
		count := n / g
		if w < n%g {
			count++
		}
		wg.Add(1)
		go func(w, count int) {
			defer wg.Done()
			h := &hists[w]
			c := w % ncases
			for i := range count {
				t0 := time.Now()
				eval(c)
				h.add(time.Since(t0))
				if c++; c == ncases {
					c = 0
				}
				if pause > 0 && i%burst == burst-1 {
					time.Sleep(pause)
				}
			}
		}(w, count)
	}
	wg.Wait()
	return loadResultOf(start, hists)
}

func BenchmarkTTLExpiry(b *testing.B) {
	url := redisURL(b)
	cases, flags, segments := benchData()
	prefix := writeRedisDataset(b, url, "ttl", flags, segments)
	octx, lctx := caseContexts(b, cases)
	for _, side := range []string{"ours", "ld"} {
		b.Run(side, func(b *testing.B) {
			reads := new(atomic.Int64)
			var eval func(i int)
			if side == "ours" {
				c := newOurClient(b, url, prefix, ourSetup{ttl: ttlExpiryTTL, reads: reads})
				eval = func(i int) { _, _ = c.BoolVariation(cases[i].flagKey, octx[i], false) }
			} else {
				c := newLDClient(b, url, prefix, ldSetup{ttl: ttlExpiryTTL, reads: reads})
				eval = func(i int) { _, _ = c.BoolVariation(cases[i].flagKey, lctx[i], false) }
			}
			for i := range cases {
				eval(i) // warm
			}
			reads0 := reads.Load()
			b.ResetTimer()
			r := runLoad(b.N, ttlGoroutines(), len(cases), ttlBurst, ttlPause, eval)
			b.StopTimer()
			// ns/op would be the pacing, not the SDK: see BenchmarkClientEval.
			b.ReportMetric(0, "ns/op")
			reportLatencies(b, &r.hist)
			b.ReportMetric(float64(reads.Load()-reads0)/r.elapsed.Seconds(), "store-reads/s")
		})
	}
}
