package bench

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldlog"
	ldredis "github.com/launchdarkly/go-server-sdk-redis-redigo/v3"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoreimpl"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store"
)

// Item 4: cache misses and cold starts: the first evaluation of a flag, all
// flags' state over 1,000 flags cold and warm, and client start-up on a store
// of 10,000 flags. Item 8: heap held per cached flag after 10,000 flags were
// evaluated. All on the same Redis datasets for both clients.

// Datasets written once per test binary.
var (
	datasetsMu sync.Mutex
	datasets   = map[string]string{} // name -> prefix
)

// sharedDataset writes n typical flags to Redis once per test binary and
// returns the prefix and the sorted flag keys.
func sharedDataset(b *testing.B, url string, n int) (string, []string) {
	b.Helper()
	flags := manyFlags("flag", n)
	keys := slices.Sorted(maps.Keys(flags))
	name := fmt.Sprintf("%s|%d", url, n)
	datasetsMu.Lock()
	defer datasetsMu.Unlock()
	if p, ok := datasets[name]; ok {
		return p, keys
	}
	p := writeRedisDataset(b, url, fmt.Sprintf("flags%d", n), flags, nil)
	datasets[name] = p
	return p, keys
}

// BenchmarkFirstEvaluation is the first evaluation of each flag by a client
// (a cache miss: one store read, decoding, evaluation). A new client is made,
// untimed, every 10,000 evaluations, when every flag has been read. The
// flags have no prerequisites and no segments: one store read each.
// proc-cpu-ns is the CPU time of the whole process per evaluation (every
// thread: the client's background work and the garbage collector too,
// while the timer runs), which varies less than ns/op on a shared machine.
func BenchmarkFirstEvaluation(b *testing.B) {
	url := redisURL(b)
	prefix, keys := sharedDataset(b, url, 10000)
	oc, lc := mustContexts(b, benchUser)
	b.Run("ours", func(b *testing.B) {
		var c *client.Client
		closeFn := func() {}
		var cpu procCPUTimer
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%len(keys) == 0 {
				cpu.stop()
				b.StopTimer()
				closeFn()
				c, closeFn = openOurClient(b, url, prefix, ourSetup{})
				b.StartTimer()
				cpu.start()
			}
			boolSink, _ = c.BoolVariation(keys[i%len(keys)], oc, false)
		}
		cpu.stop()
		b.StopTimer()
		cpu.report(b)
		closeFn()
	})
	b.Run("ld", func(b *testing.B) {
		var cl *ld.LDClient
		var cpu procCPUTimer
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%len(keys) == 0 {
				cpu.stop()
				b.StopTimer()
				if cl != nil {
					cl.Close()
				}
				cl = openLDClient(b, url, prefix, ldSetup{})
				b.StartTimer()
				cpu.start()
			}
			boolSink, _ = cl.BoolVariation(keys[i%len(keys)], lc, false)
		}
		cpu.stop()
		b.StopTimer()
		cpu.report(b)
		if cl != nil {
			cl.Close()
		}
	})
}

// procCPUTimer adds up the process's CPU time between start and stop.
type procCPUTimer struct {
	total, from int64
	running, ok bool
}

func (t *procCPUTimer) start() {
	t.from, t.ok = processCPU()
	t.running = t.ok
}

func (t *procCPUTimer) stop() {
	if !t.running {
		return
	}
	now, ok := processCPU()
	t.running, t.ok = false, ok
	if ok {
		t.total += now - t.from
	}
}

// report reports the CPU time per iteration as proc-cpu-ns, when the
// process's CPU time could be read.
func (t *procCPUTimer) report(b *testing.B) {
	if t.ok && b.N > 0 {
		b.ReportMetric(float64(t.total)/float64(b.N), "proc-cpu-ns")
	}
}

