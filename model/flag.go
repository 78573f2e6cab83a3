package model

import (
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Flag is a feature flag in LaunchDarkly's schema. Optional numbers are
// pointers: nil means the property was absent (or null).
//
// A Flag returned by [DecodeFlag] is preprocessed and must not be modified:
// to keep the memory of a cached flag small, its optional numbers, its
// variations (when they are [false, true] or [true, false]) and some of its
// strings are shared with other decoded flags.
type Flag struct {
	// Key identifies the flag.
	Key string
	// Version increases with every change; stores keep the highest.
	Version int
	// Deleted marks a tombstone: the flag was deleted at Version.
	Deleted bool
	// On turns targeting on; when false the flag serves OffVariation.
	On bool
	// ClientSide is the older schema's "clientSide" property
	// (available to client-side SDKs using the environment ID).
	ClientSide bool
	// TrackEvents asks for full feature events for every evaluation.
	TrackEvents bool
	// TrackEventsFallthrough asks for full events when the flag falls
	// through (the legacy experiment marker).
	TrackEventsFallthrough bool
	// ExcludeFromSummaries leaves the flag out of summary events.
	ExcludeFromSummaries bool
	prepared             bool // in the word of the flags above
	// Variations are the values the flag can serve, by index.
	Variations []jsonvalue.Value
	// OffVariation is served when the flag is off or a prerequisite fails;
	// nil means no value (the caller's default, with reason OFF).
	OffVariation *int
	// Fallthrough is served when no target or rule matches.
	Fallthrough VariationOrRollout
	// Prerequisites must all evaluate to their variation, in order, before
	// targets and rules are considered.
	Prerequisites []Prerequisite
	// Targets are the user-kind individual targets (LaunchDarkly's older
	// schema, still sent alongside ContextTargets).
	Targets []Target
	// ContextTargets are individual targets for any context kind. When it is
	// not empty it decides the order; a user-kind entry with no values
	// defers to the Targets entry with the same variation.
	ContextTargets []Target
	// Rules are tried in order after the targets.
	Rules []FlagRule
	// Salt is mixed into bucketing hashes.
	Salt string
	// ClientSideAvailability is the newer schema's availability object; nil
	// when absent. See [Flag.Availability].
	ClientSideAvailability *ClientSideAvailability
	// DebugEventsUntilDate enables debug events until this Unix time in
	// milliseconds; nil when absent.
	DebugEventsUntilDate *int64
	// SamplingRatio is the event sampling ratio; nil when absent.
	SamplingRatio *int
	// Migration holds migration-flag settings; nil when absent.
	Migration *Migration

	rare *flagRare // nil when the flag has neither unknown properties nor prerequisites
}

// Prerequisite requires another flag to evaluate to a variation.
type Prerequisite struct {
	// Key is the prerequisite flag's key.
	Key string
	// Variation is the index the prerequisite must evaluate to.
	Variation int

	extra rawFields
}

// Target lists the keys of contexts of one kind that receive a variation.
type Target struct {
	// ContextKind is the kind of context the keys belong to; empty means
	// "user" (and is how the older "targets" list is written).
	ContextKind evalctx.Kind
	// Variation is served to the listed contexts.
	Variation int
	// Values are context keys.
	Values []string

	extra rawFields
	set   keySet // for long lists; short ones are scanned
}

// FlagRule is a targeting rule: when all clauses match, it serves its
// variation or rollout.
type FlagRule struct {
	// ID identifies the rule in evaluation reasons.
	ID string
	// VariationOrRollout is what the rule serves.
	VariationOrRollout
	// Clauses must all match (an empty list always matches).
	Clauses []Clause
	// TrackEvents asks for full events when this rule matches (the legacy
	// experiment marker).
	TrackEvents bool

	extra rawFields
}

// VariationOrRollout serves either a fixed variation or a percentage
// rollout. When neither is set the flag is malformed.
type VariationOrRollout struct {
	// Variation is a fixed variation index; nil when absent.
	Variation *int
	// Rollout is a percentage rollout or experiment; nil when absent.
	Rollout *Rollout

	extra rawFields // only for the flag's fallthrough object
}

// RolloutKind distinguishes plain rollouts from experiments.
type RolloutKind string

const (
	// RolloutKindRollout is a plain percentage rollout (also the meaning of
	// an empty kind).
	RolloutKindRollout RolloutKind = "rollout"
	// RolloutKindExperiment is an experiment: it always buckets by key,
	// may use a seed, and marks results as in the experiment.
	RolloutKindExperiment RolloutKind = "experiment"
)

// Rollout assigns variations by bucketing contexts into weighted buckets.
type Rollout struct {
	// Kind is "rollout" (or empty) or "experiment".
	Kind RolloutKind
	// ContextKind selects which context of a multi-kind context is
	// bucketed; empty means "user".
	ContextKind evalctx.Kind
	// Variations are the weighted buckets, in order; weights are in
	// thousandths of a percent (100000 = 100%).
	Variations []WeightedVariation
	// BucketBy is the attribute hashed for bucketing (default "key"; always
	// "key" in experiments). See [Rollout.HasBucketBy].
	BucketBy evalctx.Ref
	// Seed replaces "flagKey.salt" as the hash prefix; nil when absent.
	Seed *int

	extra rawFields
}

// WeightedVariation is one bucket of a rollout.
type WeightedVariation struct {
	// Variation is the index served to contexts in this bucket.
	Variation int
	// Weight is the bucket's size in thousandths of a percent.
	Weight int
	// Untracked excludes this bucket of an experiment from the experiment.
	Untracked bool

	extra rawFields
}

// ClientSideAvailability says which client-side SDKs may see the flag.
type ClientSideAvailability struct {
	// UsingMobileKey makes the flag available to mobile SDKs.
	UsingMobileKey bool
	// UsingEnvironmentID makes the flag available to JavaScript SDKs.
	UsingEnvironmentID bool

	extra rawFields
}

// Migration holds the settings of a migration flag.
type Migration struct {
	// CheckRatio controls how often consistency checks run; nil when absent.
	CheckRatio *int

	extra rawFields
}

// IsExperiment reports whether the rollout is an experiment.
func (r *Rollout) IsExperiment() bool { return r.Kind == RolloutKindExperiment }

// HasBucketBy reports whether the rollout names a bucketBy attribute (an
// empty or absent bucketBy means "key").
func (r *Rollout) HasBucketBy() bool {
	return refDefined(r.BucketBy)
}

// Availability returns the flag's client-side availability, applying
// LaunchDarkly's rule for the older schema: without a
// clientSideAvailability object, mobile SDKs may always see the flag and
// JavaScript SDKs may when clientSide is true.
func (f *Flag) Availability() ClientSideAvailability {
	if f.ClientSideAvailability != nil {
		return *f.ClientSideAvailability
	}
	return ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: f.ClientSide}
}

