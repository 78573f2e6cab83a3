package flagtest

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// FlagBuilder describes one flag. Get one from [TestData.Flag]; its methods
// change the description and return the builder, so calls chain; nothing
// reaches the store until [TestData.Update]. Methods that take a value
// (any Go value [jsonvalue.FromAny] accepts) serve the variation equal to
// it, adding it to the flag's variations when it has none equal; methods
// whose name ends in Index take a variation index instead.
//
// A mistake (a value that is not JSON, an index out of range, a clause
// without operator) is remembered and returned by Update, which then writes
// nothing.
type FlagBuilder struct {
	f       model.Flag
	prereqs []prereq
	err     error
	// ownTargets is set once the builder has changed the targets: they are
	// all in f.ContextTargets and build writes the user-kind ones in
	// "targets" too. A flag given as JSON keeps its lists as they were.
	ownTargets bool
}

// prereq is a prerequisite whose required variation is given by value and
// resolved against the prerequisite flag at Update.
type prereq struct {
	key     string
	value   jsonvalue.Value
	index   int
	byValue bool
}

// newFlag is the flag [TestData.Flag] starts from, as LaunchDarkly's test
// data source does: a boolean flag that is on and serves true to everyone,
// with false as its off variation.
func newFlag(key string) *FlagBuilder {
	b := &FlagBuilder{f: model.Flag{Key: key}}
	return b.BooleanFlag().On(true).Fallthrough(true).OffVariation(false)
}

// Key returns the flag's key.
func (b *FlagBuilder) Key() string { return b.f.Key }

func (b *FlagBuilder) fail(err error) {
	if b.err == nil {
		b.err = fmt.Errorf("flag %q: %w", b.f.Key, err)
	}
}

// index returns the index of the variation equal to v, adding v to the
// variations when none is.
func (b *FlagBuilder) index(v any) int {
	jv, err := jsonvalue.FromAny(v)
	if err != nil {
		b.fail(err)
		return 0
	}
	if i := slices.IndexFunc(b.f.Variations, jv.Equal); i >= 0 {
		return i
	}
	b.f.Variations = append(b.f.Variations, jv)
	return len(b.f.Variations) - 1
}

func intPtr(i int) *int { return &i }

// BooleanFlag makes the flag's variations [true, false], as in
// LaunchDarkly's test data source, unless they already are; indices set
// before are kept, so call it first when changing a flag's type.
func (b *FlagBuilder) BooleanFlag() *FlagBuilder {
	boolean := []jsonvalue.Value{jsonvalue.Bool(true), jsonvalue.Bool(false)}
	if !slices.EqualFunc(b.f.Variations, boolean, jsonvalue.Value.Equal) {
		b.f.Variations = boolean
	}
	return b
}

// Variations replaces the flag's variations.
func (b *FlagBuilder) Variations(values ...any) *FlagBuilder {
	vs := make([]jsonvalue.Value, 0, len(values))
	for _, v := range values {
		jv, err := jsonvalue.FromAny(v)
		if err != nil {
			b.fail(err)
			return b
		}
		vs = append(vs, jv)
	}
	b.f.Variations = vs
	return b
}

// On turns targeting on or off. An off flag serves its off variation (or
// the caller's default when it has none) with reason OFF.
func (b *FlagBuilder) On(on bool) *FlagBuilder {
	b.f.On = on
	return b
}

// Fallthrough makes the flag serve value when no target or rule matches.
func (b *FlagBuilder) Fallthrough(value any) *FlagBuilder {
	return b.FallthroughIndex(b.index(value))
}

// FallthroughIndex makes the flag serve variation i when no target or rule
// matches.
func (b *FlagBuilder) FallthroughIndex(i int) *FlagBuilder {
	b.f.Fallthrough = model.VariationOrRollout{Variation: intPtr(i)}
	return b
}

// FallthroughRollout makes the flag serve a percentage rollout or an
// experiment when no target or rule matches.
func (b *FlagBuilder) FallthroughRollout(r Rollout) *FlagBuilder {
	mr := b.rollout(r)
	b.f.Fallthrough = model.VariationOrRollout{Rollout: mr}
	return b
}

