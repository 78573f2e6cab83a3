package evaluation_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
)

func segmentFlag(key string, segments ...string) string {
	vals := ""
	for i, s := range segments {
		if i > 0 {
			vals += ","
		}
		vals += fmt.Sprintf("%q", s)
	}
	return clauseFlag(key, `{"attribute":"","op":"segmentMatch","values":[`+vals+`]}`)
}

func TestSegments(t *testing.T) {
	d := newTestData()
	d.segment(t, `{"key":"lists","included":["in","both"],"excluded":["out","both","ruled-out"],
		"includedContexts":[{"contextKind":"org","values":["org-in"]},{"contextKind":"user","values":["user-ctx-in"]}],
		"excludedContexts":[{"contextKind":"org","values":["org-out"]}],
		"rules":[{"clauses":[{"attribute":"r","op":"in","values":[true]}]},
		         {"clauses":[{"contextKind":"org","attribute":"r","op":"in","values":[true]}]}]}`)
	d.segment(t, `{"key":"other","rules":[{"clauses":[{"attribute":"o","op":"in","values":[true]}]}]}`)
	d.flag(t, segmentFlag("lists", "lists"))
	d.flag(t, segmentFlag("any", "nope", "lists", "other"))
	d.flag(t, segmentFlag("unknown", "nope"))
	d.flag(t, clauseFlag("negated", `{"op":"segmentMatch","values":["lists"],"negate":true}`))
	ev := evaluation.New(d, nil)
	match := func(flag, c string, want bool) {
		t.Helper()
		r := ev.Evaluate(context.Background(), d.flags[flag], ctx(t, c))
		if got := r.Detail.VariationIndex == 1; got != want || r.Detail.Reason.Kind == evaluation.ReasonError {
			t.Errorf("%s with %s: got %s, want match=%v", flag, c, reasonJSON(r.Detail.Reason), want)
		}
	}
	match("lists", `{"key":"in"}`, true)
	match("lists", `{"key":"both"}`, true) // included beats excluded
	match("lists", `{"key":"out","custom":{"r":true}}`, false)
	match("lists", `{"key":"nobody","custom":{"r":true}}`, true)
	match("lists", `{"kind":"org","key":"in"}`, false) // "included" is for users only
	match("lists", `{"kind":"org","key":"org-in"}`, true)
	match("lists", `{"kind":"org","key":"org-out","r":true}`, false)
	match("lists", `{"kind":"org","key":"other","r":true}`, true)
	match("lists", `{"kind":"multi","org":{"key":"org-in"},"user":{"key":"out"}}`, true)
	match("lists", `{"kind":"multi","org":{"key":"x"},"user":{"key":"out","r":true}}`, false)
	// As in LaunchDarkly, includedContexts is not consulted for a context
	// that is a single user, but is for a user inside a multi-kind context.
	match("lists", `{"key":"user-ctx-in"}`, false)
	match("lists", `{"kind":"multi","org":{"key":"x"},"user":{"key":"user-ctx-in"}}`, true)
	match("any", `{"key":"x","custom":{"o":true}}`, true)
	match("any", `{"key":"x"}`, false)
	match("unknown", `{"key":"in"}`, false)
	match("negated", `{"key":"x"}`, true)
	match("negated", `{"key":"in"}`, false)
}

