package bench

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Item 5: a Redis outage under load. Each client, on its own redis-server
// (started here, on a free loopback port) holding the benchmark dataset,
// with a 1 s cache TTL, is evaluated by 8 goroutines for outageHealthy,
// then the server is stopped for outageDown and started again on the same
// data, and the load goes on for outageRecover. Every evaluation asks for a
// default that differs from the flag's value, so a default served is
// visible. Reported: "evals", "defaults" (all phases), "defaults-%" and the
// latency quantiles of all evaluations.
// LaunchDarkly serves defaults once its cache entries expire; ours serves
// the last good values.

const (
	outageTTL        = time.Second
	outageHealthy    = time.Second
	outageDown       = 3 * time.Second
	outageRecover    = 2 * time.Second
	outageGoroutines = 8
	outagePause      = 200 * time.Microsecond // between one goroutine's evaluations
)

func BenchmarkOutage(b *testing.B) {
	cases, flags, segments := benchData()
	octx, lctx := caseContexts(b, cases)
	for _, side := range []string{"ours", "ld"} {
		b.Run(side, func(b *testing.B) {
			srv := startOwnRedis(b)
			url := srv.URL()
			st := openOurRedis(b, url, "outage")
			if err := st.Init(b.Context(), collections(b, flags, segments)); err != nil {
				b.Fatalf("writing dataset: %v", err)
			}
			st.Close()
			srv.save(b)

			// eval returns whether the value served was the flag's value
			// (true) or the default.
			var eval func(i int, def bool) bool
			if side == "ours" {
				c := newOurClient(b, url, "outage", ourSetup{ttl: outageTTL})
				eval = func(i int, def bool) bool {
					v, _ := c.BoolVariation(cases[i].flagKey, octx[i], def)
					return v != def
				}
			} else {
				c := newLDClient(b, url, "outage", ldSetup{ttl: outageTTL})
				eval = func(i int, def bool) bool {
					v, _ := c.BoolVariation(cases[i].flagKey, lctx[i], def)
					return v != def
				}
			}
			// The healthy value of each case; the default asked for is its
			// opposite.
			defs := make([]bool, len(cases))
			for i := range cases {
				if !eval(i, false) {
					defs[i] = true // the value is false
				}
				if !eval(i, defs[i]) {
					b.Fatalf("%s: the client serves the default while the store is healthy", cases[i].name)
				}
			}

			var evals, defaults atomic.Int64
			var stop atomic.Bool
			var wg sync.WaitGroup
			hists := make([]latencyHist, outageGoroutines)
			b.ResetTimer()
			for g := range outageGoroutines {
				wg.Add(1)
				go func(g int) {
					defer wg.Done()
					h := &hists[g]
					for i := g % len(cases); !stop.Load(); i = (i + 1) % len(cases) {
						t0 := time.Now()
						ok := eval(i, defs[i])
						h.add(time.Since(t0))
						if !ok {
							defaults.Add(1)
						}
						evals.Add(1)
						time.Sleep(outagePause)
					}
				}(g)
			}
			time.Sleep(outageHealthy)
			srv.kill()
			time.Sleep(outageDown)
			if err := srv.start(); err != nil {
				stop.Store(true)
				wg.Wait()
				b.Fatalf("restarting redis-server: %v", err)
			}
			time.Sleep(outageRecover)
			stop.Store(true)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(evals.Load()), "evals")
			b.ReportMetric(float64(defaults.Load()), "defaults")
			b.ReportMetric(100*float64(defaults.Load())/float64(max(evals.Load(), 1)), "defaults-%")
			var all latencyHist
			for i := range hists {
				all.merge(&hists[i])
			}
			reportLatencies(b, &all)
		})
	}
}
