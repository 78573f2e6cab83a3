package client

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// AllFlagsOptions selects what [Client.AllFlagsState] includes. The zero
// value includes every flag, with reasons only for flags in an experiment,
// and every flag's version.
type AllFlagsOptions struct {
	// ClientSideOnly includes only the flags made available to client-side
	// (JavaScript) SDKs: "clientSideAvailability": {"usingEnvironmentId":
	// true}, or the older "clientSide": true. False: every flag.
	ClientSideOnly bool
	// WithReasons includes each flag's evaluation reason. False: reasons
	// only for flags in an experiment (whose TrackReason is set).
	WithReasons bool
	// DetailsOnlyForTrackedFlags leaves out the version and reason of flags
	// that need neither for events: flags without event tracking,
	// experiment, or debugging until a time still in the future. This
	// shrinks the JSON passed to a front end. The value and variation index
	// are always included. False: details for every flag.
	DetailsOnlyForTrackedFlags bool
}

// FlagState is one flag's entry in [AllFlags].
type FlagState struct {
	// Value is the flag's value for the context; null when it has no
	// variation index (no default value applies here).
	Value jsonvalue.Value
	// VariationIndex is the index of the variation served, or -1.
	VariationIndex int
	// Version is the flag's version.
	Version int
	// Reason is the evaluation reason, or the zero Reason when not included
	// (see [AllFlagsOptions.WithReasons]).
	Reason evaluation.Reason
	// TrackEvents is true when every evaluation of the flag needs a full
	// event: the flag has trackEvents, or the evaluation is part of an
	// experiment.
	TrackEvents bool
	// TrackReason is true when the evaluation is part of an experiment, so
	// events must carry the reason.
	TrackReason bool
	// DebugEventsUntilDate is the flag's debugEventsUntilDate (Unix
	// milliseconds), or 0.
	DebugEventsUntilDate int64
	// OmitDetails is true when [AllFlagsOptions.DetailsOnlyForTrackedFlags]
	// leaves out the version and reason.
	OmitDetails bool
	// Prerequisites are the keys of the flag's direct prerequisites that
	// were evaluated, in order.
	Prerequisites []string
}

// AllFlags is the state of every flag for one evaluation context, as
// [Client.AllFlagsState] returns it. Its JSON (MarshalJSON) is LaunchDarkly's
// bootstrap format for client-side SDKs. It is immutable.
type AllFlags struct {
	flags   []keyedState        // sorted by key
	reasons []evaluation.Reason // the reasons included, indexed by keyedState.reason
	valid   bool
	err     error
}

// keyedState is one flag's entry in AllFlags, small and pointing into the
// (immutable) cached flag for everything the flag itself says: its value is
// the flag's variation, its version, debug date and prerequisite keys are
// the flag's. A state of 1,000 flags is then one allocation of 40 KB rather
// than 240 KB of FlagStates. (A slice, not a map: a map of values this large
// stores each one in its own allocation.)
type keyedState struct {
	key     string
	flag    *model.Flag // nil for a flag stored malformed
	vi      int32       // variation index, or -1
	reason  int32       // index into AllFlags.reasons, or -1: none included
	prereqs int32       // direct prerequisites evaluated
	bits    stateBits
}

// stateBits are a keyedState's booleans.
type stateBits uint8

const (
	bitTrackEvents stateBits = 1 << iota
	bitTrackReason
	bitOmitDetails
)

// Valid reports whether the state was computed. It is false when the client
// is offline or closed, the context is invalid, or the flags could not be
// read; the state then holds no flags and Err says why.
func (a AllFlags) Valid() bool { return a.valid }

// Err returns why the state is not valid, or nil.
func (a AllFlags) Err() error { return a.err }

// Flag returns the state of one flag. Its Prerequisites slice is the
// caller's own.
func (a AllFlags) Flag(key string) (FlagState, bool) {
	i, ok := slices.BinarySearchFunc(a.flags, key, func(e keyedState, k string) int { return strings.Compare(e.key, k) })
	if !ok {
		return FlagState{}, false
	}
	f := a.state(i)
	f.Prerequisites = slices.Clone(f.Prerequisites)
	return f, true
}

