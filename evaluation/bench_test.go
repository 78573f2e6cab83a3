package evaluation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
)

// The ...NoAlloc benchmarks must report 0 allocs/op; scripts/test.sh fails
// otherwise. Each one warms up (regexp matchers are pooled) before timing.

var benchSink evaluation.Result

func runEvalBench(b *testing.B, ev *evaluation.Evaluator, f *model.Flag, c evalctx.Context, wantKind evaluation.ReasonKind) {
	b.Helper()
	bg := context.Background()
	r := ev.Evaluate(bg, f, c)
	if r.Detail.Reason.Kind != wantKind {
		b.Fatalf("benchmark setup: got reason %s, want kind %s", reasonJSON(r.Detail.Reason), wantKind)
	}
	for i := 0; i < 10; i++ {
		benchSink = ev.Evaluate(bg, f, c)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		benchSink = ev.Evaluate(bg, f, c)
	}
}

// oneClauseFlag is a flag with one rule of one clause.
func oneClauseFlag(clause string) string {
	return `{"key":"flag","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":0},"salt":"salt",
		"rules":[{"id":"rule","variation":1,"clauses":[` + clause + `]}]}`
}

const benchContext = `{"kind":"user","key":"user-key-123abc","name":"Bob","email":"bob@example.com",
	"country":"us","age":42,"joined":"2021-03-04T05:06:07Z","version":"2.3.4","score":12.5}`

// BenchmarkFallthroughNoAlloc: a flag whose single one-clause rule does not
// match, for each operator family.
func BenchmarkFallthroughNoAlloc(b *testing.B) {
	cases := []struct{ name, clause string }{
		{"in", `{"attribute":"email","op":"in","values":["alice@example.com","carol@example.com"]}`},
		{"inMany", `{"attribute":"email","op":"in","values":[` + quotedList("user", 50) + `]}`},
		{"startsWith", `{"attribute":"email","op":"startsWith","values":["alice"]}`},
		{"endsWith", `{"attribute":"email","op":"endsWith","values":["@example.org"]}`},
		{"contains", `{"attribute":"email","op":"contains","values":["carol"]}`},
		{"matches", `{"attribute":"email","op":"matches","values":["^alice@.*\\.org$"]}`},
		{"lessThan", `{"attribute":"age","op":"lessThan","values":[18]}`},
		{"greaterThanOrEqual", `{"attribute":"score","op":"greaterThanOrEqual","values":[99.5]}`},
		{"before", `{"attribute":"joined","op":"before","values":["2020-01-01T00:00:00Z"]}`},
		{"after", `{"attribute":"joined","op":"after","values":[1700000000000]}`},
		{"semVerEqual", `{"attribute":"version","op":"semVerEqual","values":["2.3.5"]}`},
		{"semVerLessThan", `{"attribute":"version","op":"semVerLessThan","values":["2.0"]}`},
		{"semVerGreaterThan", `{"attribute":"version","op":"semVerGreaterThan","values":["3.0.0-rc.1"]}`},
		{"segmentMatch", `{"attribute":"","op":"segmentMatch","values":["segment"]}`},
		{"contextKind", `{"contextKind":"user","attribute":"/email","op":"in","values":["alice@example.com"]}`},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			d := newTestData()
			d.segment(b, `{"key":"segment","version":1,"included":["someone-else"],
				"rules":[{"clauses":[{"attribute":"country","op":"in","values":["fr"]}]}]}`)
			f := d.flag(b, oneClauseFlag(tc.clause))
			runEvalBench(b, evaluation.New(d, nil), f, ctx(b, benchContext), evaluation.ReasonFallthrough)
		})
	}
}

// BenchmarkRuleMatchNoAlloc: the second rule matches (two clauses).
func BenchmarkRuleMatchNoAlloc(b *testing.B) {
	d := newTestData()
	f := d.flag(b, `{"key":"flag","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":0},"salt":"salt","rules":[
		{"id":"r0","variation":1,"clauses":[{"attribute":"country","op":"in","values":["fr","de"]}]},
		{"id":"r1","variation":1,"clauses":[
			{"attribute":"country","op":"in","values":["us","ca"]},
			{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`)
	runEvalBench(b, evaluation.New(d, nil), f, ctx(b, benchContext), evaluation.ReasonRuleMatch)
}

func quotedList(prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = fmt.Sprintf("%q", fmt.Sprintf("%s-%d", prefix, i))
	}
	return strings.Join(parts, ",")
}

// BenchmarkTargetsNoAlloc: a context in (the last of) 10, 100 and 1000
// individual targets, and not in them.
func BenchmarkTargetsNoAlloc(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		d := newTestData()
		f := d.flag(b, fmt.Sprintf(`{"key":"flag","version":1,"on":true,"variations":[false,true],
			"fallthrough":{"variation":0},"targets":[{"variation":1,"values":[%s]}]}`, quotedList("user", n)))
		ev := evaluation.New(d, nil)
		b.Run(fmt.Sprintf("in-%d", n), func(b *testing.B) {
			c := evalctx.New(fmt.Sprintf("user-%d", n-1))
			runEvalBench(b, ev, f, c, evaluation.ReasonTargetMatch)
		})
		b.Run(fmt.Sprintf("notIn-%d", n), func(b *testing.B) {
			runEvalBench(b, ev, f, evalctx.New("somebody-else"), evaluation.ReasonFallthrough)
		})
	}
}

