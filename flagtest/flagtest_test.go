package flagtest_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/flagtest"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/writer"
)

// eval evaluates key for ec through c and returns the detail.
func eval(t *testing.T, c *client.Client, key string, ec evalctx.Context) evaluation.Detail {
	t.Helper()
	_, d, _ := c.JSONVariationDetail(key, ec, jsonvalue.Null())
	return d
}

func mustUpdate(t *testing.T, td *flagtest.TestData, b *flagtest.FlagBuilder) {
	t.Helper()
	if err := td.Update(b); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func mustUpdateSegment(t *testing.T, td *flagtest.TestData, b *flagtest.SegmentBuilder) {
	t.Helper()
	if err := td.UpdateSegment(b); err != nil {
		t.Fatalf("UpdateSegment: %v", err)
	}
}

// want checks a detail's value and reason kind (and, for rule matches, the
// rule index).
func want(t *testing.T, d evaluation.Detail, value any, kind evaluation.ReasonKind) {
	t.Helper()
	v, err := jsonvalue.FromAny(value)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Value.Equal(v) || d.Reason.Kind != kind {
		t.Errorf("got %s (%s), want %s (%s)", d.Value.JSON(), d.Reason.Kind, v.JSON(), kind)
	}
}

var (
	alice = evalctx.New("alice")
	bob   = evalctx.New("bob")
)

func TestNewFlagIsBooleanTrueForAll(t *testing.T) {
	td := flagtest.New()
	mustUpdate(t, td, td.Flag("f"))
	c := td.Client(t)
	want(t, eval(t, c, "f", alice), true, evaluation.ReasonFallthrough)
	if got, err := c.BoolVariation("f", alice, false); err != nil || !got {
		t.Errorf("BoolVariation = %v, %v", got, err)
	}
	want(t, eval(t, c, "missing", alice), nil, evaluation.ReasonError)
}

func TestOnOffAndOffVariation(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdate(t, td, td.Flag("f").On(false))
	want(t, eval(t, c, "f", alice), false, evaluation.ReasonOff)

	mustUpdate(t, td, td.Flag("f").OffVariationIndex(-1))
	d := eval(t, c, "f", alice)
	if !d.IsDefaultValue() || d.Reason.Kind != evaluation.ReasonOff {
		t.Errorf("off flag without off variation: %+v, want the default with reason OFF", d)
	}
	mustUpdate(t, td, td.Flag("f").On(true).FallthroughIndex(1))
	want(t, eval(t, c, "f", alice), false, evaluation.ReasonFallthrough)
}

func TestMultiVariationFlags(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdate(t, td, td.Flag("color").Variations("red", "green", "blue").Fallthrough("blue").OffVariation("red"))
	if got, _ := c.StringVariation("color", alice, "none"); got != "blue" {
		t.Errorf("color = %q, want blue", got)
	}
	mustUpdate(t, td, td.Flag("color").On(false))
	if got, _ := c.StringVariation("color", alice, "none"); got != "red" {
		t.Errorf("color off = %q, want red", got)
	}
	// A value the flag lacks is added to its variations.
	mustUpdate(t, td, td.Flag("color").VariationForAll("purple"))
	if got, _ := c.StringVariation("color", alice, "none"); got != "purple" {
		t.Errorf("color = %q, want purple", got)
	}
	mustUpdate(t, td, td.Flag("limit").ValueForAll(42))
	if got, _ := c.IntVariation("limit", alice, 0); got != 42 {
		t.Errorf("limit = %d, want 42", got)
	}
	mustUpdate(t, td, td.Flag("config").ValueForAll(map[string]any{"requests": 100, "burst": []any{1, 2}}))
	got, _ := c.JSONVariation("config", alice, jsonvalue.Null())
	if w, _ := jsonvalue.Parse([]byte(`{"burst":[1,2],"requests":100}`)); !got.Equal(w) {
		t.Errorf("config = %s", got.JSON())
	}
	if got, _ := c.Float64Variation("limit", alice, 0); got != 42 {
		t.Errorf("limit as float = %v", got)
	}
}

func TestTargetsByKindAndKey(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	org := evalctx.NewWithKind("org", "acme")
	mustUpdate(t, td, td.Flag("f").
		Target("user", false, "alice").
		Target("org", false, "acme"))
	want(t, eval(t, c, "f", alice), false, evaluation.ReasonTargetMatch)
	want(t, eval(t, c, "f", bob), true, evaluation.ReasonFallthrough)
	want(t, eval(t, c, "f", org), false, evaluation.ReasonTargetMatch)
	want(t, eval(t, c, "f", evalctx.NewMulti(bob, org)), false, evaluation.ReasonTargetMatch)
	// A user key is not an org key.
	want(t, eval(t, c, "f", evalctx.NewWithKind("org", "alice")), true, evaluation.ReasonFallthrough)

	// Targeting a key again moves it.
	mustUpdate(t, td, td.Flag("f").Target("user", true, "alice").Target("user", false, "bob"))
	want(t, eval(t, c, "f", alice), true, evaluation.ReasonTargetMatch)
	want(t, eval(t, c, "f", bob), false, evaluation.ReasonTargetMatch)
	mustUpdate(t, td, td.Flag("f").ClearTargets())
	want(t, eval(t, c, "f", bob), true, evaluation.ReasonFallthrough)

	// User targets are stored in both lists, as LaunchDarkly writes them.
	mustUpdate(t, td, td.Flag("g").Target("user", false, "alice"))
	it, _, _ := td.Get(t.Context(), store.Features, "g")
	for _, part := range []string{`"targets":[{"variation":1,"values":["alice"]}]`, `"contextTargets":[{"contextKind":"user","variation":1,"values":[]}]`} {
		if !bytes.Contains(it.Data, []byte(part)) {
			t.Errorf("stored flag %s lacks %s", it.Data, part)
		}
	}
}

func TestRulesWithEveryOperator(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdateSegment(t, td, td.Segment("beta").Included("in-beta"))
	user := func(key string, attrs map[string]any) evalctx.Context {
		b := evalctx.NewBuilder(key)
		for k, v := range attrs {
			jv, err := jsonvalue.FromAny(v)
			if err != nil {
				t.Fatal(err)
			}
			b.Set(k, jv)
		}
		return b.Build()
	}
	cases := []struct {
		name     string
		clause   flagtest.Clause
		match    evalctx.Context
		nonMatch evalctx.Context
	}{
		{"in", flagtest.Match("country", model.OpIn, "fr", "de"), user("u", map[string]any{"country": "de"}), user("u", map[string]any{"country": "us"})},
		{"endsWith", flagtest.Match("email", model.OpEndsWith, "@example.com"), user("u", map[string]any{"email": "a@example.com"}), user("u", map[string]any{"email": "a@example.org"})},
		{"startsWith", flagtest.Match("name", model.OpStartsWith, "Dr"), user("u", map[string]any{"name": "Dr Who"}), user("u", map[string]any{"name": "Who"})},
		{"matches", flagtest.Match("email", model.OpMatches, `^[a-z]+@corp\.`), user("u", map[string]any{"email": "ann@corp.io"}), user("u", map[string]any{"email": "Ann@corp.io"})},
		{"contains", flagtest.Match("email", model.OpContains, "corp"), user("u", map[string]any{"email": "ann@corp.io"}), user("u", map[string]any{"email": "ann@home.io"})},
		{"lessThan", flagtest.Match("age", model.OpLessThan, 18), user("u", map[string]any{"age": 17}), user("u", map[string]any{"age": 18})},
		{"lessThanOrEqual", flagtest.Match("age", model.OpLessThanOrEqual, 18), user("u", map[string]any{"age": 18}), user("u", map[string]any{"age": 19})},
		{"greaterThan", flagtest.Match("age", model.OpGreaterThan, 65), user("u", map[string]any{"age": 66.5}), user("u", map[string]any{"age": 65})},
		{"greaterThanOrEqual", flagtest.Match("age", model.OpGreaterThanOrEqual, 65), user("u", map[string]any{"age": 65}), user("u", map[string]any{"age": 64})},
		{"before", flagtest.Match("signup", model.OpBefore, "2024-01-01T00:00:00Z"), user("u", map[string]any{"signup": "2023-06-01T00:00:00Z"}), user("u", map[string]any{"signup": 1735689600000})},
		{"after", flagtest.Match("signup", model.OpAfter, 1704067200000), user("u", map[string]any{"signup": "2024-06-01T00:00:00+02:00"}), user("u", map[string]any{"signup": "2023-12-31T23:59:59Z"})},
		{"semVerEqual", flagtest.Match("app", model.OpSemVerEqual, "2.0.0"), user("u", map[string]any{"app": "2"}), user("u", map[string]any{"app": "2.0.1"})},
		{"semVerLessThan", flagtest.Match("app", model.OpSemVerLessThan, "2.1.0"), user("u", map[string]any{"app": "2.0.9"}), user("u", map[string]any{"app": "2.1.0"})},
		{"semVerGreaterThan", flagtest.Match("app", model.OpSemVerGreaterThan, "2.1.0"), user("u", map[string]any{"app": "2.1.1-beta"}), user("u", map[string]any{"app": "2.1.0"})},
		{"segmentMatch", flagtest.InSegment("beta"), evalctx.New("in-beta"), evalctx.New("outside")},
		{"negated in", flagtest.NotMatch("country", model.OpIn, "us"), user("u", map[string]any{"country": "fr"}), user("u", map[string]any{"country": "us"})},
		{"not in segment", flagtest.NotInSegment("beta"), evalctx.New("outside"), evalctx.New("in-beta")},
		{"array attribute", flagtest.Match("groups", model.OpIn, "admins"), user("u", map[string]any{"groups": []any{"staff", "admins"}}), user("u", map[string]any{"groups": []any{"staff"}})},
		{"kind attribute", flagtest.Match("kind", model.OpIn, "org"), evalctx.NewWithKind("org", "o"), alice},
		{
			"context kind and reference",
			flagtest.MatchContext("org", "/address/city", model.OpIn, "Paris"),
			evalctx.NewMulti(alice, evalctx.NewBuilder("acme").Kind("org").Set("address", jsonvalue.Object(map[string]jsonvalue.Value{"city": jsonvalue.String("Paris")})).Build()),
			evalctx.NewMulti(alice, evalctx.NewBuilder("acme").Kind("org").Set("address", jsonvalue.Object(map[string]jsonvalue.Value{"city": jsonvalue.String("Lyon")})).Build()),
		},
		{"negated context clause", flagtest.NotMatchContext("org", "key", model.OpIn, "acme"), evalctx.NewWithKind("org", "other"), evalctx.NewWithKind("org", "acme")},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "rule-flag-" + strconv.Itoa(i)
			mustUpdate(t, td, td.Flag(key).Variations("fallthrough", "matched").Fallthrough("fallthrough").Rule(tc.clause).ID("the-rule").Then("matched"))
			d := eval(t, c, key, tc.match)
			want(t, d, "matched", evaluation.ReasonRuleMatch)
			if d.Reason.RuleID != "the-rule" || d.Reason.RuleIndex != 0 {
				t.Errorf("reason = %+v, want rule 0 with ID the-rule", d.Reason)
			}
			want(t, eval(t, c, key, tc.nonMatch), "fallthrough", evaluation.ReasonFallthrough)
		})
	}
}