// BenchmarkAllFlagsState evaluates all 1,000 flags for one context: cold (a
// new client, made untimed, each time) and warm (one client, caches full).
// proc-cpu-ns is the process's CPU time per call while the timer runs (see
// BenchmarkFirstEvaluation): cold, it includes the work of every goroutine
// a call keeps busy (ours decodes on up to GOMAXPROCS of them).
func BenchmarkAllFlagsState(b *testing.B) {
	url := redisURL(b)
	prefix, keys := sharedDataset(b, url, 1000)
	oc, lc := mustContexts(b, benchUser)
	bg := context.Background()

	// The two clients must agree on every value.
	{
		ours := newOurClient(b, url, prefix, ourSetup{})
		ldc := newLDClient(b, url, prefix, ldSetup{})
		ov := ours.AllFlagsState(bg, oc, client.AllFlagsOptions{}).Values()
		lv := ldc.AllFlagsState(lc).ToValuesMap()
		if len(ov) != len(keys) || len(lv) != len(keys) {
			b.Fatalf("AllFlagsState: ours has %d flags, LaunchDarkly %d, want %d", len(ov), len(lv), len(keys))
		}
		for k, v := range ov {
			if string(v.JSON()) != lv[k].JSONString() {
				b.Fatalf("AllFlagsState disagrees on %s: ours %s, LaunchDarkly %s", k, v.JSON(), lv[k].JSONString())
			}
		}
	}

	for _, temp := range []string{"cold", "warm"} {
		b.Run(temp, func(b *testing.B) {
			b.Run("ours", func(b *testing.B) {
				var cpu procCPUTimer
				b.ReportAllocs()
				if temp == "warm" {
					c := newOurClient(b, url, prefix, ourSetup{})
					c.AllFlagsState(bg, oc, client.AllFlagsOptions{})
					b.ResetTimer()
					cpu.start()
					for b.Loop() {
						c.AllFlagsState(bg, oc, client.AllFlagsOptions{})
					}
					cpu.stop()
					cpu.report(b)
					return
				}
				for b.Loop() {
					b.StopTimer()
					c, closeFn := openOurClient(b, url, prefix, ourSetup{})
					b.StartTimer()
					cpu.start()
					c.AllFlagsState(bg, oc, client.AllFlagsOptions{})
					cpu.stop()
					b.StopTimer()
					closeFn()
					b.StartTimer()
				}
				cpu.report(b)
			})
			b.Run("ld", func(b *testing.B) {
				var cpu procCPUTimer
				b.ReportAllocs()
				if temp == "warm" {
					c := newLDClient(b, url, prefix, ldSetup{})
					c.AllFlagsState(lc)
					b.ResetTimer()
					cpu.start()
					for b.Loop() {
						c.AllFlagsState(lc)
					}
					cpu.stop()
					cpu.report(b)
					return
				}
				for b.Loop() {
					b.StopTimer()
					c := openLDClient(b, url, prefix, ldSetup{})
					b.StartTimer()
					cpu.start()
					c.AllFlagsState(lc)
					cpu.stop()
					b.StopTimer()
					c.Close()
					b.StartTimer()
				}
				cpu.report(b)
			})
		})
	}
}

// BenchmarkStartup is client start-up until ready on a store of 10,000
// flags, "ready" as each SDK defines it in daemon mode: LaunchDarkly's
// MakeCustomClient returns once its data source is initialized, which in
// daemon mode (ExternalUpdatesOnly) is at once, without reading Redis; ours
// is ready when New returns (Initialized is true; see package client). Both
// include opening the store integration. Neither reads the store before it
// is ready; what it costs to have read it is BenchmarkStartupFirstEvaluation
// (both SDKs), and waiting for the store's "$inited" marker, which only ours
// offers, is BenchmarkStartupWaitForInitialization.
func BenchmarkStartup(b *testing.B) {
	url := redisURL(b)
	prefix, _ := sharedDataset(b, url, 10000)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, closeFn := openOurClient(b, url, prefix, ourSetup{})
			if !c.Initialized() {
				b.Fatal("client not initialized")
			}
			b.StopTimer()
			closeFn()
			b.StartTimer()
		}
	})
	b.Run("ld", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := openLDClient(b, url, prefix, ldSetup{})
			if !c.Initialized() {
				b.Fatal("LaunchDarkly client not initialized")
			}
			b.StopTimer()
			c.Close()
			b.StartTimer()
		}
	})
}