// BenchmarkSegmentNoAlloc: included in, excluded from, and matched by a rule
// of a segment.
func BenchmarkSegmentNoAlloc(b *testing.B) {
	d := newTestData()
	d.segment(b, `{"key":"segment","version":1,"salt":"s",
		"included":["included-key","a","b","c","d","e","f","g","h","i"],
		"excluded":["excluded-key","j","k","l","m","n","o","p","q","r"],
		"rules":[{"id":"sr","clauses":[{"attribute":"country","op":"in","values":["us"]}]}]}`)
	f := d.flag(b, oneClauseFlag(`{"attribute":"","op":"segmentMatch","values":["segment"]}`))
	ev := evaluation.New(d, nil)
	b.Run("included", func(b *testing.B) {
		runEvalBench(b, ev, f, evalctx.New("included-key"), evaluation.ReasonRuleMatch)
	})
	b.Run("excluded", func(b *testing.B) {
		runEvalBench(b, ev, f, ctx(b, `{"kind":"user","key":"excluded-key","country":"us"}`), evaluation.ReasonFallthrough)
	})
	b.Run("rule", func(b *testing.B) {
		runEvalBench(b, ev, f, ctx(b, benchContext), evaluation.ReasonRuleMatch)
	})
	d.segment(b, `{"key":"weighted","version":1,"salt":"s",
		"rules":[{"id":"sr","clauses":[{"attribute":"country","op":"in","values":["us"]}],"weight":100000}]}`)
	fw := d.flag(b, strings.Replace(oneClauseFlag(`{"attribute":"","op":"segmentMatch","values":["weighted"]}`),
		`"key":"flag"`, `"key":"flag-weighted"`, 1))
	b.Run("weightedRule", func(b *testing.B) {
		runEvalBench(b, ev, fw, ctx(b, benchContext), evaluation.ReasonRuleMatch)
	})
}

// BenchmarkRolloutNoAlloc: percentage rollout and experiment bucketing.
func BenchmarkRolloutNoAlloc(b *testing.B) {
	d := newTestData()
	rollout := d.flag(b, `{"key":"rollout","version":1,"on":true,"variations":["a","b","c"],"salt":"salt",
		"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":30000},{"variation":1,"weight":30000},
		{"variation":2,"weight":40000}]}}}`)
	experiment := d.flag(b, `{"key":"experiment","version":1,"on":true,"variations":["a","b","c"],"salt":"salt",
		"fallthrough":{"rollout":{"kind":"experiment","seed":61,"variations":[{"variation":0,"weight":30000},
		{"variation":1,"weight":30000},{"variation":2,"weight":40000}]}}}`)
	bucketBy := d.flag(b, `{"key":"bucketBy","version":1,"on":true,"variations":["a","b","c"],"salt":"salt",
		"fallthrough":{"rollout":{"bucketBy":"age","variations":[{"variation":0,"weight":30000},
		{"variation":1,"weight":30000},{"variation":2,"weight":40000}]}}}`)
	ev := evaluation.New(d, nil)
	c := ctx(b, benchContext)
	b.Run("rollout", func(b *testing.B) { runEvalBench(b, ev, rollout, c, evaluation.ReasonFallthrough) })
	b.Run("experiment", func(b *testing.B) { runEvalBench(b, ev, experiment, c, evaluation.ReasonFallthrough) })
	b.Run("bucketByInt", func(b *testing.B) { runEvalBench(b, ev, bucketBy, c, evaluation.ReasonFallthrough) })
}

// BenchmarkPrerequisitesNoAlloc: five prerequisites side by side (width 5)
// and a chain of five (depth 5), all met.
func BenchmarkPrerequisitesNoAlloc(b *testing.B) {
	d := newTestData()
	var width []string
	for i := 0; i < 5; i++ {
		d.flag(b, fmt.Sprintf(`{"key":"w%d","version":1,"on":true,"variations":[false,true],"fallthrough":{"variation":1}}`, i))
		width = append(width, fmt.Sprintf(`{"key":"w%d","variation":1}`, i))
	}
	wide := d.flag(b, `{"key":"wide","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":1},"prerequisites":[`+strings.Join(width, ",")+`]}`)
	d.flag(b, `{"key":"d0","version":1,"on":true,"variations":[false,true],"fallthrough":{"variation":1}}`)
	for i := 1; i < 5; i++ {
		d.flag(b, fmt.Sprintf(`{"key":"d%d","version":1,"on":true,"variations":[false,true],"offVariation":0,
			"fallthrough":{"variation":1},"prerequisites":[{"key":"d%d","variation":1}]}`, i, i-1))
	}
	deep := d.flag(b, `{"key":"deep","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":1},"prerequisites":[{"key":"d4","variation":1}]}`)
	ev := evaluation.New(d, nil)
	c := ctx(b, benchContext)
	b.Run("width5", func(b *testing.B) { runEvalBench(b, ev, wide, c, evaluation.ReasonFallthrough) })
	b.Run("depth5", func(b *testing.B) { runEvalBench(b, ev, deep, c, evaluation.ReasonFallthrough) })
}

type staticMembership map[string]bool

func (m staticMembership) CheckMembership(ref string) (bool, bool) {
	in, ok := m[ref]
	return in, ok
}

type staticBigSegments struct{ m evaluation.Membership }

func (s staticBigSegments) Membership(context.Context, string) (evaluation.Membership, evaluation.BigSegmentsStatus) {
	return s.m, evaluation.BigSegmentsHealthy
}

// BenchmarkBigSegmentNoAlloc: a big segment that includes the context.
func BenchmarkBigSegmentNoAlloc(b *testing.B) {
	d := newTestData()
	d.segment(b, `{"key":"big","version":1,"unbounded":true,"generation":3}`)
	f := d.flag(b, oneClauseFlag(`{"attribute":"","op":"segmentMatch","values":["big"]}`))
	ev := evaluation.New(d, staticBigSegments{staticMembership{"big.g3": true}})
	runEvalBench(b, ev, f, ctx(b, benchContext), evaluation.ReasonRuleMatch)
}
