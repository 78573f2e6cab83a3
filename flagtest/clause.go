package flagtest

import (
	"fmt"
	"math"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// Clause is one condition of a flag rule or segment rule, with any
// operator of LaunchDarkly's (see the Op constants of package model: in,
// endsWith, startsWith, matches, contains, lessThan, lessThanOrEqual,
// greaterThan, greaterThanOrEqual, before, after, semVerEqual,
// semVerLessThan, semVerGreaterThan, segmentMatch). Build one with [Match],
// [NotMatch], [MatchContext], [InSegment] or as a literal.
type Clause struct {
	// ContextKind is the kind of context the attribute is read from. Empty
	// means "user", and Attribute is then a plain attribute name; with a
	// kind, Attribute is an attribute reference ("/address/city").
	ContextKind evalctx.Kind
	// Attribute is the attribute tested ("key", "email", "kind", ...).
	// Ignored for segmentMatch.
	Attribute string
	// Op is the operator.
	Op model.Operator
	// Values are compared with the attribute; the clause matches when any
	// of them does. Each is converted with [jsonvalue.FromAny]. For
	// segmentMatch they are segment keys.
	Values []any
	// Negate inverts the clause (a context without the attribute still
	// does not match, as in LaunchDarkly).
	Negate bool
}

// Match returns a clause on a user attribute: it matches when the
// attribute's value and one of values satisfy op.
//
//	flagtest.Match("email", model.OpEndsWith, "@example.com")
func Match(attribute string, op model.Operator, values ...any) Clause {
	return Clause{Attribute: attribute, Op: op, Values: values}
}

// NotMatch is [Match], negated.
func NotMatch(attribute string, op model.Operator, values ...any) Clause {
	return Clause{Attribute: attribute, Op: op, Values: values, Negate: true}
}

// MatchContext returns a clause on an attribute of the context of the
// given kind; attribute is a reference ("name", "/address/city").
func MatchContext(kind evalctx.Kind, attribute string, op model.Operator, values ...any) Clause {
	return Clause{ContextKind: kind, Attribute: attribute, Op: op, Values: values}
}

// NotMatchContext is [MatchContext], negated.
func NotMatchContext(kind evalctx.Kind, attribute string, op model.Operator, values ...any) Clause {
	c := MatchContext(kind, attribute, op, values...)
	c.Negate = true
	return c
}

// InSegment returns a segmentMatch clause: it matches contexts in any of
// the segments.
func InSegment(segmentKeys ...string) Clause {
	vs := make([]any, len(segmentKeys))
	for i, k := range segmentKeys {
		vs[i] = k
	}
	return Clause{Op: model.OpSegmentMatch, Values: vs}
}

// NotInSegment is [InSegment], negated.
func NotInSegment(segmentKeys ...string) Clause {
	c := InSegment(segmentKeys...)
	c.Negate = true
	return c
}

// model converts the clause.
func (c Clause) model() (model.Clause, error) {
	mc := model.Clause{ContextKind: c.ContextKind, Op: c.Op, Negate: c.Negate}
	switch {
	case c.Op == "":
		return mc, fmt.Errorf("clause on %q has no operator", c.Attribute)
	case c.Op == model.OpSegmentMatch:
		// LaunchDarkly writes segmentMatch clauses with an empty attribute.
	case c.Attribute == "":
		return mc, fmt.Errorf("%s clause has no attribute", c.Op)
	case c.ContextKind == "":
		mc.Attribute = evalctx.NewLiteralRef(c.Attribute)
	default:
		mc.Attribute = evalctx.NewRef(c.Attribute)
		if err := mc.Attribute.Err(); err != nil {
			return mc, fmt.Errorf("clause attribute %q: %w", c.Attribute, err)
		}
	}
	mc.Values = make([]jsonvalue.Value, len(c.Values))
	for i, v := range c.Values {
		jv, err := jsonvalue.FromAny(v)
		if err != nil {
			return mc, fmt.Errorf("clause on %q: value %d: %w", c.Attribute, i, err)
		}
		mc.Values[i] = jv
	}
	return mc, nil
}

func modelClauses(cs []Clause) ([]model.Clause, error) {
	out := make([]model.Clause, len(cs))
	for i, c := range cs {
		mc, err := c.model()
		if err != nil {
			return nil, err
		}
		out[i] = mc
	}
	return out, nil
}

// Rollout is a percentage rollout, or an experiment: contexts are bucketed
// by a hash of the flag key, salt and an attribute (LaunchDarkly's
// algorithm), and each bucket serves its value.
type Rollout struct {
	// Buckets are the weighted values, in order. Their weights should add
	// up to 100000 (100%); the last bucket catches what rounding leaves.
	Buckets []Bucket
	// ContextKind is the kind of context bucketed; empty means "user".
	ContextKind evalctx.Kind
	// BucketBy is the attribute hashed; empty means "key". Experiments
	// always bucket by key.
	BucketBy string
	// Seed, when not nil, replaces flag key and salt in the hash.
	Seed *int
	// Experiment makes the rollout an experiment: evaluation reasons say
	// inExperiment (except for untracked buckets).
	Experiment bool
}

// Bucket is one weighted value of a [Rollout].
type Bucket struct {
	// Value is served to contexts in the bucket; a value the flag does not
	// have yet is added to its variations.
	Value any
	// Weight is the bucket's share in thousandths of a percent: 100000 is
	// everyone (see [Percent]).
	Weight int
	// Untracked leaves the bucket out of an experiment.
	Untracked bool
}

// Percent converts a percentage (0 to 100) to a rollout weight.
func Percent(p float64) int { return int(math.Round(p * 1000)) }

// Split returns a plain rollout over values with the given percentages,
// in pairs: Split(true, 25.0, false, 75.0). A malformed list (odd length,
// a percentage that is not a number) gives a rollout with no buckets,
// which Update reports as an error.
func Split(valueAndPercent ...any) Rollout {
	if len(valueAndPercent)%2 != 0 {
		return Rollout{}
	}
	var r Rollout
	for i := 0; i < len(valueAndPercent); i += 2 {
		var p float64
		switch x := valueAndPercent[i+1].(type) {
		case int:
			p = float64(x)
		case float64:
			p = x
		default:
			return Rollout{}
		}
		r.Buckets = append(r.Buckets, Bucket{Value: valueAndPercent[i], Weight: Percent(p)})
	}
	return r
}