func TestRulesInOrderWithSeveralClauses(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdate(t, td, td.Flag("f").Variations("none", "first", "second").Fallthrough("none").
		IfMatch("country", "fr").AndNotMatch("plan", "free").Then("first").
		IfMatch("country", "fr").Then("second"))
	paid := evalctx.NewBuilder("u").SetString("country", "fr").SetString("plan", "pro").Build()
	free := evalctx.NewBuilder("u").SetString("country", "fr").SetString("plan", "free").Build()
	d := eval(t, c, "f", paid)
	want(t, d, "first", evaluation.ReasonRuleMatch)
	if d.Reason.RuleID != "rule0" {
		t.Errorf("rule ID = %q, want rule0", d.Reason.RuleID)
	}
	d = eval(t, c, "f", free)
	want(t, d, "second", evaluation.ReasonRuleMatch)
	if d.Reason.RuleIndex != 1 || d.Reason.RuleID != "rule1" {
		t.Errorf("reason = %+v, want rule 1", d.Reason)
	}
	mustUpdate(t, td, td.Flag("f").ClearRules())
	want(t, eval(t, c, "f", paid), "none", evaluation.ReasonFallthrough)
}

// bucket computes LaunchDarkly's bucket of a context key independently of
// the evaluator: SHA-1 of "flagKey.salt.key", first 15 hex digits over
// 0xFFFFFFFFFFFFFFF, in thousandths of a percent.
func bucket(flagKey, salt, key string) int {
	sum := sha1.Sum([]byte(flagKey + "." + salt + "." + key))
	n, _ := strconv.ParseUint(hex.EncodeToString(sum[:])[:15], 16, 64)
	return int(float64(n) / float64(0xFFFFFFFFFFFFFFF) * 100000)
}

