package evaluation

import (
	"context"
	"slices"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/model"
)

// Memo remembers the results of the flags evaluated as prerequisites for one
// context, so that evaluating many flags for that context (all flags for a
// front end) evaluates each flag at most twice (once as a prerequisite, once
// more when it was evaluated on its own before), however many flags name it
// as a prerequisite: without it a chain of n prerequisites costs n²/2 flag
// evaluations. Results of flags evaluated on their own are used but not
// remembered, so a dataset without prerequisites costs no memo at all.
// Results are exactly
// those of [Evaluator.Evaluate]: a result is remembered only when it depends on
// the flag and the context alone (no prerequisite or segment cycle met), with
// the nesting depth it needed, so a remembered result used deeper in another
// evaluation still fails where the nesting limit would have been reached; a
// flag that met the nesting limit is remembered as failing at that nesting
// and deeper.
//
// A Memo is for one context and one evaluator, used by one goroutine; the
// zero value is not usable: create one with [NewMemo]. Its results assume the
// flags do not change while it is used.
type Memo struct {
	ec evalctx.Context
	// index maps a flag key to its result in results. (Not a map of
	// results: a map of values this large stores each one in its own
	// allocation.)
	index   map[string]int32
	results []memoResult
}

type memoResult struct {
	// failsFrom > 0: the flag met the nesting limit when evaluated at
	// nesting failsFrom-1, so it is MALFORMED_FLAG there and deeper; the
	// other fields are unset.
	failsFrom int
	ok        bool
	detail    Detail // without a big-segments status
	pn        int    // direct prerequisites evaluated
	big       BigSegmentsStatus
	height    int // nesting levels the evaluation entered
}

// NewMemo returns an empty Memo for evaluations of the context ec.
func NewMemo(ec evalctx.Context) *Memo {
	return &Memo{ec: ec}
}

// Grow makes room for the results of n more flags without allocating again.
func (m *Memo) Grow(n int) {
	if n <= 0 {
		return
	}
	m.results = slices.Grow(m.results, n)
	if m.index == nil {
		m.index = make(map[string]int32, n)
	}
}

// EvaluateMemo is [Evaluator.Evaluate] for memo's context, reusing and
// adding to memo's results (see [Memo]). It reports no prerequisite events.
func (e *Evaluator) EvaluateMemo(ctx context.Context, flag *model.Flag, memo *Memo) Result {
	if flag == nil || flag.Deleted {
		return Result{Detail: errorDetail(ErrorFlagNotFound)}
	}
	ec := memo.ec
	if ec.Err() != nil {
		return Result{Detail: errorDetail(ErrorUserNotSpecified)}
	}
	st := state{e: e, ctx: ctx, ec: ec, memo: memo}
	var res Result
	_, n := st.memoFlag(flag, nil, &res.Detail)
	st.finish(flag, &res, n)
	return res
}

// memoFlag is evalFlag through the memo: a remembered result, if it is
// valid at this nesting, or a new evaluation, remembered when it depends on
// nothing but the flag and the context.
func (st *state) memoFlag(f *model.Flag, flags *chain, out *Detail) (ok bool, prereqs int) {
	var r memoResult
	i, found := st.memo.index[f.Key]
	if found {
		r = st.memo.results[i]
	}
	if found && r.failsFrom > 0 && st.nesting >= r.failsFrom-1 {
		st.tooDeep = true
		*out = errorDetail(ErrorMalformedFlag)
		return false, 0
	}
	if found && r.failsFrom == 0 {
		if st.nesting+r.height > maxNesting {
			// Evaluated here, it would have reached the nesting limit.
			st.tooDeep = true
			*out = errorDetail(ErrorMalformedFlag)
			return false, 0
		}
		*out = r.detail
		st.bigStatus = worseStatus(st.bigStatus, r.big)
		st.peak = max(st.peak, st.nesting+r.height)
		return r.ok, r.pn
	}
	savedPeak, savedCycle, savedDeep, savedBig := st.peak, st.cycle, st.tooDeep, st.bigStatus
	st.peak, st.cycle, st.tooDeep, st.bigStatus = st.nesting, false, false, ""
	ok, prereqs = st.evalFlag(f, flags, out)
	switch {
	case st.nesting == 0:
		// Evaluated on its own: remembered only when evaluated as a
		// prerequisite (see Memo).
	case st.cycle:
		// Depends on the path to the flag: not remembered.
	case st.tooDeep:
		// Malformed here and at any deeper nesting.
		st.memo.put(f.Key, memoResult{failsFrom: st.nesting + 1})
	default:
		st.memo.put(f.Key, memoResult{ok: ok, detail: *out, pn: prereqs, big: st.bigStatus, height: st.peak - st.nesting})
	}
	st.peak = max(st.peak, savedPeak)
	st.cycle = st.cycle || savedCycle
	st.tooDeep = st.tooDeep || savedDeep
	st.bigStatus = worseStatus(savedBig, st.bigStatus)
	return ok, prereqs
}

// enter counts one more nesting level (a prerequisite's or a segment's).
func (st *state) enter() {
	st.nesting++
	st.peak = max(st.peak, st.nesting)
}

// put remembers r as the result of flag key.
func (m *Memo) put(key string, r memoResult) {
	if m.index == nil {
		m.index = map[string]int32{}
	}
	if i, ok := m.index[key]; ok {
		m.results[i] = r
		return
	}
	m.index[key] = int32(len(m.results))
	m.results = append(m.results, r)
}
