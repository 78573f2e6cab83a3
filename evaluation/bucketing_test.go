package evaluation_test

import (
	"fmt"
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
)

// rolloutFlag is flag "hashKey" (salt "saltyA") whose fallthrough is a
// rollout with buckets [0, 0.4) -> 0, [0.4, 0.6) -> 1, [0.6, 1) -> 2 and the
// given extra rollout properties.
func rolloutFlag(key, extra string) string {
	return fmt.Sprintf(`{"key":%q,"salt":"saltyA","on":true,"variations":["v0","v1","v2"],
		"fallthrough":{"rollout":{%s"variations":[{"variation":0,"weight":40000},
		{"variation":1,"weight":20000},{"variation":2,"weight":40000}]}}}`, key, extra)
}

// TestBucketingReferenceValues places LaunchDarkly's reference contexts:
// hashKey.saltyA.userKeyA = 0.42157587, userKeyB = 0.6708485, userKeyC =
// 0.10343106, seed 61 with userKeyA = 0.09801207, integer 33333 =
// 0.54771423.
func TestBucketingReferenceValues(t *testing.T) {
	d := newTestData()
	d.flag(t, rolloutFlag("hashKey", ""))
	d.flag(t, rolloutFlag("seeded", `"seed":61,`))
	d.flag(t, rolloutFlag("hashKey-by-attr", `"bucketBy":"n",`))
	d.flag(t, rolloutFlag("hashKey-by-path", `"contextKind":"user","bucketBy":"/obj/n",`))
	d.flags["hashKey-by-attr"].Key = "hashKey" // same hash prefix, different document key
	d.flags["hashKey-by-path"].Key = "hashKey"
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "hashKey", `{"key":"userKeyA"}`, `"v1"`, 1, reasonFallthrough) // 0.4216
	d.expect(t, ev, "hashKey", `{"key":"userKeyB"}`, `"v2"`, 2, reasonFallthrough) // 0.6708
	d.expect(t, ev, "hashKey", `{"key":"userKeyC"}`, `"v0"`, 0, reasonFallthrough) // 0.1034
	d.expect(t, ev, "seeded", `{"key":"userKeyA"}`, `"v0"`, 0, reasonFallthrough)  // 0.0980
	// Integers bucket like their decimal string; other types give bucket 0.
	d.expect(t, ev, "hashKey-by-attr", `{"kind":"user","key":"x","n":33333}`, `"v1"`, 1, reasonFallthrough)
	d.expect(t, ev, "hashKey-by-attr", `{"kind":"user","key":"x","n":"33333"}`, `"v1"`, 1, reasonFallthrough)
	d.expect(t, ev, "hashKey-by-attr", `{"kind":"user","key":"x","n":33333.0}`, `"v1"`, 1, reasonFallthrough)
	d.expect(t, ev, "hashKey-by-path", `{"kind":"user","key":"x","obj":{"n":33333}}`, `"v1"`, 1, reasonFallthrough)
	for _, v := range []string{`33333.5`, `true`, `["33333"]`, `{"a":1}`} {
		d.expect(t, ev, "hashKey-by-attr", `{"kind":"user","key":"userKeyB","n":`+v+`}`, `"v0"`, 0, reasonFallthrough)
	}
	// A missing attribute gives bucket 0 too.
	d.expect(t, ev, "hashKey-by-attr", `{"key":"userKeyB"}`, `"v0"`, 0, reasonFallthrough)
}

func TestExperiments(t *testing.T) {
	d := newTestData()
	d.flag(t, rolloutFlag("hashKey", `"kind":"experiment",`))
	// bucketBy is ignored in experiments: userKeyB still buckets by key.
	d.flag(t, rolloutFlag("exp-bucketby", `"kind":"experiment","bucketBy":"n",`))
	d.flags["exp-bucketby"].Key = "hashKey"
	d.flag(t, `{"key":"untracked","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"kind":"experiment","variations":[{"variation":0,"weight":100000,"untracked":true},{"variation":1,"weight":0}]}}}`)
	d.flag(t, `{"key":"org-exp","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"kind":"experiment","contextKind":"org","variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}}`)
	d.flag(t, `{"key":"short","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"kind":"experiment","variations":[{"variation":0,"weight":1},{"variation":1,"weight":1}]}}}`)
	d.flag(t, `{"key":"rule-exp","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"variation":0},
		"rules":[{"id":"r","clauses":[],"rollout":{"kind":"experiment","variations":[{"variation":1,"weight":100000}]}}]}`)
	ev := evaluation.New(d, nil)
	inExp := `{"kind":"FALLTHROUGH","inExperiment":true}`
	r := d.expect(t, ev, "hashKey", `{"key":"userKeyB"}`, `"v2"`, 2, inExp)
	if !r.IsExperiment {
		t.Error("experiment result: IsExperiment should be true")
	}
	d.expect(t, ev, "exp-bucketby", `{"kind":"user","key":"userKeyB","n":33333}`, `"v2"`, 2, inExp)
	if r := d.expect(t, ev, "untracked", userA, `"a"`, 0, reasonFallthrough); r.IsExperiment {
		t.Error("untracked bucket: IsExperiment should be false")
	}
	// A context without the rollout's kind gets bucket 0 and is not in the experiment.
	d.expect(t, ev, "org-exp", userA, `"a"`, 0, reasonFallthrough)
	d.expect(t, ev, "org-exp", `{"kind":"multi","user":{"key":"a"},"org":{"key":"o"}}`, `"b"`, 1, inExp)
	// Past the end: the last bucket, still in the experiment.
	d.expect(t, ev, "short", userA, `"b"`, 1, inExp)
	d.expect(t, ev, "rule-exp", userA, `"b"`, 1, `{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"r","inExperiment":true}`)
}

func TestRolloutEdgeCases(t *testing.T) {
	d := newTestData()
	// Weights short of 100%: the last bucket takes the rest.
	d.flag(t, `{"key":"short","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"variations":[{"variation":0,"weight":1},{"variation":1,"weight":1}]}}}`)
	// The rollout's context kind picks the context; a missing kind gives bucket 0.
	d.flag(t, `{"key":"org","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"contextKind":"org","variations":[{"variation":0,"weight":0},{"variation":1,"weight":100000}]}}}`)
	// An invalid bucketBy reference is malformed (only with a context kind
	// is bucketBy parsed as a reference).
	d.flag(t, `{"key":"bad-ref","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"contextKind":"user","bucketBy":"/","variations":[{"variation":0,"weight":100000}]}}}`)
	d.flag(t, `{"key":"literal-ref","salt":"s","on":true,"variations":["a","b"],"fallthrough":{"rollout":{
		"bucketBy":"/","variations":[{"variation":0,"weight":0},{"variation":1,"weight":100000}]}}}`)
	ev := evaluation.New(d, nil)
	d.expect(t, ev, "short", userA, `"b"`, 1, reasonFallthrough)
	d.expect(t, ev, "org", userA, `"b"`, 1, reasonFallthrough) // bucket 0 is past the 0-weight bucket
	d.expect(t, ev, "org", `{"kind":"org","key":"x"}`, `"b"`, 1, reasonFallthrough)
	d.expect(t, ev, "bad-ref", userA, `null`, -1, reasonMalformed)
	d.expect(t, ev, "literal-ref", `{"kind":"user","key":"a","/":"x"}`, `"b"`, 1, reasonFallthrough)
}