// OffVariation makes the flag serve value while it is off.
func (b *FlagBuilder) OffVariation(value any) *FlagBuilder {
	return b.OffVariationIndex(b.index(value))
}

// OffVariationIndex makes the flag serve variation i while it is off; a
// negative i removes the off variation (an off flag then gives the caller's
// default).
func (b *FlagBuilder) OffVariationIndex(i int) *FlagBuilder {
	if i < 0 {
		b.f.OffVariation = nil
		return b
	}
	b.f.OffVariation = intPtr(i)
	return b
}

// VariationForAll makes the flag serve value to everyone: it turns the flag
// on, removes its targets and rules, and falls through to value.
func (b *FlagBuilder) VariationForAll(value any) *FlagBuilder {
	return b.On(true).ClearTargets().ClearRules().Fallthrough(value)
}

// ValueForAll makes value the flag's only variation and serves it to
// everyone, whatever the flag's type was.
func (b *FlagBuilder) ValueForAll(value any) *FlagBuilder {
	b.f.Variations = nil
	b.f.OffVariation = nil
	return b.VariationForAll(value)
}

// Target makes the flag serve value to the contexts of the given kind with
// the given keys (individual targeting), before any rule. A key targeted
// before with another value moves to this one.
func (b *FlagBuilder) Target(kind evalctx.Kind, value any, keys ...string) *FlagBuilder {
	return b.TargetIndex(kind, b.index(value), keys...)
}

// TargetIndex is [FlagBuilder.Target] with a variation index.
func (b *FlagBuilder) TargetIndex(kind evalctx.Kind, i int, keys ...string) *FlagBuilder {
	if kind == "" {
		kind = evalctx.DefaultKind
	}
	b.userTargetsToContextTargets()
	for t := range b.f.ContextTargets {
		tg := &b.f.ContextTargets[t]
		if tg.ContextKind == kind {
			tg.Values = slices.DeleteFunc(slices.Clone(tg.Values), func(k string) bool { return slices.Contains(keys, k) })
		}
	}
	t := slices.IndexFunc(b.f.ContextTargets, func(tg model.Target) bool { return tg.ContextKind == kind && tg.Variation == i })
	if t < 0 {
		b.f.ContextTargets = append(b.f.ContextTargets, model.Target{ContextKind: kind, Variation: i})
		t = len(b.f.ContextTargets) - 1
	}
	tg := &b.f.ContextTargets[t]
	tg.Values = append(slices.Clone(tg.Values), keys...)
	b.f.ContextTargets = slices.DeleteFunc(b.f.ContextTargets, func(tg model.Target) bool { return len(tg.Values) == 0 })
	b.ownTargets = true
	return b
}

// userTargetsToContextTargets moves the older "targets" list (of a flag
// given as JSON) into ContextTargets, where the builder keeps every target.
func (b *FlagBuilder) userTargetsToContextTargets() {
	for _, t := range b.f.Targets {
		i := slices.IndexFunc(b.f.ContextTargets, func(ct model.Target) bool {
			return (ct.ContextKind == "" || ct.ContextKind == evalctx.DefaultKind) && ct.Variation == t.Variation && len(ct.Values) == 0
		})
		if i >= 0 {
			b.f.ContextTargets[i] = model.Target{ContextKind: evalctx.DefaultKind, Variation: t.Variation, Values: slices.Clone(t.Values)}
		} else {
			b.f.ContextTargets = append(b.f.ContextTargets, model.Target{ContextKind: evalctx.DefaultKind, Variation: t.Variation, Values: slices.Clone(t.Values)})
		}
	}
	b.f.Targets = nil
}

// ClearTargets removes every individual target.
func (b *FlagBuilder) ClearTargets() *FlagBuilder {
	b.f.Targets, b.f.ContextTargets = nil, nil
	b.ownTargets = true
	return b
}

// Rule starts a targeting rule whose clauses must all match; finish it with
// [RuleBuilder.Then], [RuleBuilder.ThenIndex] or [RuleBuilder.ThenRollout],
// which add it after the flag's other rules. A rule without clauses matches
// every context.
func (b *FlagBuilder) Rule(clauses ...Clause) *RuleBuilder {
	return &RuleBuilder{flag: b, clauses: slices.Clone(clauses)}
}

