package evaluation

import (
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// clauseMatches evaluates one clause; valid is false when the clause is
// malformed (no attribute, an invalid attribute reference, a segment
// cycle), which makes the whole flag MALFORMED_FLAG.
//
// The rules, in LaunchDarkly's order: segmentMatch clauses test segments;
// an attribute named exactly "kind" tests the context's kinds; otherwise a
// context of the clause's kind must exist and have the attribute, or the
// clause does not match at all, negated or not; an array attribute matches
// when any element does.
//
// segs is the chain of segments being evaluated (nil in flag rules).
func (st *state) clauseMatches(c *model.Clause, segs *chain) (match, valid bool) {
	if c.IsSegmentMatch() {
		return st.segmentMatchClause(c, segs)
	}
	if c.AttributeErr() != nil {
		return false, false
	}
	if c.IsKindAttribute() {
		return st.kindMatches(c) != c.Negate, true
	}
	ctx, ok := st.individual(c.ContextKind)
	if !ok {
		return false, true
	}
	var v jsonvalue.Value
	if name, simple := c.AttributeName(); simple {
		v, ok = ctx.GetValue(name)
	} else {
		v, ok = ctx.GetValueForRef(c.Attribute)
	}
	if !ok || v.IsNull() {
		return false, true
	}
	if v.IsArray() {
		for i, n := 0, v.Len(); i < n; i++ {
			if c.MatchValue(v.Index(i)) {
				return !c.Negate, true
			}
		}
		return c.Negate, true
	}
	return c.MatchValue(v) != c.Negate, true
}

// kindMatches tests the clause's operator and values against the kind of
// each individual context.
func (st *state) kindMatches(c *model.Clause) bool {
	if !st.ec.Multiple() {
		return c.MatchValue(jsonvalue.String(string(st.ec.Kind())))
	}
	for i, n := 0, st.ec.IndividualContextCount(); i < n; i++ {
		k := st.ec.IndividualContextByIndex(i).Kind()
		if c.MatchValue(jsonvalue.String(string(k))) {
			return true
		}
	}
	return false
}
