package evaluation_test

import (
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
)

func TestTargets(t *testing.T) {
	d := newTestData()
	d.flag(t, `{"key":"user-targets","on":true,"variations":["ft","a","b"],"fallthrough":{"variation":0},
		"targets":[{"variation":1,"values":["k1"]},{"variation":2,"values":["k2","k1"]}]}`)
	d.flag(t, `{"key":"context-targets","on":true,"variations":["ft","a","b"],"fallthrough":{"variation":0},
		"targets":[{"variation":1,"values":["k1"]},{"variation":2,"values":["k2"]}],
		"contextTargets":[{"contextKind":"org","variation":2,"values":["k1"]},
		                  {"contextKind":"user","variation":2},
		                  {"contextKind":"user","variation":1},
		                  {"contextKind":"org","variation":1,"values":["k2"]}]}`)
	// A user entry with values is checked directly; "targets" are then not used for it.
	d.flag(t, `{"key":"user-values","on":true,"variations":["ft","a","b"],"fallthrough":{"variation":0},
		"targets":[{"variation":1,"values":["k1"]}],
		"contextTargets":[{"contextKind":"user","variation":2,"values":["k3"]}]}`)
	// Targets are matched before rules.
	d.flag(t, `{"key":"before-rules","on":true,"variations":["ft","a","b"],"fallthrough":{"variation":0},
		"targets":[{"variation":1,"values":["k1"]}],
		"rules":[{"id":"r","variation":2,"clauses":[]}]}`)
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "user-targets", `{"key":"k1"}`, `"a"`, 1, reasonTarget)
	d.expect(t, ev, "user-targets", `{"key":"k2"}`, `"b"`, 2, reasonTarget)
	d.expect(t, ev, "user-targets", `{"kind":"org","key":"k1"}`, `"ft"`, 0, reasonFallthrough)
	d.expect(t, ev, "user-targets", `{"kind":"multi","org":{"key":"x"},"user":{"key":"k1"}}`, `"a"`, 1, reasonTarget)
	// contextTargets decide the order: k2 as a user is found through the
	// second entry (user, variation 2 -> targets' variation 2 list).
	d.expect(t, ev, "context-targets", `{"key":"k2"}`, `"b"`, 2, reasonTarget)
	d.expect(t, ev, "context-targets", `{"key":"k1"}`, `"a"`, 1, reasonTarget)
	d.expect(t, ev, "context-targets", `{"kind":"org","key":"k1"}`, `"b"`, 2, reasonTarget)
	d.expect(t, ev, "context-targets", `{"kind":"org","key":"k2"}`, `"a"`, 1, reasonTarget)
	d.expect(t, ev, "context-targets", `{"kind":"multi","org":{"key":"k1"},"user":{"key":"k1"}}`, `"b"`, 2, reasonTarget)
	d.expect(t, ev, "context-targets", `{"kind":"org","key":"zz"}`, `"ft"`, 0, reasonFallthrough)
	d.expect(t, ev, "user-values", `{"key":"k1"}`, `"ft"`, 0, reasonFallthrough)
	d.expect(t, ev, "user-values", `{"key":"k3"}`, `"b"`, 2, reasonTarget)
	d.expect(t, ev, "before-rules", `{"key":"k1"}`, `"a"`, 1, reasonTarget)
}

// clauseFlag is a boolean flag whose one rule has the given clause.
func clauseFlag(key, clause string) string {
	return `{"key":"` + key + `","on":true,"variations":[false,true],"fallthrough":{"variation":0},
		"rules":[{"id":"r","variation":1,"clauses":[` + clause + `]}]}`
}