// BenchmarkStartupWaitForInitialization is our client's start-up until
// WaitForInitialization returns: New, then the store's answer that it holds a
// dataset (a connection and one round trip: its "$inited" marker, the
// writer's write mark and last-write time in one pipeline). LaunchDarkly's daemon-mode client
// has no such wait (its Initialized never reads the store), so this has no
// LaunchDarkly counterpart; it is outside the side-by-side tables.
func BenchmarkStartupWaitForInitialization(b *testing.B) {
	url := redisURL(b)
	prefix, _ := sharedDataset(b, url, 10000)
	b.ReportAllocs()
	for b.Loop() {
		c, closeFn := openOurClient(b, url, prefix, ourSetup{})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := c.WaitForInitialization(ctx)
		cancel()
		if err != nil {
			b.Fatalf("WaitForInitialization: %v", err)
		}
		b.StopTimer()
		closeFn()
		b.StartTimer()
	}
}

// heapInUse returns the live heap after garbage collection.
func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemory loads 10,000 flags into a client's cache (by evaluating
// each once, with a TTL long enough that nothing expires) and reports the
// heap the client holds per flag ("heap-B/flag"); ns/op is the time to load
// them all.
func BenchmarkMemory(b *testing.B) {
	url := redisURL(b)
	prefix, keys := sharedDataset(b, url, 10000)
	oc, lc := mustContexts(b, benchUser)
	for _, side := range []string{"ours", "ld"} {
		b.Run(side, func(b *testing.B) {
			var total float64
			for b.Loop() {
				b.StopTimer()
				before := heapInUse()
				b.StartTimer()
				var closeFn func()
				if side == "ours" {
					var c *client.Client
					c, closeFn = openOurClient(b, url, prefix, ourSetup{ttl: time.Hour})
					for _, k := range keys {
						boolSink, _ = c.BoolVariation(k, oc, false)
					}
				} else {
					c := openLDClient(b, url, prefix, ldSetup{ttl: time.Hour})
					for _, k := range keys {
						boolSink, _ = c.BoolVariation(k, lc, false)
					}
					closeFn = func() { c.Close() }
				}
				b.StopTimer()
				after := heapInUse()
				total += (float64(after) - float64(before)) / float64(len(keys))
				closeFn()
				b.StartTimer()
			}
			b.ReportMetric(total/float64(b.N), "heap-B/flag")
		})
	}
}

// BenchmarkStoreGet is one read of one flag from Redis by each SDK's store
// integration alone (no cache, no decoding into a flag): go-redis in
// stores/redis against LaunchDarkly's redigo store. It separates the
// store's share of BenchmarkFirstEvaluation from the cache's.
func BenchmarkStoreGet(b *testing.B) {
	url := redisURL(b)
	prefix, keys := sharedDataset(b, url, 10000)
	b.Run("ours", func(b *testing.B) {
		st := openOurRedis(b, url, prefix)
		defer st.Close()
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, ok, err := st.Get(ctx, store.Features, keys[i%len(keys)]); err != nil || !ok {
				b.Fatalf("Get: %v %v", ok, err)
			}
		}
	})
	b.Run("ld", func(b *testing.B) {
		cc := subsystems.BasicClientContext{Logging: subsystems.LoggingConfiguration{Loggers: ldlog.NewDisabledLoggers()}}
		st, err := ldredis.DataStore().URL(url).Prefix(prefix).Build(cc)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if it, err := st.Get(ldstoreimpl.Features(), keys[i%len(keys)]); err != nil || it.Version == -1 {
				b.Fatalf("Get: %v %v", it, err)
			}
		}
	})
}

// BenchmarkStartupFirstEvaluation is client start-up until the first good
// evaluation of a flag, on a store of 10,000 flags: what a service that
// evaluates at once waits for.
func BenchmarkStartupFirstEvaluation(b *testing.B) {
	url := redisURL(b)
	prefix, keys := sharedDataset(b, url, 10000)
	oc, lc := mustContexts(b, benchUser)
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, closeFn := openOurClient(b, url, prefix, ourSetup{})
			if _, err := c.BoolVariation(keys[0], oc, false); err != nil {
				b.Fatalf("first evaluation: %v", err)
			}
			b.StopTimer()
			closeFn()
			b.StartTimer()
		}
	})
	b.Run("ld", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := openLDClient(b, url, prefix, ldSetup{})
			if _, err := c.BoolVariation(keys[0], lc, false); err != nil {
				b.Fatalf("first evaluation: %v", err)
			}
			b.StopTimer()
			c.Close()
			b.StartTimer()
		}
	})
}