func TestSegmentRulesWeightAndNesting(t *testing.T) {
	d := newTestData()
	// segment3.salty: key "user-key" buckets at 0.14954..., "unmatching-key" at 0.36563...
	d.segment(t, `{"key":"segment3","salt":"salty","rules":[{"clauses":[],"weight":14955}]}`)
	d.segment(t, `{"key":"org-weighted","salt":"salty","rules":[{"clauses":[],"weight":100000,"rolloutContextKind":"org"}]}`)
	d.segment(t, `{"key":"no-attr","salt":"salty","rules":[{"clauses":[],"weight":1,"bucketBy":"missing"}]}`)
	d.segment(t, `{"key":"bad-bucketby","rules":[{"clauses":[],"weight":1,"rolloutContextKind":"user","bucketBy":"/a~9"}]}`)
	d.segment(t, `{"key":"parent","rules":[{"clauses":[{"op":"segmentMatch","values":["child"]}]}]}`)
	d.segment(t, `{"key":"child","included":["nested"]}`)
	d.flag(t, segmentFlag("s3", "segment3"))
	d.flag(t, segmentFlag("org", "org-weighted"))
	d.flag(t, segmentFlag("no-attr", "no-attr"))
	d.flag(t, segmentFlag("bad", "bad-bucketby"))
	d.flag(t, segmentFlag("parent", "parent"))
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "s3", `{"key":"user-key"}`, `true`, 1, ruleReason(0, "r"))
	d.expect(t, ev, "s3", `{"key":"unmatching-key"}`, `false`, 0, reasonFallthrough)
	// A context lacking the rollout kind does not match a weighted rule.
	d.expect(t, ev, "org", `{"key":"user-key"}`, `false`, 0, reasonFallthrough)
	d.expect(t, ev, "org", `{"kind":"org","key":"o"}`, `true`, 1, ruleReason(0, "r"))
	// A missing bucketBy attribute gives bucket 0, which is inside any weight.
	d.expect(t, ev, "no-attr", `{"key":"k"}`, `true`, 1, ruleReason(0, "r"))
	d.expect(t, ev, "bad", `{"key":"k"}`, `null`, -1, reasonMalformed)
	d.expect(t, ev, "parent", `{"key":"nested"}`, `true`, 1, ruleReason(0, "r"))
	d.expect(t, ev, "parent", `{"key":"other"}`, `false`, 0, reasonFallthrough)
}

func TestSegmentCycles(t *testing.T) {
	d := newTestData()
	d.segment(t, `{"key":"s1","rules":[{"clauses":[{"op":"segmentMatch","values":["s2"]}]}]}`)
	d.segment(t, `{"key":"s2","rules":[{"clauses":[{"op":"segmentMatch","values":["s3"]}]}]}`)
	d.segment(t, `{"key":"s3","rules":[{"clauses":[{"op":"segmentMatch","values":["s1"]}]}]}`)
	d.segment(t, `{"key":"self","rules":[{"clauses":[{"op":"segmentMatch","values":["self"]}]}]}`)
	// A segment used twice side by side is not a cycle.
	d.segment(t, `{"key":"twice","rules":[{"clauses":[{"op":"segmentMatch","values":["leaf"]},{"op":"segmentMatch","values":["leaf"]}]}]}`)
	d.segment(t, `{"key":"leaf","included":["k"]}`)
	// The cycle is not reached when an earlier rule matches.
	d.segment(t, `{"key":"early","rules":[{"clauses":[]},{"clauses":[{"op":"segmentMatch","values":["s1"]}]}]}`)
	d.flag(t, segmentFlag("s1", "s1"))
	d.flag(t, segmentFlag("self", "self"))
	d.flag(t, segmentFlag("twice", "twice"))
	d.flag(t, segmentFlag("early", "early"))
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "s1", userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "self", userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "twice", `{"key":"k"}`, `true`, 1, ruleReason(0, "r"))
	d.expect(t, ev, "early", userA, `true`, 1, ruleReason(0, "r"))
	// A long chain of distinct nested segments works.
	for i := 0; i < 40; i++ {
		d.segment(t, fmt.Sprintf(`{"key":"n%d","rules":[{"clauses":[{"op":"segmentMatch","values":["n%d"]}]}]}`, i, i+1))
	}
	d.segment(t, `{"key":"n40","included":["a"]}`)
	d.flag(t, segmentFlag("chain", "n0"))
	d.expect(t, ev, "chain", userA, `true`, 1, ruleReason(0, "r"))
}

// countingBigSegments is a BigSegmentProvider that counts queries.
type countingBigSegments struct {
	members map[string]staticMembership
	status  map[string]evaluation.BigSegmentsStatus
	queries map[string]int
}

func (c *countingBigSegments) Membership(_ context.Context, key string) (evaluation.Membership, evaluation.BigSegmentsStatus) {
	c.queries[key]++
	status := c.status[key]
	if status == "" {
		status = evaluation.BigSegmentsHealthy
	}
	if m, ok := c.members[key]; ok {
		return m, status
	}
	return nil, status
}

