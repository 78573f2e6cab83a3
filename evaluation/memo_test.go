package evaluation_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
)

// EvaluateMemo gives exactly Evaluate's results, in any order of
// evaluation, on random prerequisite graphs with diamonds, cycles, off
// flags, targets, segments and chains deeper than the nesting limit.
func TestMemoMatchesEvaluate(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 7))
		d := newTestData()
		const n = 60
		for i := range n {
			var pre []string
			for range rng.IntN(4) {
				pre = append(pre, prereq(fmt.Sprintf("r%d", rng.IntN(n)), rng.IntN(2)))
			}
			doc := fmt.Sprintf(`{"key":"r%d","on":%v,"variations":[false,true],"offVariation":0,
				"fallthrough":{"variation":%d},"targets":[{"variation":0,"values":["user-b"]}],
				"rules":[{"id":"x","variation":1,"clauses":[{"op":"segmentMatch","values":["s%d"]}]}],
				"prerequisites":[%s]}`, i, rng.IntN(5) > 0, rng.IntN(2), rng.IntN(3), strings.Join(pre, ","))
			d.flag(t, doc)
		}
		d.segment(t, `{"key":"s0","included":["user-a"]}`)
		d.segment(t, `{"key":"s1","rules":[{"clauses":[{"op":"segmentMatch","values":["s1"]}]}]}`) // a cycle
		// Once, a chain longer than the nesting limit.
		deep := 0
		if seed == 0 {
			deep = 1010
		}
		for i := 0; i < deep; i++ {
			if i == 0 {
				d.flag(t, boolFlag("deep0", true))
				continue
			}
			d.flag(t, boolFlag(fmt.Sprintf("deep%d", i), true, prereq(fmt.Sprintf("deep%d", i-1), 1)))
		}
		keys := make([]string, 0, len(d.flags))
		for k := range d.flags {
			keys = append(keys, k)
		}
		ev := evaluation.New(d, nil)
		for _, user := range []string{`{"key":"user-a"}`, `{"key":"user-b"}`} {
			c := ctx(t, user)
			rng.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
			memo := evaluation.NewMemo(c)
			for _, k := range keys {
				want := ev.Evaluate(context.Background(), d.flags[k], c)
				got := ev.EvaluateMemo(context.Background(), d.flags[k], memo)
				if got.Detail.VariationIndex != want.Detail.VariationIndex || !got.Detail.Value.Equal(want.Detail.Value) ||
					reasonJSON(got.Detail.Reason) != reasonJSON(want.Detail.Reason) || got.IsExperiment != want.IsExperiment ||
					fmt.Sprint(got.Prerequisites) != fmt.Sprint(want.Prerequisites) {
					t.Fatalf("seed %d, %s, flag %s: memo %+v, want %+v", seed, user, k, got, want)
				}
			}
		}
	}
}

// BenchmarkMemoChain evaluates every flag of a prerequisite chain, as
// AllFlagsState does: with the memo each flag is evaluated once.
func BenchmarkMemoChain(b *testing.B) {
	for _, n := range []int{1000} {
		d := newTestData()
		d.flag(b, boolFlag("c0", true))
		for i := 1; i < n; i++ {
			d.flag(b, boolFlag(fmt.Sprintf("c%d", i), true, prereq(fmt.Sprintf("c%d", i-1), 1)))
		}
		ev := evaluation.New(d, nil)
		c := ctx(b, `{"key":"user-a"}`)
		b.Run(fmt.Sprintf("memo/%d", n), func(b *testing.B) {
			for b.Loop() {
				memo := evaluation.NewMemo(c)
				for k := range d.flags {
					ev.EvaluateMemo(context.Background(), d.flags[k], memo)
				}
			}
		})
		b.Run(fmt.Sprintf("plain/%d", n), func(b *testing.B) {
			for b.Loop() {
				for k := range d.flags {
					ev.Evaluate(context.Background(), d.flags[k], c)
				}
			}
		})
	}
}
