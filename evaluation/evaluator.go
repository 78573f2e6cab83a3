package evaluation

import (
	"context"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// DataProvider gives the evaluator the other flags and segments an
// evaluation refers to (prerequisites and segmentMatch clauses).
type DataProvider interface {
	// Flag returns the flag with the given key, or nil when it does not
	// exist or is deleted.
	Flag(ctx context.Context, key string) *model.Flag
	// Segment returns the segment with the given key, or nil when it does
	// not exist or is deleted.
	Segment(ctx context.Context, key string) *model.Segment
}

// PrerequisiteEvent describes the evaluation of one prerequisite flag, at
// any depth, for events and hooks.
type PrerequisiteEvent struct {
	// FlagKey is the key of the flag that has the prerequisite.
	FlagKey string
	// Flag is the prerequisite flag.
	Flag *model.Flag
	// Result is the prerequisite's own evaluation result (its reason never
	// carries a big-segments status; the top-level result does).
	Result Result
}

// PrerequisiteRecorder receives a [PrerequisiteEvent] for every
// prerequisite evaluation, in evaluation order. It is called synchronously
// and must not retain the event's Result.Prerequisites slice beyond the
// flag's lifetime rules (it is shared with the flag).
type PrerequisiteRecorder func(PrerequisiteEvent)

// Evaluator evaluates flags exactly as LaunchDarkly's evaluator does. It is
// safe for concurrent use; it keeps no state between evaluations.
type Evaluator struct {
	data        DataProvider
	clocked     ClockedProvider // data, when it is one
	bigSegments BigSegmentProvider
}

// New returns an Evaluator that looks up prerequisites and segments in data
// and big-segment memberships in bigSegments. bigSegments may be nil: big
// segments then evaluate as not matching, with status NOT_CONFIGURED.
func New(data DataProvider, bigSegments BigSegmentProvider) *Evaluator {
	clocked, _ := data.(ClockedProvider)
	return &Evaluator{data: data, clocked: clocked, bigSegments: bigSegments}
}

// maxNesting bounds nested prerequisites plus nested segments in one
// evaluation. Cycles are detected as soon as they close, whatever their
// length; this bound only protects the stack from absurdly deep acyclic
// data (LaunchDarkly has none), which evaluates as MALFORMED_FLAG.
const maxNesting = 1000

var defaultKind = evalctx.DefaultKind

// Evaluate evaluates flag for the evaluation context ec. A nil or deleted
// flag gives ERROR/FLAG_NOT_FOUND; an invalid context gives
// ERROR/USER_NOT_SPECIFIED. On the common paths (targets, rules, rollouts,
// segments) it does not allocate.
func (e *Evaluator) Evaluate(ctx context.Context, flag *model.Flag, ec evalctx.Context) Result {
	return e.evaluate(ctx, flag, ec, nil)
}

// EvaluateWithRecorder is [Evaluator.Evaluate], also reporting every
// prerequisite evaluation (at any depth) to rec, which may be nil.
func (e *Evaluator) EvaluateWithRecorder(ctx context.Context, flag *model.Flag, ec evalctx.Context, rec PrerequisiteRecorder) Result {
	return e.evaluate(ctx, flag, ec, rec)
}

func (e *Evaluator) evaluate(ctx context.Context, flag *model.Flag, ec evalctx.Context, rec PrerequisiteRecorder) Result {
	if flag == nil || flag.Deleted {
		return Result{Detail: errorDetail(ErrorFlagNotFound)}
	}
	if ec.Err() != nil {
		return Result{Detail: errorDetail(ErrorUserNotSpecified)}
	}
	st := state{e: e, ctx: ctx, ec: ec, rec: rec}
	var res Result
	_, n := st.evalFlag(flag, nil, &res.Detail)
	st.finish(flag, &res, n)
	return res
}

// finish completes the result of flag's evaluation, whose first n
// prerequisites were evaluated.
func (st *state) finish(flag *model.Flag, res *Result, n int) {
	if st.bigStatus != "" {
		res.Detail.Reason.BigSegmentsStatus = st.bigStatus
	}
	res.IsExperiment = isExperiment(flag, &res.Detail.Reason)
	if n > 0 {
		res.Prerequisites = flag.PrerequisiteKeys()[:n]
	}
}

// state is one evaluation in progress. It lives on the stack of Evaluate
// and is small, so that starting an evaluation costs little.
type state struct {
	e         *Evaluator
	ctx       context.Context
	ec        evalctx.Context // one pointer: cheap to copy, never escapes
	rec       PrerequisiteRecorder
	bigStatus BigSegmentsStatus
	nesting   int // prerequisite and segment levels entered
	// now is the data provider's clock for the next lookup, when hasNow
	// (see ClockedProvider).
	now    int64
	hasNow bool

	// For a Memo (see memo.go): the deepest nesting reached, and whether a
	// cycle or the nesting limit was met (a result that depends on the path
	// to the flag, not only on the flag and the context).
	memo    *Memo
	peak    int
	cycle   bool
	tooDeep bool

	members     [membershipCacheSize]cachedMembership
	nMembers    int
	moreMembers []cachedMembership
}

// chain is the path of flags (or segments) being evaluated, linked
// through the Go stack frames of the recursion, for cycle detection
// without allocating.
type chain struct {
	key string
	up  *chain
}

func (c *chain) has(key string) bool {
	for ; c != nil; c = c.up {
		if c.key == key {
			return true
		}
	}
	return false
}

// evalFlag evaluates a flag (the top-level one or a prerequisite) into out.
// flags is the chain of flags whose prerequisites are being evaluated. ok
// is false when the whole evaluation must stop with the error in out
// (malformed data: an invalid clause, a cycle); prereqs is the number of
// direct prerequisites evaluated.
func (st *state) evalFlag(f *model.Flag, flags *chain, out *Detail) (ok bool, prereqs int) {
	if !f.On {
		offValue(f, OffReason(), out)
		return true, 0
	}
	n := 0
	if len(f.Prerequisites) > 0 {
		var failed int
		var malformed bool
		failed, malformed, n = st.checkPrerequisites(f, flags)
		if malformed {
			*out = errorDetail(ErrorMalformedFlag)
			return false, n
		}
		if failed >= 0 {
			offValue(f, PrerequisiteFailedReason(f.Prerequisites[failed].Key), out)
			return true, n
		}
	}
	if idx, found := st.targetMatch(f); found {
		if variation(f, idx, out) {
			out.Reason = Reason{Kind: ReasonTargetMatch}
		}
		return true, n
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		match, valid := st.ruleMatches(r)
		if !valid {
			*out = errorDetail(ErrorMalformedFlag)
			return false, n
		}
		if match {
			if inExperiment, ok := st.serve(f, &r.VariationOrRollout, out); ok {
				out.Reason = Reason{Kind: ReasonRuleMatch, RuleIndex: i, RuleID: r.ID, InExperiment: inExperiment}
			}
			return true, n
		}
	}
	if inExperiment, ok := st.serve(f, &f.Fallthrough, out); ok {
		out.Reason = Reason{Kind: ReasonFallthrough, InExperiment: inExperiment}
	}
	return true, n
}

// ruleMatches reports whether every clause of a flag rule matches; valid is
// false for malformed data.
func (st *state) ruleMatches(r *model.FlagRule) (match, valid bool) {
	for i := range r.Clauses {
		m, ok := st.clauseMatches(&r.Clauses[i], nil)
		if !ok {
			return false, false
		}
		if !m {
			return false, true
		}
	}
	return true, true
}

// serve sets out's value and variation index from a fixed variation or a
// rollout's bucket, leaving the reason to the caller; on malformed data it
// sets the MALFORMED_FLAG error and returns false.
func (st *state) serve(f *model.Flag, vr *model.VariationOrRollout, out *Detail) (inExperiment, ok bool) {
	idx, inExperiment, ok := st.rolloutVariation(vr, f.Key, f.Salt)
	if !ok {
		*out = errorDetail(ErrorMalformedFlag)
		return false, false
	}
	return inExperiment, variation(f, idx, out)
}

// variation sets out's value and variation index, or the MALFORMED_FLAG
// error (returning false) when the index is out of range.
func variation(f *model.Flag, idx int, out *Detail) bool {
	if idx < 0 || idx >= len(f.Variations) {
		*out = errorDetail(ErrorMalformedFlag)
		return false
	}
	out.Value = f.Variations[idx]
	out.VariationIndex = idx
	return true
}

// offValue serves the off variation, or no value when there is none (not
// an error).
func offValue(f *model.Flag, reason Reason, out *Detail) {
	if f.OffVariation == nil {
		*out = Detail{VariationIndex: NoVariation, Reason: reason}
		return
	}
	if variation(f, *f.OffVariation, out) {
		out.Reason = reason
	}
}

func errorDetail(kind ErrorKind) Detail {
	return Detail{Value: jsonvalue.Null(), VariationIndex: NoVariation, Reason: ErrorReason(kind)}
}

// isExperiment applies LaunchDarkly's rule for whether an evaluation counts
// as an experiment: the reason says so, or a legacy experiment marker
// (trackEventsFallthrough, or trackEvents on the matching rule) is set.
func isExperiment(f *model.Flag, r *Reason) bool {
	if r.InExperiment {
		return true
	}
	switch r.Kind {
	case ReasonFallthrough:
		return f.TrackEventsFallthrough
	case ReasonRuleMatch:
		if r.RuleIndex >= 0 && r.RuleIndex < len(f.Rules) {
			return f.Rules[r.RuleIndex].TrackEvents
		}
	}
	return false
}

// individual returns the context of the given kind ("" meaning "user").
func (st *state) individual(kind evalctx.Kind) (evalctx.Context, bool) {
	if kind == "" {
		kind = defaultKind
	}
	return st.ec.IndividualContextByKind(kind)
}