// IfMatch starts a rule with one "in" clause on a user attribute, as
// LaunchDarkly's test data source does.
func (b *FlagBuilder) IfMatch(attribute string, values ...any) *RuleBuilder {
	return b.Rule(Match(attribute, model.OpIn, values...))
}

// IfNotMatch starts a rule with one negated "in" clause on a user
// attribute.
func (b *FlagBuilder) IfNotMatch(attribute string, values ...any) *RuleBuilder {
	return b.Rule(NotMatch(attribute, model.OpIn, values...))
}

// ClearRules removes every rule.
func (b *FlagBuilder) ClearRules() *FlagBuilder {
	b.f.Rules = nil
	return b
}

// Prerequisite requires the flag with the given key to serve value before
// this flag's targets and rules apply; otherwise this flag serves its off
// variation with reason PREREQUISITE_FAILED. The prerequisite flag must be
// in the test data (updated before) when this flag is updated, since value
// is looked up among its variations.
func (b *FlagBuilder) Prerequisite(flagKey string, value any) *FlagBuilder {
	jv, err := jsonvalue.FromAny(value)
	if err != nil {
		b.fail(err)
		return b
	}
	b.keepPrerequisites()
	b.prereqs = append(b.prereqs, prereq{key: flagKey, value: jv, byValue: true})
	return b
}

// PrerequisiteIndex requires the flag with the given key to serve its
// variation i.
func (b *FlagBuilder) PrerequisiteIndex(flagKey string, i int) *FlagBuilder {
	b.keepPrerequisites()
	b.prereqs = append(b.prereqs, prereq{key: flagKey, index: i})
	return b
}

// keepPrerequisites turns the prerequisites of a flag given as JSON into
// the builder's, before the builder adds one.
func (b *FlagBuilder) keepPrerequisites() {
	if len(b.prereqs) == 0 {
		for _, p := range b.f.Prerequisites {
			b.prereqs = append(b.prereqs, prereq{key: p.Key, index: p.Variation})
		}
	}
}

// ClearPrerequisites removes every prerequisite.
func (b *FlagBuilder) ClearPrerequisites() *FlagBuilder {
	b.prereqs = nil
	b.f.Prerequisites = nil
	return b
}

// Salt sets the salt mixed into the flag's bucketing hash. Zero: "".
func (b *FlagBuilder) Salt(salt string) *FlagBuilder {
	b.f.Salt = salt
	return b
}

// TrackEvents asks for full feature events for every evaluation.
func (b *FlagBuilder) TrackEvents(on bool) *FlagBuilder {
	b.f.TrackEvents = on
	return b
}

// TrackEventsFallthrough asks for full feature events when the flag falls
// through.
func (b *FlagBuilder) TrackEventsFallthrough(on bool) *FlagBuilder {
	b.f.TrackEventsFallthrough = on
	return b
}

// DebugEventsUntil asks for debug events until t; the zero time removes
// it.
func (b *FlagBuilder) DebugEventsUntil(t time.Time) *FlagBuilder {
	if t.IsZero() {
		b.f.DebugEventsUntilDate = nil
		return b
	}
	ms := t.UnixMilli()
	b.f.DebugEventsUntilDate = &ms
	return b
}

// SamplingRatio sets the flag's event sampling ratio (1 in n events kept);
// a negative n removes it.
func (b *FlagBuilder) SamplingRatio(n int) *FlagBuilder {
	if n < 0 {
		b.f.SamplingRatio = nil
		return b
	}
	b.f.SamplingRatio = intPtr(n)
	return b
}

// ExcludeFromSummaries leaves the flag out of summary events.
func (b *FlagBuilder) ExcludeFromSummaries(on bool) *FlagBuilder {
	b.f.ExcludeFromSummaries = on
	return b
}

