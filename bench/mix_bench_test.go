package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

var (
	jsonNull = jsonvalue.Null()
	ldNull   = ldvalue.Null()
)

// BenchmarkRandomMix (issue 17): 1,000 random flags (every operator, rules,
// rollouts, prerequisites, segments; the differential test's generator) and
// 1,000 random contexts, both clients warm on the same Redis dataset; each op
// evaluates a pseudo-random (flag, context) pair. ns/op is the inverse of the
// evaluations per second of one goroutine; cpu-ns is the CPU time of the
// benchmark's thread per evaluation, which the other processes of a shared
// machine disturb less than the elapsed time (they still share its caches).
func BenchmarkRandomMix(b *testing.B) {
	m := newMix(b)
	keys, octx, lctx, url, prefix := m.keys, m.octx, m.lctx, m.url, m.prefix
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pf, pc := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pf[i], pc[i] = r.IntN(len(keys)), r.IntN(len(octx))
	}
	b.Run("ours", func(b *testing.B) {
		c := newOurClient(b, url, prefix, ourSetup{})
		for _, k := range keys {
			c.JSONVariation(k, octx[0], jsonNull)
		}
		b.ReportAllocs()
		cpu := startThreadCPU()
		i := 0
		for b.Loop() {
			c.JSONVariation(keys[pf[i&(nPairs-1)]], octx[pc[i&(nPairs-1)]], jsonNull)
			i++
		}
		cpu.report(b, i)
	})
	b.Run("ld", func(b *testing.B) {
		c := newLDClient(b, url, prefix, ldSetup{})
		for _, k := range keys {
			c.JSONVariation(k, lctx[0], ldNull)
		}
		b.ReportAllocs()
		cpu := startThreadCPU()
		i := 0
		for b.Loop() {
			c.JSONVariation(keys[pf[i&(nPairs-1)]], lctx[pc[i&(nPairs-1)]], ldNull)
			i++
		}
		cpu.report(b, i)
	})
}

// mix is the random mix's dataset, written to Redis: flag keys (the
// flags' JSON in flags) and contexts parsed by both SDKs.
type mix struct {
	url, prefix string
	keys        []string
	flags       map[string]string
	segments    map[string]string
	octx        []evalctx.Context
	lctx        []ldcontext.Context
}

// newMix builds the random mix of BenchmarkRandomMix (always the same one)
// and writes it to Redis under a new prefix.
func newMix(tb testing.TB) *mix {
	tb.Helper()
	url := redisURL(tb)
	g := newGen(17)
	const nFlags, nSegs, nContexts = 1000, 50, 1000
	g.flagKeys = []string{"missing-flag"}
	for i := range nFlags {
		g.flagKeys = append(g.flagKeys, fmt.Sprintf("mix-%04d", i))
	}
	g.segKeys = []string{"missing-segment"}
	for i := range nSegs {
		g.segKeys = append(g.segKeys, fmt.Sprintf("mixseg-%02d", i))
	}
	flags, segments := map[string]string{}, map[string]string{}
	g.nestedSegKeys = g.segKeys
	for i := range nFlags {
		g.prereqKeys = g.laterKeys(g.flagKeys, i+1)
		flags[g.flagKeys[i+1]] = string(mustJSON(g.flag(g.flagKeys[i+1])))
	}
	for i := range nSegs {
		g.nestedSegKeys = g.laterKeys(g.segKeys, i+1)
		segments[g.segKeys[i+1]] = string(mustJSON(g.segment(g.segKeys[i+1])))
	}
	m := &mix{url: url, keys: g.flagKeys[1:], flags: flags, segments: segments}
	for len(m.octx) < nContexts {
		oc, lc, oerr, lerr := parseContexts(mustJSON(g.context()))
		if oerr == nil && lerr == nil {
			m.octx, m.lctx = append(m.octx, oc), append(m.lctx, lc)
		}
	}
	m.prefix = writeRedisDataset(tb, url, "mix", flags, segments)
	return m
}

// threadCPUTimer measures the CPU time of the benchmark loop's OS thread.
type threadCPUTimer struct {
	start int64
	ok    bool
}

// startThreadCPU locks the goroutine to its thread (until report) and reads
// the thread's CPU time.
func startThreadCPU() threadCPUTimer {
	runtime.LockOSThread()
	t, ok := threadCPU()
	return threadCPUTimer{start: t, ok: ok}
}

// report unlocks the thread and reports the CPU time per iteration as
// cpu-ns, when the thread's CPU time can be read.
func (t threadCPUTimer) report(b *testing.B, iterations int) {
	defer runtime.UnlockOSThread()
	end, ok := threadCPU()
	if t.ok && ok && iterations > 0 {
		b.ReportMetric(float64(end-t.start)/float64(iterations), "cpu-ns")
	}
}