func TestClauseRules(t *testing.T) {
	cases := []struct {
		name, clause, context string
		match                 bool
	}{
		{"missing attribute", `{"attribute":"x","op":"in","values":["a"]}`, `{"key":"k"}`, false},
		{"missing attribute negated", `{"attribute":"x","op":"in","values":["a"],"negate":true}`, `{"key":"k"}`, false},
		{"missing kind negated", `{"contextKind":"org","attribute":"key","op":"in","values":["a"],"negate":true}`, `{"key":"k"}`, false},
		{"negated non-match", `{"attribute":"x","op":"in","values":["a"],"negate":true}`, `{"key":"k","custom":{"x":"b"}}`, true},
		{"unknown operator", `{"attribute":"key","op":"isAwesome","values":["k"]}`, `{"key":"k"}`, false},
		{"unknown operator negated", `{"attribute":"key","op":"isAwesome","values":["k"],"negate":true}`, `{"key":"k"}`, true},
		{"array any element", `{"attribute":"x","op":"in","values":["c"]}`, `{"kind":"user","key":"k","x":["a","c"]}`, true},
		{"array no element", `{"attribute":"x","op":"in","values":["d"]}`, `{"kind":"user","key":"k","x":["a","c"]}`, false},
		{"array negated", `{"attribute":"x","op":"in","values":["c"],"negate":true}`, `{"kind":"user","key":"k","x":["a","c"]}`, false},
		{"empty array", `{"attribute":"x","op":"in","values":["c"],"negate":true}`, `{"kind":"user","key":"k","x":[]}`, true},
		{"nested array is not searched", `{"attribute":"x","op":"in","values":["c"]}`, `{"kind":"user","key":"k","x":[["c"]]}`, false},
		{"object never equals", `{"attribute":"x","op":"in","values":[{"a":1}]}`, `{"kind":"user","key":"k","x":{"a":1}}`, false},
		{"kind in", `{"attribute":"kind","op":"in","values":["org"]}`, `{"kind":"org","key":"k"}`, true},
		{"kind multi", `{"attribute":"kind","op":"startsWith","values":["o"]}`, `{"kind":"multi","org":{"key":"a"},"user":{"key":"b"}}`, true},
		{"kind multi no", `{"attribute":"kind","op":"in","values":["multi"]}`, `{"kind":"multi","org":{"key":"a"},"user":{"key":"b"}}`, false},
		{"kind negated", `{"attribute":"kind","op":"in","values":["org"],"negate":true}`, `{"key":"k"}`, true},
		{"literal slash attribute", `{"attribute":"/a/b","op":"in","values":[1]}`, `{"kind":"user","key":"k","/a/b":1}`, true},
		{"path attribute", `{"contextKind":"user","attribute":"/a/b","op":"in","values":[1]}`, `{"kind":"user","key":"k","a":{"b":1}}`, true},
		{"path through array", `{"contextKind":"user","attribute":"/a/0","op":"in","values":[1]}`, `{"kind":"user","key":"k","a":[1]}`, false},
		{"multi context kind", `{"contextKind":"org","attribute":"name","op":"in","values":["Acme"]}`,
			`{"kind":"multi","org":{"key":"a","name":"Acme"},"user":{"key":"b","name":"Bob"}}`, true},
		{"default kind is user", `{"attribute":"name","op":"in","values":["Acme"]}`,
			`{"kind":"multi","org":{"key":"a","name":"Acme"},"user":{"key":"b","name":"Bob"}}`, false},
		{"anonymous", `{"attribute":"anonymous","op":"in","values":[false]}`, `{"key":"k"}`, true},
		{"null attribute", `{"attribute":"x","op":"in","values":[null],"negate":true}`, `{"key":"k","custom":{"x":null}}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newTestData()
			f := d.flag(t, clauseFlag("f", tc.clause))
			r := d.eval(t, f, ctx(t, tc.context))
			want := int(0)
			if tc.match {
				want = 1
			}
			if r.Detail.VariationIndex != want {
				t.Errorf("got %s (index %d), want match=%v", reasonJSON(r.Detail.Reason), r.Detail.VariationIndex, tc.match)
			}
		})
	}
}

func TestMalformedClauses(t *testing.T) {
	cases := map[string]string{
		"no attribute":     `{"op":"in","values":["a"]}`,
		"empty attribute":  `{"attribute":"","op":"in","values":["a"]}`,
		"empty component":  `{"contextKind":"user","attribute":"//","op":"in","values":["a"]}`,
		"bad escape":       `{"contextKind":"user","attribute":"/a~2","op":"in","values":["a"]}`,
		"trailing slash":   `{"contextKind":"user","attribute":"/a/","op":"in","values":["a"]}`,
		"only slash":       `{"contextKind":"user","attribute":"/","op":"in","values":["a"]}`,
		"unknown op, bad":  `{"contextKind":"user","attribute":"/","op":"nope","values":["a"]}`,
		"negated, no attr": `{"op":"in","values":["a"],"negate":true}`,
	}
	for name, clause := range cases {
		t.Run(name, func(t *testing.T) {
			d := newTestData()
			d.flag(t, clauseFlag("f", clause))
			d.expect(t, evaluation.New(d, nil), "f", `{"key":"k"}`, `null`, -1, reasonMalformed)
		})
	}
	// A later rule does not rescue an earlier malformed one.
	d := newTestData()
	d.flag(t, `{"key":"f","on":true,"variations":[false,true],"fallthrough":{"variation":0},"rules":[
		{"id":"bad","variation":1,"clauses":[{"op":"in","values":["a"]}]},{"id":"ok","variation":1,"clauses":[]}]}`)
	d.expect(t, evaluation.New(d, nil), "f", `{"key":"k"}`, `null`, -1, reasonMalformed)
	// A malformed rule after a matching one is never reached.
	d.flag(t, `{"key":"g","on":true,"variations":[false,true],"fallthrough":{"variation":0},"rules":[
		{"id":"ok","variation":1,"clauses":[]},{"id":"bad","variation":1,"clauses":[{"op":"in","values":["a"]}]}]}`)
	d.expect(t, evaluation.New(d, nil), "g", `{"key":"k"}`, `true`, 1, ruleReason(0, "ok"))
}