// ClientSide sets which client-side SDKs may see the flag (it appears in
// client-side AllFlagsState only with usingEnvironmentID).
func (b *FlagBuilder) ClientSide(usingEnvironmentID, usingMobileKey bool) *FlagBuilder {
	b.f.ClientSide = usingEnvironmentID
	b.f.ClientSideAvailability = &model.ClientSideAvailability{UsingEnvironmentID: usingEnvironmentID, UsingMobileKey: usingMobileKey}
	return b
}

// rollout converts r, adding its values to the variations.
func (b *FlagBuilder) rollout(r Rollout) *model.Rollout {
	if len(r.Buckets) == 0 {
		b.fail(errors.New("rollout has no buckets"))
		return nil
	}
	mr := &model.Rollout{ContextKind: r.ContextKind, Seed: r.Seed}
	if r.Experiment {
		mr.Kind = model.RolloutKindExperiment
	}
	if r.BucketBy != "" {
		if r.ContextKind == "" {
			mr.BucketBy = evalctx.NewLiteralRef(r.BucketBy)
		} else {
			mr.BucketBy = evalctx.NewRef(r.BucketBy)
		}
	}
	for _, bk := range r.Buckets {
		if bk.Weight < 0 {
			b.fail(fmt.Errorf("rollout bucket weight %d is negative", bk.Weight))
		}
		mr.Variations = append(mr.Variations, model.WeightedVariation{Variation: b.index(bk.Value), Weight: bk.Weight, Untracked: bk.Untracked})
	}
	return mr
}

// clone returns a deep copy, so a builder from TestData.Flag never shares
// what it changes with the stored flag or another builder.
func (b *FlagBuilder) clone() *FlagBuilder {
	c := &FlagBuilder{f: b.f, prereqs: slices.Clone(b.prereqs), err: b.err, ownTargets: b.ownTargets}
	f := &c.f
	f.Variations = slices.Clone(f.Variations)
	f.Prerequisites = slices.Clone(f.Prerequisites)
	f.Targets = cloneTargets(f.Targets)
	f.ContextTargets = cloneTargets(f.ContextTargets)
	f.Rules = slices.Clone(f.Rules)
	for i := range f.Rules {
		f.Rules[i].Clauses = slices.Clone(f.Rules[i].Clauses)
		f.Rules[i].Rollout = cloneRollout(f.Rules[i].Rollout)
	}
	f.Fallthrough.Rollout = cloneRollout(f.Fallthrough.Rollout)
	if a := f.ClientSideAvailability; a != nil {
		ca := *a
		f.ClientSideAvailability = &ca
	}
	return c
}

func cloneTargets(ts []model.Target) []model.Target {
	ts = slices.Clone(ts)
	for i := range ts {
		ts[i].Values = slices.Clone(ts[i].Values)
	}
	return ts
}

func cloneRollout(r *model.Rollout) *model.Rollout {
	if r == nil {
		return nil
	}
	c := *r
	c.Variations = slices.Clone(r.Variations)
	return &c
}

