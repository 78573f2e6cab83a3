package evaluation

import (
	"context"

	"github.com/daemonflag/daemonflag/model"
)

// BigSegmentProvider gives the evaluator big-segment memberships.
type BigSegmentProvider interface {
	// Membership returns the big-segment membership of a context key (nil
	// when the store has none for it) and the status of the big-segment
	// data. The evaluator calls it at most once per context key per
	// evaluation, prerequisites included.
	Membership(ctx context.Context, contextKey string) (Membership, BigSegmentsStatus)
}

// Membership is one context key's big-segment membership.
type Membership interface {
	// CheckMembership reports whether the context is included in (true) or
	// excluded from (false) the big segment with the given reference
	// ("<segmentKey>.g<generation>"); known is false when the store says
	// neither, and the segment's rules then decide.
	CheckMembership(segmentRef string) (included bool, known bool)
}

// statusPriority orders big-segment statuses by how bad they are, as
// LaunchDarkly does: NOT_CONFIGURED means the setup cannot work at all, so
// it outranks a (possibly transient) store error, which outranks stale
// data.
func statusPriority(s BigSegmentsStatus) int {
	switch s {
	case BigSegmentsStale:
		return 1
	case BigSegmentsStoreError:
		return 2
	case BigSegmentsNotConfigured:
		return 3
	}
	return 0
}

// worseStatus returns the worse of two statuses; "" (no big segment) is
// replaced by anything.
func worseStatus(old, cur BigSegmentsStatus) BigSegmentsStatus {
	if old != "" && statusPriority(old) > statusPriority(cur) {
		return old
	}
	return cur
}

// membershipCacheSize is how many context keys an evaluation remembers
// without allocating; a multi-kind context rarely has more kinds.
const membershipCacheSize = 2

type cachedMembership struct {
	key string
	m   Membership
}

// bigSegmentMatch looks up a big segment: decided is false when the
// segment's rules must decide.
func (st *state) bigSegmentMatch(s *model.Segment) (match, decided bool) {
	if s.Generation == nil {
		// Without a generation (data written by an older writer that dropped
		// it) the segment cannot be queried.
		st.bigStatus = worseStatus(st.bigStatus, BigSegmentsNotConfigured)
		return false, true
	}
	kind := s.UnboundedContextKind
	if kind == "" {
		kind = defaultKind
	}
	c, ok := st.individual(kind)
	if !ok {
		// A big segment applies to one kind only; nothing to query.
		return false, true
	}
	m := st.membership(c.Key())
	if m != nil {
		if included, known := m.CheckMembership(s.BigSegmentRef()); known {
			return included, true
		}
	}
	return false, false
}

// membership returns the membership of a context key, querying the
// provider the first time a key is seen in this evaluation.
func (st *state) membership(key string) Membership {
	for i := 0; i < st.nMembers; i++ {
		if st.members[i].key == key {
			return st.members[i].m
		}
	}
	for _, cm := range st.moreMembers {
		if cm.key == key {
			return cm.m
		}
	}
	var m Membership
	if st.e.bigSegments == nil {
		st.bigStatus = worseStatus(st.bigStatus, BigSegmentsNotConfigured)
	} else {
		var status BigSegmentsStatus
		m, status = st.e.bigSegments.Membership(st.ctx, key)
		st.bigStatus = worseStatus(st.bigStatus, status)
	}
	if st.nMembers < membershipCacheSize {
		st.members[st.nMembers] = cachedMembership{key: key, m: m}
		st.nMembers++
	} else {
		st.moreMembers = append(st.moreMembers, cachedMembership{key: key, m: m})
	}
	return m
}
