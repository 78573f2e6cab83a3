package bigsegments

import "github.com/daemonflag/daemonflag/store"

// memberSet is one context's membership, built once per store read and never
// changed afterwards, so any number of evaluations may read it at once.
//
// refs maps a segment reference to true when the context is included and to
// false when it is only excluded.
type memberSet struct {
	refs map[string]bool
}

// newMemberSet builds the set for m, or returns nil when m lists nothing.
func newMemberSet(m store.Membership) *memberSet {
	if len(m.Included) == 0 && len(m.Excluded) == 0 {
		return nil
	}
	refs := make(map[string]bool, len(m.Included)+len(m.Excluded))
	for _, r := range m.Excluded {
		refs[r] = false
	}
	// Inclusion wins over exclusion: written last, it overwrites.
	for _, r := range m.Included {
		refs[r] = true
	}
	return &memberSet{refs: refs}
}

// CheckMembership reports whether the context is included in the segment
// generation named by segmentRef (see [store.SegmentRef]); known is false when the
// membership says nothing about it, in which case the segment's own rules
// decide. It does not allocate.
func (s *memberSet) CheckMembership(segmentRef string) (included bool, known bool) {
	included, known = s.refs[segmentRef]
	return included, known
}
