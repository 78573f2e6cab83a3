package bench

import (
	"fmt"
	"math/rand/v2"
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
// evaluations per second of one goroutine.
func BenchmarkRandomMix(b *testing.B) {
	url := redisURL(b)
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
	var octx []evalctx.Context
	var lctx []ldcontext.Context
	for len(octx) < nContexts {
		oc, lc, oerr, lerr := parseContexts(mustJSON(g.context()))
		if oerr == nil && lerr == nil {
			octx, lctx = append(octx, oc), append(lctx, lc)
		}
	}
	prefix := writeRedisDataset(b, url, "mix", flags, segments)
	keys := g.flagKeys[1:]
	const nPairs = 1 << 16
	r := rand.New(rand.NewPCG(1, 2))
	pf, pc := make([]int, nPairs), make([]int, nPairs)
	for i := range nPairs {
		pf[i], pc[i] = r.IntN(nFlags), r.IntN(nContexts)
	}
	b.Run("ours", func(b *testing.B) {
		c := newOurClient(b, url, prefix, ourSetup{})
		for _, k := range keys {
			c.JSONVariation(k, octx[0], jsonNull)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.JSONVariation(keys[pf[i&(nPairs-1)]], octx[pc[i&(nPairs-1)]], jsonNull)
			i++
		}
	})
	b.Run("ld", func(b *testing.B) {
		c := newLDClient(b, url, prefix, ldSetup{})
		for _, k := range keys {
			c.JSONVariation(k, lctx[0], ldNull)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.JSONVariation(keys[pf[i&(nPairs-1)]], lctx[pc[i&(nPairs-1)]], ldNull)
			i++
		}
	})
}
