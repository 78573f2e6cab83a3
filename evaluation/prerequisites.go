package evaluation

import "github.com/daemonflag/daemonflag/model"

// checkPrerequisites evaluates the flag's prerequisites in order. failed
// is the index of the first one that is not met (the direct prerequisite,
// whatever failed further down), or -1; malformed is true for a prerequisite cycle
// or a malformed prerequisite, which ends the whole evaluation. n is the
// number of prerequisites evaluated and reported.
func (st *state) checkPrerequisites(f *model.Flag, flags *chain) (failed int, malformed bool, n int) {
	if st.nesting >= maxNesting {
		st.tooDeep = true
		return -1, true, 0
	}
	st.enter()
	failed, malformed, n = st.prerequisitesOf(f, &chain{key: f.Key, up: flags})
	st.nesting--
	return failed, malformed, n
}

func (st *state) prerequisitesOf(f *model.Flag, flags *chain) (int, bool, int) {
	var d Detail
	for i := range f.Prerequisites {
		p := &f.Prerequisites[i]
		pf := st.flag(p.Key)
		if pf == nil || pf.Deleted {
			return i, false, i
		}
		if flags.has(pf.Key) {
			// A cycle: A needs B needs ... needs A. A diamond (two paths to
			// the same flag) is not on the chain and evaluates normally.
			st.cycle = true
			return -1, true, i
		}
		var ok bool
		var pn int
		if st.memo != nil {
			ok, pn = st.memoFlag(pf, flags, &d)
		} else {
			ok, pn = st.evalFlag(pf, flags, &d)
		}
		if !ok {
			return -1, true, i
		}
		// An off prerequisite fails even when its off variation is the
		// required one.
		met := pf.On && !d.IsDefaultValue() && d.VariationIndex == p.Variation
		if st.rec != nil {
			res := Result{Detail: d, IsExperiment: isExperiment(pf, &d.Reason)}
			if pn > 0 {
				res.Prerequisites = pf.PrerequisiteKeys()[:pn]
			}
			st.rec(PrerequisiteEvent{FlagKey: f.Key, Flag: pf, Result: res})
		}
		if !met {
			return i, false, i + 1
		}
	}
	return -1, false, len(f.Prerequisites)
}
