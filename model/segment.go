package model

import (
	"strconv"

	"github.com/daemonflag/daemonflag/evalctx"
)

// Segment is a user segment in LaunchDarkly's schema.
//
// A Segment returned by [DecodeSegment] is preprocessed and must not be
// modified.
type Segment struct {
	// Key identifies the segment.
	Key string
	// Version increases with every change; stores keep the highest.
	Version int
	// Deleted marks a tombstone: the segment was deleted at Version.
	Deleted bool
	// Included lists user-kind context keys that are in the segment.
	Included []string
	// Excluded lists user-kind context keys that are not in the segment
	// (unless Included lists them too: included wins).
	Excluded []string
	// IncludedContexts lists keys of other context kinds that are in the
	// segment.
	IncludedContexts []SegmentTarget
	// ExcludedContexts lists keys of other context kinds that are not.
	ExcludedContexts []SegmentTarget
	// Rules are tried in order when no list decides.
	Rules []SegmentRule
	// Salt is mixed into the bucketing hash of weighted rules.
	Salt string
	// Unbounded marks a big segment, whose membership lives in a big-segment
	// store instead of Included/Excluded.
	Unbounded bool
	// UnboundedContextKind is the context kind a big segment applies to;
	// empty means "user".
	UnboundedContextKind evalctx.Kind
	// Generation is the big segment's generation; nil when absent (then the
	// big segment cannot be queried and evaluates as NOT_CONFIGURED).
	Generation *int

	extra       rawFields
	includedSet keySet
	excludedSet keySet
	bigRef      string
	prepared    bool
}

// SegmentTarget lists keys of one context kind.
type SegmentTarget struct {
	// ContextKind is the kind of context the keys belong to; empty means
	// "user".
	ContextKind evalctx.Kind
	// Values are context keys.
	Values []string

	extra rawFields
	set   keySet
}

// SegmentRule matches contexts by clauses and, optionally, a percentage.
type SegmentRule struct {
	// ID identifies the rule.
	ID string
	// Clauses must all match (an empty list always matches).
	Clauses []Clause
	// Weight, when set, admits only that share of matching contexts
	// (thousandths of a percent), bucketed by the segment's key and salt.
	Weight *int
	// BucketBy is the attribute hashed for the weight (default "key").
	// See [SegmentRule.HasBucketBy].
	BucketBy evalctx.Ref
	// RolloutContextKind selects the context that is bucketed; empty means
	// "user". A context without that kind never matches a weighted rule.
	RolloutContextKind evalctx.Kind

	extra rawFields
}

// HasBucketBy reports whether the rule names a bucketBy attribute.
func (r *SegmentRule) HasBucketBy() bool {
	return refDefined(r.BucketBy)
}

// IncludesKey reports whether key is in the segment's Included list.
func (s *Segment) IncludesKey(key string) bool {
	return containsKey(s.includedSet, s.Included, key)
}

// ExcludesKey reports whether key is in the segment's Excluded list.
func (s *Segment) ExcludesKey(key string) bool {
	return containsKey(s.excludedSet, s.Excluded, key)
}

// Contains reports whether key is one of the target's values.
func (t *SegmentTarget) Contains(key string) bool {
	return containsKey(t.set, t.Values, key)
}

// BigSegmentRef returns the reference under which big-segment stores record
// membership in this segment: "<key>.g<generation>". It returns "" when the
// segment has no generation.
func (s *Segment) BigSegmentRef() string {
	if s.prepared {
		return s.bigRef
	}
	return bigSegmentRef(s)
}

func bigSegmentRef(s *Segment) string {
	if s.Generation == nil {
		return ""
	}
	return s.Key + ".g" + strconv.Itoa(*s.Generation)
}
