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

// Staleness under CPU saturation (issue 17): both clients use a 100 ms cache
// TTL on the same Redis dataset, in which a flag's value is its version,
// rewritten every 5 ms directly in Redis (no writer notification, so only
// the TTL refreshes either cache). g goroutines evaluate it without pause (4
// and 64 on the 2-core machine: the CPU is saturated) for one second per op;
// every 64th evaluation records how long the value it was served had been
// outdated (since the next version was stored; 0 for the newest). The TTL is
// a bound when max-stale-ms stays within 100 ms plus a round trip.
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
				stored := map[int]int64{} // version -> when its write returned
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
						if rc.HSet(ctx, prefix+":features", key, doc(v)).Err() == nil {
							wmu.Lock()
							stored[v] = time.Now().UnixNano()
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
				var ages []int64
				var evals atomic.Int64
				b.ResetTimer()
				for range b.N {
					stop := time.Now().Add(time.Second)
					var wg sync.WaitGroup
					for range g {
						wg.Add(1)
						go func() {
							defer wg.Done()
							var local []int64
							n := 0
							for {
								v := eval()
								n++
								if n%64 == 0 {
									now := time.Now()
									if now.After(stop) {
										break
									}
									if ver, err := strconv.Atoi(v); err == nil {
										age := int64(0)
										if since, ok := outdated(ver); ok {
											age = max(0, now.UnixNano()-since)
										}
										local = append(local, age)
									}
								}
							}
							evals.Add(int64(n))
							mu.Lock()
							ages = append(ages, local...)
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
				}
				b.ReportMetric(float64(evals.Load())/float64(b.N), "evals/s")
			})
		}
	}
}