func TestPercentageRollout(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdate(t, td, td.Flag("f").Salt("salty").FallthroughRollout(flagtest.Split(true, 30, false, 70.0)))
	trues := 0
	for i := range 200 {
		key := fmt.Sprintf("user-%d", i)
		d := eval(t, c, "f", evalctx.New(key))
		wantTrue := bucket("f", "salty", key) < 30000
		want(t, d, wantTrue, evaluation.ReasonFallthrough)
		if d.Reason.InExperiment {
			t.Fatalf("a plain rollout reported inExperiment")
		}
		if wantTrue {
			trues++
		}
	}
	if trues < 30 || trues > 90 {
		t.Errorf("%d of 200 contexts got true from a 30%% rollout", trues)
	}

	// A rule's rollout, bucketed by another attribute of another kind.
	mustUpdate(t, td, td.Flag("g").Salt("s").Rule(flagtest.MatchContext("org", "key", model.OpIn, "acme", "globex")).
		ThenRollout(flagtest.Rollout{ContextKind: "org", BucketBy: "region", Buckets: []flagtest.Bucket{{Value: true, Weight: 50000}, {Value: false, Weight: 50000}}}))
	for _, region := range []string{"eu", "us", "ap", "sa"} {
		org := evalctx.NewBuilder("acme").Kind("org").SetString("region", region).Build()
		other := evalctx.NewBuilder("globex").Kind("org").SetString("region", region).Build()
		want(t, eval(t, c, "g", org), bucket("g", "s", region) < 50000, evaluation.ReasonRuleMatch)
		// Same region, same bucket: the key does not count.
		if a, b := eval(t, c, "g", org), eval(t, c, "g", other); !a.Value.Equal(b.Value) {
			t.Errorf("region %s: %s and %s differ, want the same bucket", region, a.Value.JSON(), b.Value.JSON())
		}
	}
}

