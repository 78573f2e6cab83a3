package bench

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/evalctx"
)

// stampedHSet sets one hash field and returns Redis's clock (Unix
// microseconds) at that moment.
const stampedHSet = `redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local t = redis.call('TIME')
return tonumber(t[1]) * 1000000 + tonumber(t[2])`

// Staleness under CPU saturation (issue 17): both clients use a 100 ms cache
// TTL on the same Redis dataset, in which a flag's value is its version,
// rewritten every 5 ms directly in Redis (no writer notification, so only
// the TTL refreshes either cache; writes/s says how many writes the writer,
// which competes for the processor too, managed). g goroutines evaluate it
// without pause (4 and 64 on the 2-core machine: the CPU is saturated) for
// one second per op; every 64th evaluation records how long the value it
// was served had been outdated (since Redis applied the next version, by
// Redis's clock on the same host; 0 for the newest). The TTL is
// a bound when max-stale-ms stays within 100 ms plus a round trip.
//
// The age is taken at the moment the sampled call began: both SDKs look up
// their cache entry first thing in the call, so that is when the value was
// served. With every goroutine always runnable, the Go scheduler can leave a
// goroutine off the CPU for hundreds of milliseconds between any two of its
// instructions (64 goroutines, 10 ms time slices, 2 cores), also between
// the cache handing out a value and the call returning; an age taken when
// the call returns counts that wait too, which is no property of the cache
// (a trace of our side showed 300 ms calls whose value was fresh when the
// call began). That age is reported as well (max-stale-at-return-ms), and
// slow-calls-% is the share of sampled calls that took over 1 ms (the
// scheduler's share; see BenchmarkTail for the latencies themselves).
func BenchmarkStaleness(b *testing.B) {
	url := redisURL(b)
	const key = "stamp"
	doc := func(v int) string {
		return fmt.Sprintf(`{"key":%q,"version":%d,"on":true,"variations":["%d"],"offVariation":0,"fallthrough":{"variation":0},"salt":"s"}`,
			key, v, v)
	}
	for _, g := range []int{4, 64} {
		for _, side := range []string{"ours", "ld"} {
			b.Run(fmt.Sprintf("goroutines=%d/%s", g, side), func(b *testing.B) {
				prefix := writeRedisDataset(b, url, "stale", map[string]string{key: doc(1)}, nil)
				opts, err := goredis.ParseURL(url)
				if err != nil {
					b.Fatal(err)
				}
				rc := goredis.NewClient(opts)
				defer rc.Close()
				ctx, cancel := context.WithCancel(context.Background())
				var wmu sync.Mutex
				stored := map[int]int64{} // version -> when Redis applied its write (Unix ns)
				writes := 0               // guarded by wmu
				outdated := func(v int) (since int64, ok bool) {
					wmu.Lock()
					defer wmu.Unlock()
					since, ok = stored[v+1]
					return since, ok
				}
				var writerDone sync.WaitGroup
				writerDone.Add(1)
				go func() { // the writer behind both caches' backs
					defer writerDone.Done()
					t := time.NewTicker(5 * time.Millisecond)
					defer t.Stop()
					for v := 2; ; v++ {
						select {
						case <-ctx.Done():
							return
						case <-t.C:
						}
						// A version counts as stored from the moment Redis
						// applied it, by Redis's clock (the same host's): the
						// reply can wait tens of milliseconds for this
						// goroutine to be scheduled again, and the request
						// for Redis to get the processor, on the saturated
						// machine, so neither end of the call says when the
						// caches could first read it.
						us, err := rc.Eval(ctx, stampedHSet, []string{prefix + ":features"}, key, doc(v)).Int64()
						if err == nil {
							wmu.Lock()
							stored[v] = us * 1000
							writes++
							wmu.Unlock()
						}
					}
				}()
				defer func() { cancel(); writerDone.Wait() }()

				var eval func() string
				if side == "ours" {
					c := newOurClient(b, url, prefix, ourSetup{ttl: ttlExpiryTTL})
					ec := evalctx.New("u")
					eval = func() string { v, _ := c.StringVariation(key, ec, ""); return v }
				} else {
					c := newLDClient(b, url, prefix, ldSetup{ttl: ttlExpiryTTL})
					_, lctx := mustContexts(b, `{"kind":"user","key":"u"}`)
					eval = func() string { v, _ := c.StringVariation(key, lctx, ""); return v }
				}
				eval()
				var mu sync.Mutex
				var ages, agesAtReturn []int64
				var evals, slow atomic.Int64
				wmu.Lock()
				writes0 := writes
				wmu.Unlock()
				b.ResetTimer()
				for range b.N {
					stop := time.Now().Add(time.Second)
					var wg sync.WaitGroup
					for range g {
						wg.Add(1)
						go func() {
							defer wg.Done()
							var local, localAtReturn []int64
							n := 0
							for {
								n++
								if n%64 != 0 {
									eval()
									continue
								}
								began := time.Now()
								v := eval()
								now := time.Now()
								if now.After(stop) {
									break
								}
								if now.Sub(began) > time.Millisecond {
									slow.Add(1)
								}
								if ver, err := strconv.Atoi(v); err == nil {
									age, atReturn := int64(0), int64(0)
									if since, ok := outdated(ver); ok {
										age = max(0, began.UnixNano()-since)
										atReturn = max(0, now.UnixNano()-since)
									}
									local = append(local, age)
									localAtReturn = append(localAtReturn, atReturn)
								}
							}
							evals.Add(int64(n))
							mu.Lock()
							ages = append(ages, local...)
							agesAtReturn = append(agesAtReturn, localAtReturn...)
							mu.Unlock()
						}()
					}
					wg.Wait()
				}
				b.StopTimer()
				b.ReportMetric(0, "ns/op") // the op is a fixed second
				slices.Sort(ages)
				if len(ages) > 0 {
					b.ReportMetric(float64(ages[len(ages)/2])/1e6, "p50-stale-ms")
					b.ReportMetric(float64(ages[len(ages)*99/100])/1e6, "p99-stale-ms")
					b.ReportMetric(float64(ages[len(ages)-1])/1e6, "max-stale-ms")
					b.ReportMetric(float64(slices.Max(agesAtReturn))/1e6, "max-stale-at-return-ms")
					b.ReportMetric(100*float64(slow.Load())/float64(len(ages)), "slow-calls-%")
				}
				b.ReportMetric(float64(evals.Load())/float64(b.N), "evals/s")
				// The writer needs the processor too: under saturation its
				// writes come less often than every 5 ms, and fewer versions
				// make the values served look less outdated (p50 above all).
				wmu.Lock()
				b.ReportMetric(float64(writes-writes0)/float64(b.N), "writes/s")
				wmu.Unlock()
			})
		}
	}
}
