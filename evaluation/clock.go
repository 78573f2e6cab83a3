package evaluation

import (
	"context"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/model"
)

// ClockedProvider is implemented by a [DataProvider] whose answers depend on
// a clock, such as a cache with a time to live (store/cache.Cache): the
// evaluator then reads the clock once per evaluation, through Now, instead
// of once per lookup, and passes that reading to every prerequisite and
// segment lookup. FlagAt and SegmentAt answer as Flag and Segment do at the
// reading now, and return the reading to use for the next lookup (now
// itself, or a new one after a lookup that waited).
type ClockedProvider interface {
	Now() int64
	FlagAt(ctx context.Context, key string, now int64) (f *model.Flag, next int64)
	SegmentAt(ctx context.Context, key string, now int64) (s *model.Segment, next int64)
}

// EvaluateAt is [Evaluator.EvaluateWithRecorder] into res, for a data
// provider that implements [ClockedProvider], when the caller looked flag up
// at now (a reading of the provider's Now): the evaluation's own lookups use
// that reading too. With any other provider now is ignored. (The result is
// written through a pointer: on a warm cache, copying it between the layers
// of a call costs a noticeable part of the whole evaluation.)
func (e *Evaluator) EvaluateAt(ctx context.Context, flag *model.Flag, ec evalctx.Context, now int64, rec PrerequisiteRecorder, res *Result) {
	if flag == nil || flag.Deleted {
		*res = Result{Detail: errorDetail(ErrorFlagNotFound)}
		return
	}
	if ec.Err() != nil {
		*res = Result{Detail: errorDetail(ErrorUserNotSpecified)}
		return
	}
	st := state{e: e, ctx: ctx, ec: ec, rec: rec, now: now, hasNow: true}
	*res = Result{}
	_, n := st.evalFlag(flag, nil, &res.Detail)
	st.finish(flag, res, n)
}

// EvaluateDetailAt is [Evaluator.EvaluateAt] with no recorder, for a
// caller that needs only the detail: it leaves out what else a [Result]
// holds (IsExperiment and the prerequisite keys, whose lookup is one more
// cache miss per flag with prerequisites in a mix of many flags). d is the
// same as the Detail of EvaluateAt's Result.
func (e *Evaluator) EvaluateDetailAt(ctx context.Context, flag *model.Flag, ec evalctx.Context, now int64, d *Detail) {
	if flag == nil || flag.Deleted {
		*d = errorDetail(ErrorFlagNotFound)
		return
	}
	if ec.Err() != nil {
		*d = errorDetail(ErrorUserNotSpecified)
		return
	}
	st := state{e: e, ctx: ctx, ec: ec, now: now, hasNow: true}
	*d = Detail{}
	st.evalFlag(flag, nil, d)
	if st.bigStatus != "" {
		d.Reason.BigSegmentsStatus = st.bigStatus
	}
}

// flag looks up a prerequisite.
func (st *state) flag(key string) *model.Flag {
	c := st.e.clocked
	if c == nil {
		return st.e.data.Flag(st.ctx, key)
	}
	var f *model.Flag
	f, st.now = c.FlagAt(st.ctx, key, st.reading(c))
	return f
}

// segment looks up a segment.
func (st *state) segment(key string) *model.Segment {
	c := st.e.clocked
	if c == nil {
		return st.e.data.Segment(st.ctx, key)
	}
	var s *model.Segment
	s, st.now = c.SegmentAt(st.ctx, key, st.reading(c))
	return s
}

// reading is the evaluation's reading of c's clock, taken at the first
// lookup that needs one when the caller gave none.
func (st *state) reading(c ClockedProvider) int64 {
	if !st.hasNow {
		st.now, st.hasNow = c.Now(), true
	}
	return st.now
}
