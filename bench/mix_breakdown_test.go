package bench

import (
	"cmp"
	"os"
	"slices"
	"testing"
	"time"
)

// TestRandomMixBreakdown (DAEMONFLAG_MIX_BREAKDOWN=1; skipped otherwise)
// times each flag of BenchmarkRandomMix over all its contexts on both warm
// clients and lists the flags that cost the most, to find what makes the
// mix slower than one flag. It measures, it asserts nothing but that both
// clients evaluate.
func TestRandomMixBreakdown(t *testing.T) {
	if os.Getenv("DAEMONFLAG_MIX_BREAKDOWN") == "" {
		t.Skip("a profiling aid: set DAEMONFLAG_MIX_BREAKDOWN=1")
	}
	m := newMix(t)
	oc := newOurClient(t, m.url, m.prefix, ourSetup{})
	lc := newLDClient(t, m.url, m.prefix, ldSetup{})
	for _, k := range m.keys {
		oc.JSONVariation(k, m.octx[0], jsonNull)
		lc.JSONVariation(k, m.lctx[0], ldNull)
	}
	type cost struct {
		key      string
		ours, ld time.Duration
	}
	costs := make([]cost, len(m.keys))
	const reps = 5
	for i, k := range m.keys {
		costs[i] = cost{key: k, ours: time.Hour, ld: time.Hour}
		for range reps {
			start := time.Now()
			for _, c := range m.octx {
				oc.JSONVariation(k, c, jsonNull)
			}
			costs[i].ours = min(costs[i].ours, time.Since(start))
			start = time.Now()
			for _, c := range m.lctx {
				lc.JSONVariation(k, c, ldNull)
			}
			costs[i].ld = min(costs[i].ld, time.Since(start))
		}
	}
	var sumOurs, sumLD time.Duration
	for _, c := range costs {
		sumOurs += c.ours
		sumLD += c.ld
	}
	n := time.Duration(len(m.octx))
	t.Logf("mean per evaluation: ours %v, LaunchDarkly %v, ratio %.2f",
		sumOurs/time.Duration(len(costs))/n, sumLD/time.Duration(len(costs))/n, float64(sumOurs)/float64(sumLD))
	slices.SortFunc(costs, func(a, b cost) int { return cmp.Compare(b.ours, a.ours) })
	var cum time.Duration
	for i, c := range costs[:40] {
		cum += c.ours
		t.Logf("%2d %s ours %v LD %v ratio %.2f cum %.0f%%\n   %s", i, c.key, c.ours/n, c.ld/n,
			float64(c.ours)/float64(c.ld), 100*float64(cum)/float64(sumOurs), m.flags[c.key])
	}
}