// flagRare holds what few flags have, so that the others do not pay for it.
type flagRare struct {
	extra    rawFields // properties this package does not know, in order
	prereqKs []string  // Prerequisites' keys, shared with Result.Prerequisites; nil when none
}

// extra returns the flag's unknown properties.
func (f *Flag) extra() []rawField {
	if f.rare == nil {
		return nil
	}
	return f.rare.extra.list()
}

// rareFields returns f.rare, allocating it if needed.
func (f *Flag) rareFields() *flagRare {
	if f.rare == nil {
		f.rare = &flagRare{}
	}
	return f.rare
}

// noKeys is the prerequisite keys of every prepared flag without
// prerequisites (empty, not nil, as for the others).
var noKeys = []string{}

// PrerequisiteKeys returns the keys of the flag's prerequisites, in order.
// The slice is shared: callers must not modify it.
func (f *Flag) PrerequisiteKeys() []string {
	if f.prepared {
		if f.rare == nil || f.rare.prereqKs == nil {
			return noKeys
		}
		return f.rare.prereqKs
	}
	keys := make([]string, len(f.Prerequisites))
	for i := range f.Prerequisites {
		keys[i] = f.Prerequisites[i].Key
	}
	return keys
}

// Contains reports whether key is one of the target's values.
func (t *Target) Contains(key string) bool {
	return containsKey(t.set, t.Values, key)
}
