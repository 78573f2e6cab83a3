package evaluation_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
)

// boolFlag returns a boolean flag document: variations [false, true],
// off variation 0, fallthrough true, with the given prerequisites JSON.
func boolFlag(key string, on bool, prereqs ...string) string {
	return fmt.Sprintf(`{"key":%q,"on":%v,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":1},"prerequisites":[%s]}`, key, on, strings.Join(prereqs, ","))
}

func prereq(key string, variation int) string {
	return fmt.Sprintf(`{"key":%q,"variation":%d}`, key, variation)
}

func TestPrerequisites(t *testing.T) {
	d := newTestData()
	d.flag(t, boolFlag("p-true", true))
	d.flag(t, boolFlag("p-off", false))
	d.flag(t, `{"key":"p-off-true","on":false,"variations":[false,true],"offVariation":1}`)
	d.flag(t, `{"key":"p-no-value","on":false,"variations":[false,true]}`)
	d.flag(t, boolFlag("all-met", true, prereq("p-true", 1), prereq("p-true", 1)))
	d.flag(t, boolFlag("second-fails", true, prereq("p-true", 1), prereq("p-off", 1), prereq("missing", 1)))
	d.flag(t, boolFlag("missing", true, prereq("p-true", 1), prereq("no-such-flag", 1)))
	d.flag(t, boolFlag("off-but-right", true, prereq("p-off-true", 1)))
	d.flag(t, boolFlag("no-value", true, prereq("p-no-value", 0)))
	d.flag(t, boolFlag("nested", true, prereq("second-fails", 1)))
	d.flag(t, boolFlag("wrong-variation", true, prereq("p-true", 0)))
	d.flag(t, boolFlag("off-with-prereq", false, prereq("no-such-flag", 1)))

	var events []string
	rec := func(e evaluation.PrerequisiteEvent) {
		events = append(events, fmt.Sprintf("%s->%s:%d", e.FlagKey, e.Flag.Key, e.Result.Detail.VariationIndex))
	}
	ev := evaluation.New(d, nil)
	run := func(key string) evaluation.Result {
		events = nil
		return ev.EvaluateWithRecorder(context.Background(), d.flags[key], evalctx.New("a"), rec)
	}
	failed := func(k string) string { return `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":"` + k + `"}` }
	cases := []struct {
		flag, reason string
		index        int
		prereqs      []string
		events       []string
	}{
		{"all-met", reasonFallthrough, 1, []string{"p-true", "p-true"}, []string{"all-met->p-true:1", "all-met->p-true:1"}},
		{"second-fails", failed("p-off"), 0, []string{"p-true", "p-off"}, []string{"second-fails->p-true:1", "second-fails->p-off:0"}},
		{"missing", failed("no-such-flag"), 0, []string{"p-true"}, []string{"missing->p-true:1"}},
		{"off-but-right", failed("p-off-true"), 0, []string{"p-off-true"}, []string{"off-but-right->p-off-true:1"}},
		{"no-value", failed("p-no-value"), 0, []string{"p-no-value"}, []string{"no-value->p-no-value:-1"}},
		// A failure deep down reports the direct prerequisite.
		{"nested", failed("second-fails"), 0, []string{"second-fails"},
			[]string{"second-fails->p-true:1", "second-fails->p-off:0", "nested->second-fails:0"}},
		{"wrong-variation", failed("p-true"), 0, []string{"p-true"}, []string{"wrong-variation->p-true:1"}},
		{"off-with-prereq", reasonOff, 0, nil, nil},
	}
	for _, tc := range cases {
		r := run(tc.flag)
		if got := reasonJSON(r.Detail.Reason); got != tc.reason || r.Detail.VariationIndex != tc.index {
			t.Errorf("%s: got %s index %d, want %s index %d", tc.flag, got, r.Detail.VariationIndex, tc.reason, tc.index)
		}
		if !slices.Equal(r.Prerequisites, tc.prereqs) {
			t.Errorf("%s: Prerequisites = %v, want %v", tc.flag, r.Prerequisites, tc.prereqs)
		}
		if !slices.Equal(events, tc.events) {
			t.Errorf("%s: events = %v, want %v", tc.flag, events, tc.events)
		}
	}
}

