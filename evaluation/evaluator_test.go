package evaluation_test

import (
	"context"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
)

func TestOffFlag(t *testing.T) {
	d := newTestData()
	d.flag(t, `{"key":"off","on":false,"offVariation":1,"variations":["x","y"],"fallthrough":{"variation":0}}`)
	d.flag(t, `{"key":"off-none","on":false,"variations":["x","y"],"fallthrough":{"variation":0}}`)
	d.flag(t, `{"key":"off-high","on":false,"offVariation":2,"variations":["x","y"]}`)
	d.flag(t, `{"key":"off-low","on":false,"offVariation":-1,"variations":["x","y"]}`)
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "off", userA, `"y"`, 1, reasonOff)
	// No off variation: no value, reason OFF, not an error.
	r := d.expect(t, ev, "off-none", userA, `null`, -1, reasonOff)
	if !r.Detail.IsDefaultValue() {
		t.Error("off flag without off variation should carry no value")
	}
	d.expect(t, ev, "off-high", userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "off-low", userA, `null`, -1, reasonMalformed)
}

func TestVariationOutOfRange(t *testing.T) {
	d := newTestData()
	d.flag(t, `{"key":"ft-high","on":true,"variations":["x"],"fallthrough":{"variation":1}}`)
	d.flag(t, `{"key":"ft-none","on":true,"variations":["x"],"fallthrough":{}}`)
	d.flag(t, `{"key":"ft-empty-rollout","on":true,"variations":["x"],"fallthrough":{"rollout":{"variations":[]}}}`)
	d.flag(t, `{"key":"target-high","on":true,"variations":["x"],"fallthrough":{"variation":0},
		"targets":[{"variation":5,"values":["a"]}]}`)
	d.flag(t, `{"key":"rule-low","on":true,"variations":["x"],"fallthrough":{"variation":0},
		"rules":[{"id":"r","variation":-1,"clauses":[]}]}`)
	d.flag(t, `{"key":"rollout-high","on":true,"variations":["x"],
		"fallthrough":{"rollout":{"variations":[{"variation":3,"weight":100000}]}}}`)
	ev := evaluation.New(d, nil)
	for _, k := range []string{"ft-high", "ft-none", "ft-empty-rollout", "target-high", "rule-low", "rollout-high"} {
		d.expect(t, ev, k, userA, `null`, -1, reasonMalformed)
	}
}

func TestFallthroughAndRuleOrder(t *testing.T) {
	d := newTestData()
	d.flag(t, `{"key":"f","on":true,"variations":["ft","r0","r1"],"fallthrough":{"variation":0},"rules":[
		{"id":"r0","variation":1,"clauses":[{"attribute":"a","op":"in","values":[1]},{"attribute":"b","op":"in","values":[2]}]},
		{"id":"r1","variation":2,"clauses":[{"attribute":"a","op":"in","values":[1]}]},
		{"variation":0,"clauses":[]}]}`)
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "f", `{"kind":"user","key":"k","a":1,"b":2}`, `"r0"`, 1, ruleReason(0, "r0"))
	d.expect(t, ev, "f", `{"kind":"user","key":"k","a":1,"b":3}`, `"r1"`, 2, ruleReason(1, "r1"))
	// A rule without clauses always matches; without an id the reason has no ruleId.
	d.expect(t, ev, "f", `{"kind":"user","key":"k"}`, `"ft"`, 0, `{"kind":"RULE_MATCH","ruleIndex":2}`)
}

func TestInvalidContextAndMissingFlag(t *testing.T) {
	d := newTestData()
	f := d.flag(t, `{"key":"f","on":true,"variations":["x"],"fallthrough":{"variation":0}}`)
	ev := evaluation.New(d, nil)
	bg := context.Background()
	for name, c := range map[string]evalctx.Context{
		"zero":      {},
		"empty key": evalctx.New(""),
		"bad kind":  evalctx.NewWithKind("multi", "x"),
	} {
		r := ev.Evaluate(bg, f, c)
		if got := reasonJSON(r.Detail.Reason); got != `{"kind":"ERROR","errorKind":"USER_NOT_SPECIFIED"}` {
			t.Errorf("%s context: reason %s", name, got)
		}
	}
	r := ev.Evaluate(bg, nil, evalctx.New("a"))
	if got := reasonJSON(r.Detail.Reason); got != `{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}` {
		t.Errorf("nil flag: reason %s", got)
	}
	del := d.flag(t, `{"key":"gone","version":3,"deleted":true}`)
	r = ev.Evaluate(bg, del, evalctx.New("a"))
	if r.Detail.Reason.ErrorKind != evaluation.ErrorFlagNotFound {
		t.Errorf("deleted flag: reason %s", reasonJSON(r.Detail.Reason))
	}
}

func TestIsExperimentLegacy(t *testing.T) {
	d := newTestData()
	d.flag(t, `{"key":"ft","on":true,"variations":["x"],"fallthrough":{"variation":0},"trackEventsFallthrough":true}`)
	d.flag(t, `{"key":"rule","on":true,"variations":["x"],"fallthrough":{"variation":0},
		"rules":[{"id":"a","variation":0,"clauses":[{"attribute":"key","op":"in","values":["nobody"]}]},
		         {"id":"b","variation":0,"trackEvents":true,"clauses":[]}]}`)
	d.flag(t, `{"key":"plain","on":true,"variations":["x"],"fallthrough":{"variation":0},"trackEvents":true}`)
	ev := evaluation.New(d, nil)
	if r := d.expect(t, ev, "ft", userA, `"x"`, 0, reasonFallthrough); !r.IsExperiment {
		t.Error("trackEventsFallthrough: IsExperiment should be true")
	}
	if r := d.expect(t, ev, "rule", userA, `"x"`, 0, ruleReason(1, "b")); !r.IsExperiment {
		t.Error("rule trackEvents: IsExperiment should be true")
	}
	if r := d.expect(t, ev, "plain", userA, `"x"`, 0, reasonFallthrough); r.IsExperiment {
		t.Error("flag-level trackEvents alone is not an experiment")
	}
}

func TestEvaluatorIsSafeForConcurrentUse(t *testing.T) {
	d := newTestData()
	d.segment(t, `{"key":"s","rules":[{"clauses":[{"attribute":"n","op":"greaterThan","values":[50]}],"weight":60000}]}`)
	f := d.flag(t, `{"key":"f","on":true,"variations":["a","b","c"],"salt":"x",
		"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}},
		"rules":[{"id":"r","variation":2,"clauses":[{"attribute":"","op":"segmentMatch","values":["s"]}]}]}`)
	ev := evaluation.New(d, nil)
	want := make([]evaluation.Detail, 100)
	ctxs := make([]evalctx.Context, 100)
	for i := range ctxs {
		ctxs[i] = evalctx.NewBuilder("k"+itoaTest(i)).SetInt("n", i).Build()
		want[i] = ev.Evaluate(context.Background(), f, ctxs[i]).Detail
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for rep := 0; rep < 50; rep++ {
				for i, c := range ctxs {
					got := ev.Evaluate(context.Background(), f, c).Detail
					if got.VariationIndex != want[i].VariationIndex || got.Reason != want[i].Reason {
						ok = false
					}
				}
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("concurrent evaluations disagreed")
		}
	}
}

func itoaTest(i int) string {
	return string(rune('a'+i/26)) + string(rune('a'+i%26))
}
