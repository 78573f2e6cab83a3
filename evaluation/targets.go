package evaluation

import "github.com/daemonflag/daemonflag/model"

// targetMatch finds the variation of an individual target that lists the
// context. With no contextTargets, the user-kind "targets" list decides.
// Otherwise contextTargets decide in order, and a user-kind entry without
// values stands for the "targets" entry with the same variation (that is
// how LaunchDarkly sends user targets alongside other kinds).
func (st *state) targetMatch(f *model.Flag) (int, bool) {
	if len(f.ContextTargets) == 0 {
		for i := range f.Targets {
			if st.targetListed(&f.Targets[i]) {
				return f.Targets[i].Variation, true
			}
		}
		return 0, false
	}
	for i := range f.ContextTargets {
		t := &f.ContextTargets[i]
		if (t.ContextKind == "" || t.ContextKind == defaultKind) && len(t.Values) == 0 {
			for j := range f.Targets {
				if f.Targets[j].Variation == t.Variation {
					if st.targetListed(&f.Targets[j]) {
						return t.Variation, true
					}
					break
				}
			}
			continue
		}
		if st.targetListed(t) {
			return t.Variation, true
		}
	}
	return 0, false
}

// targetListed reports whether the context of the target's kind exists and
// its key is listed.
func (st *state) targetListed(t *model.Target) bool {
	c, ok := st.individual(t.ContextKind)
	return ok && t.Contains(c.Key())
}
