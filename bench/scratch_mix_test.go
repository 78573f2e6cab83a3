package bench

import (
	"context"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
)

type countingData struct {
	d      *ourData
	nf, ns int
}

func (c *countingData) Flag(ctx context.Context, key string) *model.Flag {
	c.nf++
	return c.d.Flag(ctx, key)
}
func (c *countingData) Segment(ctx context.Context, key string) *model.Segment {
	c.ns++
	return c.d.Segment(ctx, key)
}

func BenchmarkScratchMix(b *testing.B) {
	m := newMix(b)
	var fdocs, sdocs [][]byte
	for _, v := range m.flags {
		fdocs = append(fdocs, []byte(v))
	}
	s := newSides(fdocs, sdocs, nil)
	_ = s
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pf, pc := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pf[i], pc[i] = r.IntN(len(m.keys)), r.IntN(len(m.octx))
	}
	b.Run("nostats", func(b *testing.B) {
		st := openOurRedis(b, m.url, m.prefix)
		c, err := client.New(client.Config{Store: st, Logger: quietLogger, Stats: client.StatsConfig{Disabled: true}, Cache: cache.Options{}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for _, k := range m.keys {
			c.JSONVariation(k, m.octx[0], jsonNull)
		}
		b.ReportAllocs()
		cpuLoop(b, func(i int) {
			c.JSONVariation(m.keys[pf[i&(nPairs-1)]], m.octx[pc[i&(nPairs-1)]], jsonNull)
		})
	})
	b.Run("ld", func(b *testing.B) {
		c := newLDClient(b, m.url, m.prefix, ldSetup{})
		for _, k := range m.keys {
			c.JSONVariation(k, m.lctx[0], ldNull)
		}
		b.ReportAllocs()
		cpuLoop(b, func(i int) {
			c.JSONVariation(m.keys[pf[i&(nPairs-1)]], m.lctx[pc[i&(nPairs-1)]], ldNull)
		})
	})
	b.Run("ours", func(b *testing.B) {
		c := newOurClient(b, m.url, m.prefix, ourSetup{})
		for _, k := range m.keys {
			c.JSONVariation(k, m.octx[0], jsonNull)
		}
		b.ReportAllocs()
		cpuLoop(b, func(i int) {
			c.JSONVariation(m.keys[pf[i&(nPairs-1)]], m.octx[pc[i&(nPairs-1)]], jsonNull)
		})
	})
}

func BenchmarkScratchBare(b *testing.B) {
	m := newMix(b)
	var fdocs, sdocs [][]byte
	for _, v := range m.flags {
		fdocs = append(fdocs, []byte(v))
	}
	for _, v := range m.segments {
		sdocs = append(sdocs, []byte(v))
	}
	s := newSides(fdocs, sdocs, nil)
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pf, pc := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pf[i], pc[i] = r.IntN(len(m.keys)), r.IntN(len(m.octx))
	}
	cd := &countingData{d: s.ours}
	ev := evaluation.New(cd, nil)
	for i := range nPairs {
		ev.Evaluate(context.Background(), s.ours.flags[m.keys[pf[i]]], m.octx[pc[i]])
	}
	b.Logf("per eval: %.2f flags, %.2f segments", float64(cd.nf)/nPairs, float64(cd.ns)/nPairs)
	ourFlags := make([]*model.Flag, len(m.keys))
	ldFlags := make([]*ldmodel.FeatureFlag, len(m.keys))
	for i, k := range m.keys {
		ourFlags[i], ldFlags[i] = s.ours.flags[k], s.ld.flags[k]
	}
	b.Run("ours", func(b *testing.B) {
		cpuLoop(b, func(i int) {
			f := ourFlags[pf[i&(nPairs-1)]]
			if f != nil {
				s.ourEv.Evaluate(context.Background(), f, m.octx[pc[i&(nPairs-1)]])
			}
		})
	})
	b.Run("ld", func(b *testing.B) {
		cpuLoop(b, func(i int) {
			f := ldFlags[pf[i&(nPairs-1)]]
			if f != nil {
				s.ldEv.Evaluate(f, m.lctx[pc[i&(nPairs-1)]], nil)
			}
		})
	})
}

func threadCPU() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// cpuLoop runs fn b.N times on a locked thread and reports CPU ns/op.
func cpuLoop(b *testing.B, fn func(i int)) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ResetTimer()
	start := threadCPU()
	for i := 0; i < b.N; i++ {
		fn(i)
	}
	b.ReportMetric(float64(threadCPU()-start)/float64(b.N), "cpu-ns/op")
}

var valSink int

func BenchmarkScratchGetValue(b *testing.B) {
	m := newMix(b)
	names := []string{"email", "country", "age", "score", "joined", "version", "groups", "tags", "meta", "flagged", "nothing", "nullish", "a/b"}
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pc, pn := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pc[i], pn[i] = r.IntN(len(m.octx)), r.IntN(len(names))
	}
	b.Run("get", func(b *testing.B) {
		cpuLoop(b, func(i int) {
			c, _ := m.octx[pc[i&(nPairs-1)]].IndividualContextByKind("user")
			if _, ok := c.GetValue(names[pn[i&(nPairs-1)]]); ok {
				valSink++
			}
		})
	})
}

func BenchmarkScratchKind(b *testing.B) {
	m := newMix(b)
	kinds := []evalctx.Kind{"user", "org", "device", "missingkind"}
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pc, pn := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pc[i], pn[i] = r.IntN(len(m.octx)), r.IntN(len(kinds))
	}
	b.Run("kind", func(b *testing.B) {
		cpuLoop(b, func(i int) {
			if _, ok := m.octx[pc[i&(nPairs-1)]].IndividualContextByKind(kinds[pn[i&(nPairs-1)]]); ok {
				valSink++
			}
		})
	})
}
