package evaluation

import "github.com/daemonflag/daemonflag/model"

// segmentMatchClause evaluates a segmentMatch clause: it matches when the
// context is in any of the listed segments. Unknown segments (and values
// that are not strings) are skipped, not errors.
func (st *state) segmentMatchClause(c *model.Clause, segs *chain) (match, valid bool) {
	for i := range c.Values {
		v := &c.Values[i]
		if !v.IsString() {
			continue
		}
		s := st.segment(v.Str())
		if s == nil || s.Deleted {
			continue
		}
		in, ok := st.segmentContains(s, segs)
		if !ok {
			return false, false
		}
		if in {
			return !c.Negate, true
		}
	}
	return c.Negate, true
}

// segmentContains reports whether the context is in the segment; valid is
// false for a segment cycle or a malformed segment rule.
func (st *state) segmentContains(s *model.Segment, segs *chain) (in, valid bool) {
	if segs.has(s.Key) {
		st.cycle = true
		return false, false
	}
	if st.nesting >= maxNesting {
		st.tooDeep = true
		return false, false
	}
	st.enter()
	in, valid = st.segmentContainsInner(s, &chain{key: s.Key, up: segs})
	st.nesting--
	return in, valid
}

func (st *state) segmentContainsInner(s *model.Segment, segs *chain) (bool, bool) {
	if s.Unbounded {
		if match, decided := st.bigSegmentMatch(s); decided {
			return match, true
		}
	} else if match, decided := st.segmentLists(s); decided {
		return match, true
	}
	for i := range s.Rules {
		match, ok := st.segmentRuleMatches(&s.Rules[i], s.Key, s.Salt, segs)
		if !ok {
			return false, false
		}
		if match {
			return true, true
		}
	}
	return false, true
}

// segmentLists applies the segment's key lists: included beats excluded,
// and the user-kind lists come before the lists of other kinds. As in
// LaunchDarkly, includedContexts and excludedContexts are not consulted for
// a context that is a single user.
func (st *state) segmentLists(s *model.Segment) (match, decided bool) {
	user, hasUser := st.individual(defaultKind)
	onlyUser := !st.ec.Multiple() && st.ec.Kind() == defaultKind
	if hasUser && s.IncludesKey(user.Key()) {
		return true, true
	}
	if !onlyUser {
		for i := range s.IncludedContexts {
			if st.segmentTargetListed(&s.IncludedContexts[i]) {
				return true, true
			}
		}
	}
	if hasUser && s.ExcludesKey(user.Key()) {
		return false, true
	}
	if !onlyUser {
		for i := range s.ExcludedContexts {
			if st.segmentTargetListed(&s.ExcludedContexts[i]) {
				return false, true
			}
		}
	}
	return false, false
}

func (st *state) segmentTargetListed(t *model.SegmentTarget) bool {
	c, ok := st.individual(t.ContextKind)
	return ok && t.Contains(c.Key())
}

// segmentRuleMatches evaluates a segment rule: all clauses (which may
// reference other segments), then the optional weight, bucketed by the
// segment's key and salt. A context without the rule's rollout kind never
// matches a weighted rule; other bucketing problems give bucket 0, which
// matches.
func (st *state) segmentRuleMatches(r *model.SegmentRule, key, salt string, segs *chain) (match, valid bool) {
	for i := range r.Clauses {
		m, ok := st.clauseMatches(&r.Clauses[i], segs)
		if !ok {
			return false, false
		}
		if !m {
			return false, true
		}
	}
	if r.Weight == nil {
		return true, true
	}
	bucket, problem, ok := st.bucketValue(false, nil, r.RolloutContextKind, key, salt, r.BucketBy, r.HasBucketBy())
	if !ok {
		return false, false
	}
	if problem == bucketLacksKind {
		return false, true
	}
	return bucket < float32(*r.Weight)/100000.0, true
}