func TestExperiment(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	seed := 61
	mustUpdate(t, td, td.Flag("exp").Variations("control", "treatment", "holdout").FallthroughRollout(flagtest.Rollout{
		Experiment: true,
		Seed:       &seed,
		Buckets: []flagtest.Bucket{
			{Value: "control", Weight: flagtest.Percent(40)},
			{Value: "treatment", Weight: flagtest.Percent(40)},
			{Value: "holdout", Weight: flagtest.Percent(20), Untracked: true},
		},
	}))
	seen := map[string]bool{}
	for i := range 100 {
		d := eval(t, c, "exp", evalctx.New(fmt.Sprintf("user-%d", i)))
		v := d.Value.Str()
		seen[v] = true
		if inExp := v != "holdout"; d.Reason.InExperiment != inExp {
			t.Errorf("%s: inExperiment = %v, want %v", v, d.Reason.InExperiment, inExp)
		}
		// The seed replaces "flagKey.salt" in the hash.
		b := bucketSeed(seed, fmt.Sprintf("user-%d", i))
		wantV := "holdout"
		switch {
		case b < 40000:
			wantV = "control"
		case b < 80000:
			wantV = "treatment"
		}
		if v != wantV {
			t.Errorf("user-%d: got %s, want %s (bucket %d)", i, v, wantV, b)
		}
	}
	if len(seen) != 3 {
		t.Errorf("100 contexts saw %v, want all three variations", seen)
	}
}

func bucketSeed(seed int, key string) int {
	sum := sha1.Sum([]byte(strconv.Itoa(seed) + "." + key))
	n, _ := strconv.ParseUint(hex.EncodeToString(sum[:])[:15], 16, 64)
	return int(float64(n) / float64(0xFFFFFFFFFFFFFFF) * 100000)
}

func TestPrerequisites(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdate(t, td, td.Flag("base").Variations("a", "b").Fallthrough("a"))
	mustUpdate(t, td, td.Flag("dependent").Prerequisite("base", "b"))
	d := eval(t, c, "dependent", alice)
	want(t, d, false, evaluation.ReasonPrerequisiteFailed)
	if d.Reason.PrerequisiteKey != "base" {
		t.Errorf("prerequisite key = %q", d.Reason.PrerequisiteKey)
	}
	mustUpdate(t, td, td.Flag("base").Fallthrough("b"))
	want(t, eval(t, c, "dependent", alice), true, evaluation.ReasonFallthrough)

	// By index, and a prerequisite on a flag that is not there yet.
	mustUpdate(t, td, td.Flag("by-index").PrerequisiteIndex("base", 0))
	want(t, eval(t, c, "by-index", alice), false, evaluation.ReasonPrerequisiteFailed)
	if err := td.Update(td.Flag("x").Prerequisite("nope", true)); err == nil || !strings.Contains(err.Error(), `prerequisite "nope" is not in the test data`) {
		t.Errorf("prerequisite on an unknown flag by value: %v", err)
	}
	if err := td.Update(td.Flag("x").Prerequisite("base", "zzz")); err == nil || !strings.Contains(err.Error(), "has no variation") {
		t.Errorf("prerequisite on a value the flag lacks: %v", err)
	}
	mustUpdate(t, td, td.Flag("dependent").ClearPrerequisites())
	want(t, eval(t, c, "dependent", alice), true, evaluation.ReasonFallthrough)
}