// build returns the flag to store, with user-kind targets also in the
// older "targets" list as LaunchDarkly writes them, and prerequisites
// resolved with lookup.
func (b *FlagBuilder) build(version int, lookup func(key string) *model.Flag) (*model.Flag, error) {
	if b.err != nil {
		return nil, b.err
	}
	f := b.clone().f
	f.Version = version
	f.Deleted = false
	if len(b.prereqs) > 0 {
		f.Prerequisites = nil
	}
	for _, p := range b.prereqs {
		i := p.index
		if p.byValue {
			pf := lookup(p.key)
			if pf == nil {
				return nil, fmt.Errorf("flag %q: prerequisite %q is not in the test data (update it first, or use PrerequisiteIndex)", f.Key, p.key)
			}
			i = slices.IndexFunc(pf.Variations, p.value.Equal)
			if i < 0 {
				return nil, fmt.Errorf("flag %q: prerequisite %q has no variation %s", f.Key, p.key, p.value.JSON())
			}
		}
		f.Prerequisites = append(f.Prerequisites, model.Prerequisite{Key: p.key, Variation: i})
	}
	// User-kind targets are written in "targets", with an empty entry in
	// "contextTargets" that keeps their place, as LaunchDarkly does.
	if b.ownTargets {
		f.Targets = nil
		for i, t := range f.ContextTargets {
			if t.ContextKind == evalctx.DefaultKind {
				f.Targets = append(f.Targets, model.Target{Variation: t.Variation, Values: t.Values})
				f.ContextTargets[i] = model.Target{ContextKind: evalctx.DefaultKind, Variation: t.Variation}
			}
		}
	}
	n := len(f.Variations)
	check := func(what string, i int) error {
		if i < 0 || i >= n {
			return fmt.Errorf("flag %q: %s: variation %d is out of range (%d variations)", f.Key, what, i, n)
		}
		return nil
	}
	var errs []error
	if f.OffVariation != nil {
		errs = append(errs, check("off variation", *f.OffVariation))
	}
	errs = append(errs, checkVR(check, "fallthrough", &f.Fallthrough))
	for _, t := range f.ContextTargets {
		errs = append(errs, check("target", t.Variation))
	}
	for i := range f.Rules {
		errs = append(errs, checkVR(check, fmt.Sprintf("rules[%d]", i), &f.Rules[i].VariationOrRollout))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &f, nil
}

func checkVR(check func(string, int) error, what string, vr *model.VariationOrRollout) error {
	switch {
	case vr.Variation != nil:
		return check(what, *vr.Variation)
	case vr.Rollout != nil:
		var errs []error
		for _, wv := range vr.Rollout.Variations {
			errs = append(errs, check(what+" rollout", wv.Variation))
		}
		return errors.Join(errs...)
	}
	return nil
}

// RuleBuilder describes one targeting rule of a flag; see
// [FlagBuilder.Rule].
type RuleBuilder struct {
	flag        *FlagBuilder
	id          string
	clauses     []Clause
	trackEvents bool
}

// And adds clauses that must match too.
func (r *RuleBuilder) And(clauses ...Clause) *RuleBuilder {
	r.clauses = append(r.clauses, clauses...)
	return r
}

// AndMatch adds an "in" clause on a user attribute.
func (r *RuleBuilder) AndMatch(attribute string, values ...any) *RuleBuilder {
	return r.And(Match(attribute, model.OpIn, values...))
}

// AndNotMatch adds a negated "in" clause on a user attribute.
func (r *RuleBuilder) AndNotMatch(attribute string, values ...any) *RuleBuilder {
	return r.And(NotMatch(attribute, model.OpIn, values...))
}

// ID sets the rule's ID, which evaluation reasons carry. Zero: "rule" and
// the rule's index ("rule0", "rule1", ...).
func (r *RuleBuilder) ID(id string) *RuleBuilder {
	r.id = id
	return r
}

// TrackEvents asks for full feature events when the rule matches.
func (r *RuleBuilder) TrackEvents(on bool) *RuleBuilder {
	r.trackEvents = on
	return r
}

// Then ends the rule: matching contexts get value. It returns the flag's
// builder.
func (r *RuleBuilder) Then(value any) *FlagBuilder {
	return r.ThenIndex(r.flag.index(value))
}

// ThenIndex ends the rule: matching contexts get variation i.
func (r *RuleBuilder) ThenIndex(i int) *FlagBuilder {
	return r.add(model.VariationOrRollout{Variation: intPtr(i)})
}

// ThenRollout ends the rule: matching contexts are bucketed by the rollout
// or experiment.
func (r *RuleBuilder) ThenRollout(ro Rollout) *FlagBuilder {
	mr := r.flag.rollout(ro)
	return r.add(model.VariationOrRollout{Rollout: mr})
}

func (r *RuleBuilder) add(vr model.VariationOrRollout) *FlagBuilder {
	b := r.flag
	cs, err := modelClauses(r.clauses)
	if err != nil {
		b.fail(err)
		return b
	}
	id := r.id
	if id == "" {
		id = fmt.Sprintf("rule%d", len(b.f.Rules))
	}
	b.f.Rules = append(slices.Clone(b.f.Rules), model.FlagRule{ID: id, VariationOrRollout: vr, Clauses: cs, TrackEvents: r.trackEvents})
	return b
}