// state returns the state of the flag at index i; its Prerequisites slice
// is shared with the cached flag.
func (a AllFlags) state(i int) FlagState {
	k := &a.flags[i]
	f := FlagState{
		Value:          a.value(i),
		VariationIndex: int(k.vi),
		TrackEvents:    k.bits&bitTrackEvents != 0,
		TrackReason:    k.bits&bitTrackReason != 0,
		OmitDetails:    k.bits&bitOmitDetails != 0,
	}
	if k.reason >= 0 {
		f.Reason = a.reasons[k.reason]
	}
	if k.flag != nil {
		f.Version = k.flag.Version
		if k.flag.DebugEventsUntilDate != nil {
			f.DebugEventsUntilDate = *k.flag.DebugEventsUntilDate
		}
		if k.prereqs > 0 {
			f.Prerequisites = k.flag.PrerequisiteKeys()[:k.prereqs]
		}
	}
	return f
}

// value returns the value of the flag at index i: the variation served
// (the evaluator's value is always the flag's variation at the index it
// reports), or null.
func (a AllFlags) value(i int) jsonvalue.Value {
	k := &a.flags[i]
	if k.flag == nil || k.vi < 0 || int(k.vi) >= len(k.flag.Variations) {
		return jsonvalue.Null()
	}
	return k.flag.Variations[k.vi]
}

// Value returns the value of one flag; null when the flag is not in the
// state or has no variation index.
func (a AllFlags) Value(key string) jsonvalue.Value {
	i, ok := slices.BinarySearchFunc(a.flags, key, func(e keyedState, k string) int { return strings.Compare(e.key, k) })
	if !ok {
		return jsonvalue.Null()
	}
	return a.value(i)
}

// Keys returns the keys of the flags in the state, sorted.
func (a AllFlags) Keys() []string {
	keys := make([]string, len(a.flags))
	for i := range a.flags {
		keys[i] = a.flags[i].key
	}
	return keys
}

// Values returns a new map from flag key to value.
func (a AllFlags) Values() map[string]jsonvalue.Value {
	m := make(map[string]jsonvalue.Value, len(a.flags))
	for i := range a.flags {
		m[a.flags[i].key] = a.value(i)
	}
	return m
}

// MarshalJSON writes LaunchDarkly's bootstrap format: "$valid", each flag's
// value under its key, and "$flagsState" with each flag's metadata
// ("variation", "version", "reason", "trackEvents", "trackReason",
// "debugEventsUntilDate", "prerequisites"), leaving out properties that are
// absent, false or zero. Flags are written in key order.
func (a AllFlags) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 64+96*len(a.flags))
	b = append(b, `{"$valid":`...)
	b = strconv.AppendBool(b, a.valid)
	for i := range a.flags {
		b = append(b, ',')
		b = jsonvalue.String(a.flags[i].key).AppendJSON(b)
		b = append(b, ':')
		b = a.value(i).AppendJSON(b)
	}
	b = append(b, `,"$flagsState":{`...)
	for i := range a.flags {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonvalue.String(a.flags[i].key).AppendJSON(b)
		b = append(b, ':')
		b = a.state(i).appendMetadata(b)
	}
	return append(b, "}}"...), nil
}