func TestSegments(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdateSegment(t, td, td.Segment("s").
		Included("alice").
		Excluded("bob").
		IncludedContexts("org", "acme").
		ExcludedContexts("org", "evil").
		Rule(flagtest.Match("email", model.OpEndsWith, "@corp.io")))
	mustUpdate(t, td, td.Flag("f").Fallthrough(false).Rule(flagtest.InSegment("s")).Then(true))
	bobCorp := evalctx.NewBuilder("bob").SetString("email", "bob@corp.io").Build()
	carolCorp := evalctx.NewBuilder("carol").SetString("email", "carol@corp.io").Build()
	evilCorp := evalctx.NewBuilder("evil").Kind("org").SetString("email", "x@corp.io").Build()
	for _, tc := range []struct {
		name string
		ec   evalctx.Context
		in   bool
	}{
		{"included", alice, true},
		{"excluded despite rule", bobCorp, false},
		{"by rule", carolCorp, true},
		{"included org", evalctx.NewWithKind("org", "acme"), true},
		{"excluded org", evalctx.NewWithKind("org", "evil"), false},
		// An exclusion decides before the rules: carol matches the rule,
		// but the org beside her is excluded.
		{"exclusion before rules", evalctx.NewMulti(evilCorp, carolCorp), false},
		{"nobody", evalctx.New("dave"), false},
	} {
		kind := evaluation.ReasonFallthrough
		if tc.in {
			kind = evaluation.ReasonRuleMatch
		}
		t.Run(tc.name, func(t *testing.T) { want(t, eval(t, c, "f", tc.ec), tc.in, kind) })
	}

	// A weighted rule admits a share of matching contexts.
	mustUpdateSegment(t, td, td.Segment("half").Salt("salt").WeightedRule(flagtest.Percent(50), flagtest.Match("key", model.OpStartsWith, "user-")))
	mustUpdate(t, td, td.Flag("h").Fallthrough(false).Rule(flagtest.InSegment("half")).Then(true))
	for i := range 50 {
		key := fmt.Sprintf("user-%d", i)
		got, _ := c.BoolVariation("h", evalctx.New(key), false)
		if w := bucket("half", "salt", key) < 50000; got != w {
			t.Errorf("%s in half = %v, want %v", key, got, w)
		}
	}

	// Segments update and delete like flags.
	mustUpdateSegment(t, td, td.Segment("s").Excluded("alice"))
	want(t, eval(t, c, "f", alice), true, evaluation.ReasonRuleMatch) // included wins
	if err := td.DeleteSegment("s"); err != nil {
		t.Fatal(err)
	}
	want(t, eval(t, c, "f", alice), false, evaluation.ReasonFallthrough)
}

func TestBigSegments(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	mustUpdateSegment(t, td, td.Segment("big").Unbounded("").BigIncluded("alice", "carol").BigExcluded("bob"))
	mustUpdate(t, td, td.Flag("f").Fallthrough(false).Rule(flagtest.InSegment("big")).Then(true))
	d := eval(t, c, "f", alice)
	want(t, d, true, evaluation.ReasonRuleMatch)
	if d.Reason.BigSegmentsStatus != evaluation.BigSegmentsHealthy {
		t.Errorf("big segments status = %q, want HEALTHY", d.Reason.BigSegmentsStatus)
	}
	want(t, eval(t, c, "f", bob), false, evaluation.ReasonFallthrough)

	// A new membership replaces the old one at once.
	mustUpdateSegment(t, td, td.Segment("big").BigIncluded("bob"))
	want(t, eval(t, c, "f", alice), false, evaluation.ReasonFallthrough)
	want(t, eval(t, c, "f", bob), true, evaluation.ReasonRuleMatch)

	// Another generation moves the membership with it.
	mustUpdateSegment(t, td, td.Segment("big").Generation(2))
	m, err := td.Membership(t.Context(), store.ContextHash("bob"))
	if err != nil || len(m.Included) != 1 || m.Included[0] != "big.g2" {
		t.Errorf("membership of bob = %+v, %v; want [big.g2]", m, err)
	}
	want(t, eval(t, c, "f", bob), true, evaluation.ReasonRuleMatch)

	// Without a generation a big segment is not configured.
	mustUpdateSegment(t, td, td.Segment("big").Generation(-1))
	d = eval(t, c, "f", bob)
	want(t, d, false, evaluation.ReasonFallthrough)
	if d.Reason.BigSegmentsStatus != evaluation.BigSegmentsNotConfigured {
		t.Errorf("status = %q, want NOT_CONFIGURED", d.Reason.BigSegmentsStatus)
	}
}

