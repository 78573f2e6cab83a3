package writer

import (
	"fmt"
	"strings"

	"github.com/daemonflag/daemonflag/model"
)

// MaxNesting is how many levels of prerequisites and nested segments the
// evaluator follows in one evaluation (evaluation's own limit, which a test
// of this package checks against the evaluator). A flag that needs more
// evaluates as MALFORMED_FLAG, so validation rejects it.
const MaxNesting = 1000

// checkDepth reports prerequisite chains (with the nested segments their
// flags' rules match on) deeper than the evaluator follows, one problem
// per chain, at the flag the chain starts from. Cycles are reported
// elsewhere; here they are cut.
func (v *validated) checkDepth(ps *problems) {
	segDepth := map[string]int{}
	segVisiting := map[string]bool{}
	var segD func(key string) int
	segD = func(key string) int {
		if d, ok := segDepth[key]; ok {
			return d
		}
		s := v.segments[key]
		if s == nil || segVisiting[key] {
			return 0
		}
		segVisiting[key] = true
		d := 1
		for _, k := range nestedSegments(s) {
			d = max(d, 1+segD(k))
		}
		delete(segVisiting, key)
		segDepth[key] = d
		return d
	}
	// need[f] is the nesting the evaluator enters to evaluate f; next[f] the
	// prerequisite on f's deepest path ("" when its rules' segments are).
	need := make(map[string]int, len(v.flags))
	next := make(map[string]string, len(v.flags))
	visiting := map[string]bool{}
	var flagNeed func(key string) int
	flagNeed = func(key string) int {
		if n, ok := need[key]; ok {
			return n
		}
		f := v.flags[key]
		if f == nil || visiting[key] {
			return 0
		}
		visiting[key] = true
		n := 0
		for i := range f.Rules {
			for _, c := range f.Rules[i].Clauses {
				if c.Op != model.OpSegmentMatch {
					continue
				}
				for _, val := range c.Values {
					if val.IsString() {
						n = max(n, segD(val.Str()))
					}
				}
			}
		}
		for _, p := range f.Prerequisites {
			if d := 1 + flagNeed(p.Key); d > n {
				n, next[key] = d, p.Key
			}
		}
		delete(visiting, key)
		need[key] = n
		return n
	}
	keys := v.d.FlagKeys()
	for _, k := range keys {
		flagNeed(k)
	}
	// The chains start at flags that no flag too deep lists as a
	// prerequisite.
	inner := map[string]bool{}
	for _, k := range keys {
		if need[k] > MaxNesting {
			for _, p := range v.flags[k].PrerequisiteKeys() {
				inner[p] = true
			}
		}
	}
	for _, k := range keys {
		if need[k] <= MaxNesting || inner[k] {
			continue
		}
		chain := []string{k}
		for c := next[k]; c != "" && len(chain) <= len(keys); c = next[c] {
			chain = append(chain, c)
		}
		segs := ""
		if last := chain[len(chain)-1]; need[last] > 0 && next[last] == "" && len(v.flags[last].Prerequisites) == 0 {
			segs = fmt.Sprintf(", whose rules match segments nested %d deep", need[last])
		}
		ps.malformedf(v.d.Flags[k].Source, "flag", k,
			"prerequisite chain of %d flags%s needs %d levels, more than the evaluator follows (%d): %s; clients evaluate %q and the flags of the chain more than %d levels from its end as MALFORMED_FLAG",
			len(chain), segs, need[k], MaxNesting, abbreviateChain(chain), k, MaxNesting)
	}
}

// abbreviateChain joins a chain of keys with arrows, leaving out the middle
// of a long one.
func abbreviateChain(chain []string) string {
	const ends = 3
	if len(chain) <= 2*ends+1 {
		return strings.Join(chain, " -> ")
	}
	return fmt.Sprintf("%s -> ... (%d more) ... -> %s", strings.Join(chain[:ends], " -> "), len(chain)-2*ends, strings.Join(chain[len(chain)-ends:], " -> "))
}
