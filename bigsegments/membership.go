package bigsegments

import (
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/store"
)

// memberSet is one context's membership, built once per store read and never
// changed afterwards, so any number of evaluations may read it at once.
//
// refs lists the segment references the membership names, sorted, each
// with whether the context is included (true) or only excluded (false). A
// context is typically in a handful of segments, so a sorted slice (one
// allocation, none at all for a single reference, which lives in one) is
// smaller and as fast to search as a map.
type memberSet struct {
	refs []memberRef
	one  [1]memberRef
}

// memberRef is one segment reference of a membership.
type memberRef struct {
	ref      string
	included bool
}

// newMemberSet builds the set for m, or returns nil when m lists nothing.
func newMemberSet(m store.Membership) *memberSet {
	n := len(m.Included) + len(m.Excluded)
	if n == 0 {
		return nil
	}
	s := &memberSet{}
	if n == 1 {
		s.refs = s.one[:0]
	} else {
		s.refs = make([]memberRef, 0, n)
	}
	for _, r := range m.Excluded {
		s.refs = append(s.refs, memberRef{r, false})
	}
	for _, r := range m.Included {
		s.refs = append(s.refs, memberRef{r, true})
	}
	// Sorted by reference; for a reference listed as both, inclusion wins:
	// it sorts first and the later duplicates are dropped.
	slices.SortStableFunc(s.refs, func(a, b memberRef) int {
		if c := strings.Compare(a.ref, b.ref); c != 0 {
			return c
		}
		switch {
		case a.included == b.included:
			return 0
		case a.included:
			return -1
		default:
			return 1
		}
	})
	s.refs = slices.CompactFunc(s.refs, func(a, b memberRef) bool { return a.ref == b.ref })
	return s
}

// CheckMembership reports whether the context is included in the segment
// generation named by segmentRef (see [store.SegmentRef]); known is false when the
// membership says nothing about it, in which case the segment's own rules
// decide. It does not allocate.
func (s *memberSet) CheckMembership(segmentRef string) (included bool, known bool) {
	i, found := slices.BinarySearchFunc(s.refs, segmentRef, func(r memberRef, target string) int {
		return strings.Compare(r.ref, target)
	})
	if !found {
		return false, false
	}
	return s.refs[i].included, true
}