func TestPrerequisiteCycles(t *testing.T) {
	d := newTestData()
	// A -> B -> C -> A
	d.flag(t, boolFlag("a", true, prereq("b", 1)))
	d.flag(t, boolFlag("b", true, prereq("c", 1)))
	d.flag(t, boolFlag("c", true, prereq("a", 1)))
	// top -> x -> y -> z -> y (the cycle does not include top)
	d.flag(t, boolFlag("top", true, prereq("x", 1)))
	d.flag(t, boolFlag("x", true, prereq("y", 1)))
	d.flag(t, boolFlag("y", true, prereq("z", 1)))
	d.flag(t, boolFlag("z", true, prereq("y", 1)))
	// self
	d.flag(t, boolFlag("self", true, prereq("self", 1)))
	// diamond: d1 -> (d2, d3) -> d4: not a cycle
	d.flag(t, boolFlag("d1", true, prereq("d2", 1), prereq("d3", 1)))
	d.flag(t, boolFlag("d2", true, prereq("d4", 1)))
	d.flag(t, boolFlag("d3", true, prereq("d4", 1)))
	d.flag(t, boolFlag("d4", true))
	// off flags do not evaluate their prerequisites, so no cycle is seen
	// (but an off prerequisite always fails)
	d.flag(t, boolFlag("off-a", true, prereq("off-b", 0)))
	d.flag(t, boolFlag("off-b", false, prereq("off-a", 1)))
	ev := evaluation.New(d, nil)
	for _, k := range []string{"a", "b", "c", "top", "x", "self"} {
		d.expect(t, ev, k, userA, `null`, -1, reasonMalformed)
	}
	d.expect(t, ev, "d1", userA, `true`, 1, reasonFallthrough)
	d.expect(t, ev, "off-a", userA, `false`, 0, `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":"off-b"}`)
}

func TestDeepPrerequisiteChain(t *testing.T) {
	d := newTestData()
	const n = 50 // deeper than the evaluator's fixed-size stacks
	d.flag(t, boolFlag("f0", true))
	for i := 1; i < n; i++ {
		d.flag(t, boolFlag(fmt.Sprintf("f%d", i), true, prereq(fmt.Sprintf("f%d", i-1), 1)))
	}
	ev := evaluation.New(d, nil)
	d.expect(t, ev, fmt.Sprintf("f%d", n-1), userA, `true`, 1, reasonFallthrough)
	// And a long cycle.
	for i := 0; i < n; i++ {
		d.flag(t, boolFlag(fmt.Sprintf("c%d", i), true, prereq(fmt.Sprintf("c%d", (i+1)%n), 1)))
	}
	d.expect(t, ev, "c7", userA, `null`, -1, reasonMalformed)
}

func TestPrerequisiteMalformedPropagates(t *testing.T) {
	d := newTestData()
	// A prerequisite whose rule has an invalid clause stops the whole
	// evaluation with MALFORMED_FLAG (as LaunchDarkly does) ...
	d.flag(t, `{"key":"bad-clause","on":true,"variations":[false,true],"fallthrough":{"variation":1},
		"rules":[{"id":"r","variation":1,"clauses":[{"contextKind":"user","attribute":"/a~2","op":"in","values":[1]}]}]}`)
	d.flag(t, boolFlag("needs-bad-clause", true, prereq("bad-clause", 1)))
	// ... while a prerequisite that is merely in error (bad variation index)
	// just fails.
	d.flag(t, `{"key":"bad-index","on":true,"variations":[false,true],"fallthrough":{"variation":9}}`)
	d.flag(t, boolFlag("needs-bad-index", true, prereq("bad-index", 1)))
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "needs-bad-clause", userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "needs-bad-index", userA, `false`, 0, `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":"bad-index"}`)
}

func TestPrerequisiteWithEmptyKey(t *testing.T) {
	d := newTestData()
	d.flag(t, boolFlag("f", true, prereq("", 1)))
	d.expect(t, evaluation.New(d, nil), "f", userA, `false`, 0, `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":""}`)
}

// Absurdly deep acyclic data is cut off (MALFORMED_FLAG) instead of
// growing the stack without bound.
func TestNestingLimit(t *testing.T) {
	d := newTestData()
	const n = 1200
	d.flag(t, boolFlag("p0", true))
	for i := 1; i < n; i++ {
		d.flag(t, boolFlag(fmt.Sprintf("p%d", i), true, prereq(fmt.Sprintf("p%d", i-1), 1)))
	}
	for i := 0; i < n; i++ {
		d.segment(t, fmt.Sprintf(`{"key":"s%d","rules":[{"clauses":[{"op":"segmentMatch","values":["s%d"]}]}]}`, i, i+1))
	}
	d.flag(t, segmentFlag("seg", "s0"))
	ev := evaluation.New(d, nil)
	d.expect(t, ev, fmt.Sprintf("p%d", n-1), userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "p900", userA, `true`, 1, reasonFallthrough)
	d.expect(t, ev, "seg", userA, `null`, -1, reasonMalformed)
}