func (f FlagState) appendMetadata(b []byte) []byte {
	b = append(b, '{')
	sep := func() {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
	}
	if f.VariationIndex >= 0 {
		b = append(b, `"variation":`...)
		b = strconv.AppendInt(b, int64(f.VariationIndex), 10)
	}
	if !f.OmitDetails {
		sep()
		b = append(b, `"version":`...)
		b = strconv.AppendInt(b, int64(f.Version), 10)
		if f.Reason.Kind != "" {
			b = append(b, `,"reason":`...)
			b = f.Reason.AppendJSON(b)
		}
	}
	if f.TrackEvents {
		sep()
		b = append(b, `"trackEvents":true`...)
	}
	if f.TrackReason {
		sep()
		b = append(b, `"trackReason":true`...)
	}
	if f.DebugEventsUntilDate > 0 {
		sep()
		b = append(b, `"debugEventsUntilDate":`...)
		b = strconv.AppendInt(b, f.DebugEventsUntilDate, 10)
	}
	if len(f.Prerequisites) > 0 {
		sep()
		b = append(b, `"prerequisites":[`...)
		for i, p := range f.Prerequisites {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonvalue.String(p).AppendJSON(b)
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// AllFlagsState evaluates every flag for the context ec, for passing to a
// front end (bootstrapping a client-side SDK) or for an overview. It runs no
// hooks and sends no events. opts selects the flags and details included.
// Each flag is evaluated once per call, however many flags name it as a
// prerequisite (see evaluation.Memo), so long prerequisite chains cost
// linear time.
//
// The state is invalid (Valid false, no flags, "$valid": false in JSON)
// when the client is offline or closed, ec is invalid, the flags cannot be
// read (the store fails and the cache holds no earlier list), or the store
// holds no dataset and the client has read no flags (LaunchDarkly's daemon
// mode returns an empty valid state there, which a front end would take for
// "no flags exist"); Err says why. A flag that fails to evaluate is still
// included, with a null value and, with reasons, its error reason; so is a
// flag stored malformed (MALFORMED_FLAG; left out with ClientSideOnly, since
// its availability cannot be read): one bad item concerns its key only.
func (c *Client) AllFlagsState(ctx context.Context, ec evalctx.Context, opts AllFlagsOptions) AllFlags {
	if err := c.notReady(); err != nil {
		return AllFlags{err: fmt.Errorf("client: all flags: %w: %w", ErrClientNotReady, err)}
	}
	if err := c.noData(); err != nil {
		return AllFlags{err: fmt.Errorf("client: all flags: %w: %w", ErrClientNotReady, err)}
	}
	if err := ec.Err(); err != nil {
		return AllFlags{err: fmt.Errorf("client: all flags: %w: %w", ErrInvalidContext, err)}
	}
	for try := 1; ; try++ {
		removals := c.cache.Removals()
		st := c.allFlagsState(ctx, ec, opts)
		if c.cache.Removals() == removals || try == maxEvalTries || !st.valid {
			return st
		}
		// An item was removed meanwhile: evaluate again (see evaluateTyped).
	}
}

// allFlagsState is AllFlagsState once the client and ec are known good.
func (c *Client) allFlagsState(ctx context.Context, ec evalctx.Context, opts AllFlagsOptions) AllFlags {
	flags, malformed, err := c.cache.AllFlagsShared(ctx) // read only
	if err != nil {
		return AllFlags{err: fmt.Errorf("client: all flags: %w: %w", ErrDataUnavailable, err)}
	}
	if len(flags) == 0 && len(malformed) == 0 && !c.cache.Initialized(ctx) {
		// No writer has stored a dataset: an empty but valid state would
		// tell a front end that no flags exist.
		return AllFlags{err: fmt.Errorf("client: all flags: %w: %w", ErrDataUnavailable, store.ErrNotInitialized)}
	}
	now := time.Now().UnixMilli()
	states := make([]keyedState, 0, len(flags)+len(malformed))
	var reasons []evaluation.Reason
	if opts.WithReasons {
		reasons = make([]evaluation.Reason, 0, len(flags)+len(malformed))
	}
	// Results are remembered only for flags evaluated as prerequisites (see
	// evaluation.Memo): a dataset without prerequisites costs no memo, and
	// one with them room for at most as many results as there are
	// prerequisites (or flags), made once.
	memo := evaluation.NewMemo(ec)
	prereqs := 0
	for _, f := range flags {
		prereqs += len(f.Prerequisites)
	}
	memo.Grow(min(prereqs, len(flags)))
	for _, f := range flags {
		if opts.ClientSideOnly && !f.Availability().UsingEnvironmentID {
			continue
		}
		res := c.eval.EvaluateMemo(ctx, f, memo)
		st := keyedState{key: f.Key, flag: f, vi: int32(res.Detail.VariationIndex), reason: -1,
			prereqs: int32(len(res.Prerequisites))}
		if f.TrackEvents || res.IsExperiment {
			st.bits |= bitTrackEvents
		}
		if res.IsExperiment {
			st.bits |= bitTrackReason
		}
		if opts.DetailsOnlyForTrackedFlags && !f.TrackEvents && !res.IsExperiment &&
			(f.DebugEventsUntilDate == nil || *f.DebugEventsUntilDate <= now) {
			st.bits |= bitOmitDetails
		}
		if opts.WithReasons || res.IsExperiment {
			st.reason = int32(len(reasons))
			reasons = append(reasons, res.Detail.Reason)
		}
		states = append(states, st)
	}
	if !opts.ClientSideOnly {
		for _, key := range malformed {
			st := keyedState{key: key, vi: evaluation.NoVariation, reason: -1}
			if opts.WithReasons {
				st.reason = int32(len(reasons))
				reasons = append(reasons, evaluation.ErrorReason(evaluation.ErrorMalformedFlag))
			}
			states = append(states, st)
		}
		if len(malformed) > 0 {
			// The cache lists flags and malformed keys each in key order.
			slices.SortFunc(states, func(a, b keyedState) int { return strings.Compare(a.key, b.key) })
		}
	}
	return AllFlags{flags: states, reasons: reasons, valid: true}
}
