package flagtest

import (
	"fmt"
	"slices"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/model"
)

// SegmentBuilder describes one segment. Get one from [TestData.Segment];
// nothing reaches the store until [TestData.UpdateSegment]. Flags use a
// segment through an [InSegment] clause.
type SegmentBuilder struct {
	s     model.Segment
	rules []SegmentRule // added by the builder, after those of s
	big   bigMembers
}

// bigMembers are the context keys of a big segment's membership.
type bigMembers struct {
	included, excluded []string
}

func newSegment(key string) *SegmentBuilder {
	return &SegmentBuilder{s: model.Segment{Key: key}}
}

// Key returns the segment's key.
func (b *SegmentBuilder) Key() string { return b.s.Key }

// Included adds user keys that are in the segment (whatever its rules and
// exclusions say).
func (b *SegmentBuilder) Included(keys ...string) *SegmentBuilder {
	b.s.Included = append(slices.Clone(b.s.Included), keys...)
	return b
}

// Excluded adds user keys that are not in the segment, unless included.
func (b *SegmentBuilder) Excluded(keys ...string) *SegmentBuilder {
	b.s.Excluded = append(slices.Clone(b.s.Excluded), keys...)
	return b
}

// IncludedContexts adds keys of contexts of another kind that are in the
// segment.
func (b *SegmentBuilder) IncludedContexts(kind evalctx.Kind, keys ...string) *SegmentBuilder {
	b.s.IncludedContexts = addSegmentTarget(b.s.IncludedContexts, kind, keys)
	return b
}

// ExcludedContexts adds keys of contexts of another kind that are not in
// the segment.
func (b *SegmentBuilder) ExcludedContexts(kind evalctx.Kind, keys ...string) *SegmentBuilder {
	b.s.ExcludedContexts = addSegmentTarget(b.s.ExcludedContexts, kind, keys)
	return b
}

func addSegmentTarget(ts []model.SegmentTarget, kind evalctx.Kind, keys []string) []model.SegmentTarget {
	ts = slices.Clone(ts)
	for i := range ts {
		if ts[i].ContextKind == kind {
			ts[i].Values = append(slices.Clone(ts[i].Values), keys...)
			return ts
		}
	}
	return append(ts, model.SegmentTarget{ContextKind: kind, Values: slices.Clone(keys)})
}

// SegmentRule is one rule of a segment: contexts matching every clause are
// in the segment, or, with a Weight, that share of them.
type SegmentRule struct {
	// ID identifies the rule. Zero: "rule" and its index.
	ID string
	// Clauses must all match.
	Clauses []Clause
	// Weight, when not nil, admits only that share of matching contexts
	// (thousandths of a percent, see [Percent]), bucketed by the segment's
	// key and salt.
	Weight *int
	// BucketBy is the attribute hashed for Weight. Zero: "key".
	BucketBy string
	// RolloutContextKind is the kind of context bucketed. Zero: "user".
	RolloutContextKind evalctx.Kind
}

// Rule adds a rule: contexts matching every clause are in the segment.
func (b *SegmentBuilder) Rule(clauses ...Clause) *SegmentBuilder {
	return b.AddRule(SegmentRule{Clauses: clauses})
}

// WeightedRule adds a rule that admits the given share (thousandths of a
// percent) of the contexts matching every clause.
func (b *SegmentBuilder) WeightedRule(weight int, clauses ...Clause) *SegmentBuilder {
	return b.AddRule(SegmentRule{Clauses: clauses, Weight: intPtr(weight)})
}

// AddRule adds a rule described in full.
func (b *SegmentBuilder) AddRule(r SegmentRule) *SegmentBuilder {
	r.Clauses = slices.Clone(r.Clauses)
	b.rules = append(slices.Clone(b.rules), r)
	return b
}

// ClearRules removes every rule.
func (b *SegmentBuilder) ClearRules() *SegmentBuilder {
	b.rules, b.s.Rules = nil, nil
	return b
}

// Salt sets the salt of the weighted rules' bucketing hash. Zero: "".
func (b *SegmentBuilder) Salt(salt string) *SegmentBuilder {
	b.s.Salt = salt
	return b
}

// Unbounded makes the segment a big segment for contexts of the given kind
// (empty: "user"), at generation 1 unless [SegmentBuilder.Generation] says
// otherwise. Its membership is [SegmentBuilder.BigIncluded] and
// [SegmentBuilder.BigExcluded], which UpdateSegment writes to the
// big-segment side of the store; a client needs
// client.Config.BigSegments.Store set to the TestData to see it.
func (b *SegmentBuilder) Unbounded(kind evalctx.Kind) *SegmentBuilder {
	b.s.Unbounded = true
	b.s.UnboundedContextKind = kind
	if b.s.Generation == nil {
		b.s.Generation = intPtr(1)
	}
	return b
}

// Generation sets a big segment's generation; a negative n removes it (the
// segment then evaluates as NOT_CONFIGURED, as in LaunchDarkly).
func (b *SegmentBuilder) Generation(n int) *SegmentBuilder {
	if n < 0 {
		b.s.Generation = nil
		return b
	}
	b.s.Generation = intPtr(n)
	return b
}

// BigIncluded sets the context keys a big segment includes (replacing
// those set before).
func (b *SegmentBuilder) BigIncluded(keys ...string) *SegmentBuilder {
	b.big.included = slices.Clone(keys)
	return b
}

// BigExcluded sets the context keys a big segment excludes (replacing
// those set before).
func (b *SegmentBuilder) BigExcluded(keys ...string) *SegmentBuilder {
	b.big.excluded = slices.Clone(keys)
	return b
}

func (b *SegmentBuilder) clone() *SegmentBuilder {
	c := &SegmentBuilder{s: b.s, rules: slices.Clone(b.rules)}
	c.s.Included = slices.Clone(c.s.Included)
	c.s.Excluded = slices.Clone(c.s.Excluded)
	c.s.IncludedContexts = slices.Clone(c.s.IncludedContexts)
	c.s.ExcludedContexts = slices.Clone(c.s.ExcludedContexts)
	c.s.Rules = slices.Clone(c.s.Rules)
	c.big = bigMembers{included: slices.Clone(b.big.included), excluded: slices.Clone(b.big.excluded)}
	return c
}

// build returns the segment to store.
func (b *SegmentBuilder) build(version int) (*model.Segment, error) {
	s := b.clone().s
	s.Version = version
	s.Deleted = false
	for i, r := range b.rules {
		cs, err := modelClauses(r.Clauses)
		if err != nil {
			return nil, fmt.Errorf("segment %q: rules[%d]: %w", s.Key, i, err)
		}
		id := r.ID
		if id == "" {
			id = fmt.Sprintf("rule%d", len(s.Rules))
		}
		mr := model.SegmentRule{ID: id, Clauses: cs, Weight: r.Weight, RolloutContextKind: r.RolloutContextKind}
		if r.BucketBy != "" {
			if r.RolloutContextKind == "" {
				mr.BucketBy = evalctx.NewLiteralRef(r.BucketBy)
			} else {
				mr.BucketBy = evalctx.NewRef(r.BucketBy)
			}
		}
		s.Rules = append(s.Rules, mr)
	}
	if s.Included == nil {
		s.Included = []string{}
	}
	if s.Excluded == nil {
		s.Excluded = []string{}
	}
	return &s, nil
}