func TestPreconfiguredFlagFromJSON(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	err := td.UpdateFlagJSON([]byte(`{"key":"pre","version":7,"on":true,"variations":["x","y"],"offVariation":0,
		"fallthrough":{"variation":1},"targets":[{"variation":0,"values":["alice"]}],"salt":"s","futureProperty":{"a":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	want(t, eval(t, c, "pre", alice), "x", evaluation.ReasonTargetMatch)
	want(t, eval(t, c, "pre", bob), "y", evaluation.ReasonFallthrough)
	it, _, _ := td.Get(t.Context(), store.Features, "pre")
	if it.Version != 7 || !bytes.Contains(it.Data, []byte(`"futureProperty":{"a":1}`)) {
		t.Errorf("stored %s (v%d), want version 7 with the unknown property kept", it.Data, it.Version)
	}
	// The builder starts from the JSON flag: its targets stay.
	mustUpdate(t, td, td.Flag("pre").Target("user", "x", "bob"))
	want(t, eval(t, c, "pre", alice), "x", evaluation.ReasonTargetMatch)
	want(t, eval(t, c, "pre", bob), "x", evaluation.ReasonTargetMatch)
	it, _, _ = td.Get(t.Context(), store.Features, "pre")
	if it.Version != 8 {
		t.Errorf("version after an update = %d, want 8", it.Version)
	}

	if err := td.UpdateSegmentJSON([]byte(`{"key":"seg","included":["carol"],"version":3}`)); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, td, td.Flag("uses-seg").Fallthrough(false).Rule(flagtest.InSegment("seg")).Then(true))
	want(t, eval(t, c, "uses-seg", evalctx.New("carol")), true, evaluation.ReasonRuleMatch)

	for _, bad := range []string{`{"key":"b","on":"yes"}`, `not json`, `{"version":1}`} {
		if err := td.UpdateFlagJSON([]byte(bad)); err == nil {
			t.Errorf("UpdateFlagJSON(%s) succeeded", bad)
		}
	}
}

// TestStoredBytesAreCanonical checks that every item is what a writer
// stores: the model's encoding of the decoded item, byte for byte.
func TestStoredBytesAreCanonical(t *testing.T) {
	td := flagtest.New()
	mustUpdate(t, td, td.Flag("f").Variations("a", "b").Target("user", "a", "alice").Target("org", "b", "acme").
		Rule(flagtest.MatchContext("org", "/a/b", model.OpIn, 1)).Then("b").
		FallthroughRollout(flagtest.Split("a", 50, "b", 50)).TrackEvents(true).ClientSide(true, false))
	mustUpdateSegment(t, td, td.Segment("s").Included("x").AddRule(flagtest.SegmentRule{Clauses: []flagtest.Clause{flagtest.Match("k", model.OpIn, "v")}, Weight: new(int), BucketBy: "k"}))
	f, _, _ := td.Get(t.Context(), store.Features, "f")
	mf, err := model.DecodeFlag(f.Data)
	if err != nil {
		t.Fatalf("stored flag does not decode: %v\n%s", err, f.Data)
	}
	if enc := mf.AppendJSON(nil); !bytes.Equal(enc, f.Data) {
		t.Errorf("stored flag is not canonical:\nstored:  %s\nencoded: %s", f.Data, enc)
	}
	s, _, _ := td.Get(t.Context(), store.Segments, "s")
	ms, err := model.DecodeSegment(s.Data)
	if err != nil {
		t.Fatal(err)
	}
	if enc := ms.AppendJSON(nil); !bytes.Equal(enc, s.Data) {
		t.Errorf("stored segment is not canonical:\nstored:  %s\nencoded: %s", s.Data, enc)
	}
}

func TestUpdatesReachClientsAndListenersAtOnce(t *testing.T) {
	td := flagtest.New()
	c1, c2 := td.Client(t), td.Client(t)
	var mu sync.Mutex
	var changes []store.Change
	if err := td.Notify(t.Context(), func(cs []store.Change) {
		mu.Lock()
		changes = append(changes, cs...)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		v := i%2 == 0
		mustUpdate(t, td, td.Flag("f").VariationForAll(v))
		for _, c := range []*client.Client{c1, c2} {
			if got, _ := c.BoolVariation("f", alice, !v); got != v {
				t.Fatalf("update %d: client saw %v, want %v", i, got, v)
			}
		}
		it, _, _ := td.Get(t.Context(), store.Features, "f")
		if it.Version != i+1 {
			t.Errorf("update %d stored version %d, want %d", i, it.Version, i+1)
		}
	}
	testwait.Eventually(t, "five change notifications", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changes) == 5
	})
	if err := td.Delete("f"); err != nil {
		t.Fatal(err)
	}
	want(t, eval(t, c1, "f", alice), nil, evaluation.ReasonError)
	it, _, _ := td.Get(t.Context(), store.Features, "f")
	if !it.Deleted || it.Version != 6 {
		t.Errorf("after Delete: %+v, want a tombstone at version 6", it)
	}
	// A key deleted and defined again comes back above the tombstone.
	mustUpdate(t, td, td.Flag("f"))
	want(t, eval(t, c1, "f", alice), true, evaluation.ReasonFallthrough)
	if got := td.FlagKeys(); len(got) != 1 || got[0] != "f" {
		t.Errorf("FlagKeys = %v", got)
	}
}

func TestBuilderMistakesAreErrors(t *testing.T) {
	td := flagtest.New()
	cases := []struct {
		name string
		b    *flagtest.FlagBuilder
		msg  string
	}{
		{"fallthrough index", td.Flag("f").FallthroughIndex(5), "fallthrough: variation 5 is out of range"},
		{"off index", td.Flag("f").OffVariationIndex(2), "off variation: variation 2 is out of range"},
		{"target index", td.Flag("f").TargetIndex("user", 9, "a"), "target: variation 9"},
		{"rule index", td.Flag("f").IfMatch("a", "b").ThenIndex(3), "rules[0]: variation 3"},
		{"not JSON", td.Flag("f").Fallthrough(func() {}), "flag \"f\""},
		{"clause without operator", td.Flag("f").Rule(flagtest.Clause{Attribute: "a"}).Then(true), "has no operator"},
		{"clause without attribute", td.Flag("f").Rule(flagtest.Clause{Op: model.OpIn}).Then(true), "has no attribute"},
		{"empty rollout", td.Flag("f").FallthroughRollout(flagtest.Split(true)), "rollout has no buckets"},
		{"negative weight", td.Flag("f").FallthroughRollout(flagtest.Rollout{Buckets: []flagtest.Bucket{{Value: true, Weight: -1}}}), "negative"},
		{"bad reference", td.Flag("f").Rule(flagtest.MatchContext("org", "/", model.OpIn, 1)).Then(true), "clause attribute"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := td.Update(tc.b)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Update = %v, want an error containing %q", err, tc.msg)
			}
			if _, found, _ := td.Get(t.Context(), store.Features, "f"); found {
				t.Error("a flag with a mistake was stored")
			}
		})
	}
}

func TestStoreFailureIsUpdateError(t *testing.T) {
	td := flagtest.New()
	td.SetError(store.ErrUnavailable)
	if err := td.Update(td.Flag("f")); err == nil {
		t.Fatal("Update on a failing store succeeded")
	}
	td.SetError(nil)
	mustUpdate(t, td, td.Flag("f"))
}

// TestEventAndClientSideProperties checks the properties that shape events
// and client-side state, through the client's AllFlagsState.
func TestEventAndClientSideProperties(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	until := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	mustUpdate(t, td, td.Flag("tracked").TrackEvents(true).DebugEventsUntil(until).ClientSide(true, false))
	mustUpdate(t, td, td.Flag("server-only").TrackEventsFallthrough(true).SamplingRatio(10).ExcludeFromSummaries(true))
	mustUpdate(t, td, td.Flag("rule-tracked").Fallthrough(false).IfMatch("key", "alice").TrackEvents(true).Then(true))

	all := c.AllFlagsState(t.Context(), alice, client.AllFlagsOptions{WithReasons: true})
	tracked, _ := all.Flag("tracked")
	if !tracked.TrackEvents || tracked.DebugEventsUntilDate != until.UnixMilli() {
		t.Errorf("tracked = %+v, want trackEvents and debugEventsUntilDate %d", tracked, until.UnixMilli())
	}
	// trackEventsFallthrough and a rule's trackEvents make those
	// evaluations experiments (events carry the reason).
	if st, _ := all.Flag("server-only"); !st.TrackReason {
		t.Errorf("server-only = %+v, want the fallthrough tracked", st)
	}
	if st, _ := all.Flag("rule-tracked"); !st.TrackReason {
		t.Errorf("rule-tracked = %+v, want the rule tracked", st)
	}
	clientSide := c.AllFlagsState(t.Context(), alice, client.AllFlagsOptions{ClientSideOnly: true})
	if keys := clientSide.Keys(); len(keys) != 1 || keys[0] != "tracked" {
		t.Errorf("client-side flags = %v, want only tracked", keys)
	}
	it, _, _ := td.Get(t.Context(), store.Features, "server-only")
	f, err := model.DecodeFlag(it.Data)
	if err != nil || f.SamplingRatio == nil || *f.SamplingRatio != 10 || !f.ExcludeFromSummaries {
		t.Errorf("server-only stored as %s (%v)", it.Data, err)
	}
	mustUpdate(t, td, td.Flag("server-only").SamplingRatio(-1).ExcludeFromSummaries(false))
	it, _, _ = td.Get(t.Context(), store.Features, "server-only")
	if bytes.Contains(it.Data, []byte("samplingRatio")) || bytes.Contains(it.Data, []byte("excludeFromSummaries")) {
		t.Errorf("cleared properties still stored: %s", it.Data)
	}
}

// TestClientWithCacheFollowsNotifications builds a client with a cache whose
// TTL is an hour: updates reach it through the store's change
// notifications, a moment after Update returns.
func TestClientWithCacheFollowsNotifications(t *testing.T) {
	td := flagtest.New()
	mustUpdate(t, td, td.Flag("f").VariationForAll(true))
	cfg := td.ClientConfig()
	cfg.Cache = cache.Options{TTL: time.Hour}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, _ := c.BoolVariation("f", alice, false); !got {
		t.Fatal("f = false, want true")
	}
	// The cache subscribes in the background after client.New; a change
	// made before it listens reaches it only with the TTL.
	testwait.Eventually(t, "the cache to subscribe", func() bool { return td.Subscribers() > 0 })
	mustUpdate(t, td, td.Flag("f").VariationForAll(false))
	testwait.Eventually(t, "the cached client to see the update", func() bool {
		got, _ := c.BoolVariation("f", alice, true)
		return !got
	})
}

func TestUpdateFlagData(t *testing.T) {
	td := flagtest.New()
	c := td.Client(t)
	err := td.UpdateFlagData("flags.yaml", []byte(`
flags:
  beta-ui:
    on: true
    variations: [false, true]
    fallthrough: {variation: 0}
    rules:
      - id: testers
        variation: 1
        clauses: [{attribute: "", op: segmentMatch, values: [testers]}]
segments:
  testers:
    included: [alice]
flagValues:
  banner: Welcome
`))
	if err != nil {
		t.Fatal(err)
	}
	want(t, eval(t, c, "beta-ui", alice), true, evaluation.ReasonRuleMatch)
	want(t, eval(t, c, "beta-ui", bob), false, evaluation.ReasonFallthrough)
	want(t, eval(t, c, "banner", bob), "Welcome", evaluation.ReasonFallthrough)
	// The builder continues from the file's flags.
	mustUpdate(t, td, td.Flag("beta-ui").Target("user", true, "bob"))
	want(t, eval(t, c, "beta-ui", bob), true, evaluation.ReasonTargetMatch)

	// An invalid file stores nothing and names the place.
	err = td.UpdateFlagData("bad.json", []byte(`{"flags":{"x":{"on":true,"variations":[1],"fallthrough":{"variation":4}}}}`))
	var ve *writer.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(err.Error(), "bad.json:1:") {
		t.Errorf("UpdateFlagData of an invalid file = %v, want a *writer.ValidationError with the position", err)
	}
	if _, found, _ := td.Get(t.Context(), store.Features, "x"); found {
		t.Error("a flag of an invalid file was stored")
	}
}