func TestBigSegments(t *testing.T) {
	d := newTestData()
	d.segment(t, `{"key":"big","unbounded":true,"generation":2,
		"rules":[{"clauses":[{"attribute":"fallback","op":"in","values":[true]}]}]}`)
	d.segment(t, `{"key":"big-org","unbounded":true,"unboundedContextKind":"org","generation":1}`)
	d.segment(t, `{"key":"no-gen","unbounded":true,"included":["a"],"rules":[{"clauses":[]}]}`)
	d.segment(t, `{"key":"big2","unbounded":true,"generation":5}`)
	d.flag(t, segmentFlag("big", "big"))
	d.flag(t, segmentFlag("big-org", "big-org"))
	d.flag(t, segmentFlag("no-gen", "no-gen"))
	d.flag(t, `{"key":"two","on":true,"variations":[false,true],"fallthrough":{"variation":0},"rules":[
		{"id":"a","variation":1,"clauses":[{"op":"segmentMatch","values":["big2"]}]},
		{"id":"b","variation":1,"clauses":[{"op":"segmentMatch","values":["big"]}]},
		{"id":"c","variation":1,"clauses":[{"op":"segmentMatch","values":["big-org"]}]}]}`)
	d.flag(t, boolFlag("with-prereq", true, prereq("two", 1)))
	provider := &countingBigSegments{
		members: map[string]staticMembership{
			"in":      {"big.g2": true, "big-org.g1": true},
			"out":     {"big.g2": false},
			"old-gen": {"big.g1": true},
			"org-in":  {"big-org.g1": true},
		},
		status:  map[string]evaluation.BigSegmentsStatus{"stale": evaluation.BigSegmentsStale, "broken": evaluation.BigSegmentsStoreError},
		queries: map[string]int{},
	}
	ev := evaluation.New(d, provider)
	big := func(i int, id string, status string) string {
		return `{"kind":"RULE_MATCH","ruleIndex":` + fmt.Sprint(i) + `,"ruleId":"` + id + `","bigSegmentsStatus":"` + status + `"}`
	}
	d.expect(t, ev, "big", `{"key":"in"}`, `true`, 1, big(0, "r", "HEALTHY"))
	d.expect(t, ev, "big", `{"key":"out","custom":{"fallback":true}}`, `false`, 0,
		`{"kind":"FALLTHROUGH","bigSegmentsStatus":"HEALTHY"}`)
	// Unknown membership (another generation, or no membership): the rules decide.
	d.expect(t, ev, "big", `{"key":"old-gen","custom":{"fallback":true}}`, `true`, 1, big(0, "r", "HEALTHY"))
	d.expect(t, ev, "big", `{"key":"none"}`, `false`, 0, `{"kind":"FALLTHROUGH","bigSegmentsStatus":"HEALTHY"}`)
	d.expect(t, ev, "big", `{"key":"stale","custom":{"fallback":true}}`, `true`, 1, big(0, "r", "STALE"))
	// The segment's kind: a context without it is not queried.
	provider.queries = map[string]int{}
	d.expect(t, ev, "big-org", `{"key":"org-in"}`, `false`, 0, reasonFallthrough)
	d.expect(t, ev, "big-org", `{"kind":"org","key":"org-in"}`, `true`, 1, big(0, "r", "HEALTHY"))
	if provider.queries["org-in"] != 1 {
		t.Errorf("queries = %v, want one for org-in", provider.queries)
	}
	// No generation: NOT_CONFIGURED, no query, and the lists and rules are
	// not consulted.
	provider.queries = map[string]int{}
	d.expect(t, ev, "no-gen", `{"key":"a"}`, `false`, 0, `{"kind":"FALLTHROUGH","bigSegmentsStatus":"NOT_CONFIGURED"}`)
	if len(provider.queries) != 0 {
		t.Errorf("no generation: queries = %v, want none", provider.queries)
	}
	// One query per context key per evaluation, prerequisites included.
	provider.queries = map[string]int{}
	d.expect(t, ev, "with-prereq", `{"kind":"multi","user":{"key":"out"},"org":{"key":"org-in"}}`, `true`, 1,
		`{"kind":"FALLTHROUGH","bigSegmentsStatus":"HEALTHY"}`)
	if provider.queries["out"] != 1 || provider.queries["org-in"] != 1 || len(provider.queries) != 2 {
		t.Errorf("queries = %v, want one each for out and org-in", provider.queries)
	}
	// The worst status wins: STORE_ERROR (user) over STALE (org).
	provider.status["org-in"] = evaluation.BigSegmentsStale
	d.expect(t, ev, "two", `{"kind":"multi","user":{"key":"broken"},"org":{"key":"org-in"}}`, `true`, 1,
		big(2, "c", "STORE_ERROR"))
	// Without a provider: NOT_CONFIGURED.
	d.expect(t, evaluation.New(d, nil), "big", `{"key":"in","custom":{"fallback":true}}`, `true`, 1,
		big(0, "r", "NOT_CONFIGURED"))
}
