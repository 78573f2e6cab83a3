package writer

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/model"
)

// rolloutTotal is the sum of a rollout's weights that covers every context:
// weights are in thousandths of a percent.
const rolloutTotal = 100000

// Validate checks a dataset the way [WriteDataset] does before writing it.
// Errors, returned together in a *ValidationError:
//   - an item that does not decode as a LaunchDarkly flag or segment (a
//     property of the wrong type, a missing key, ...), or that is a
//     tombstone ("deleted": true);
//   - a variation index out of range: off variation, fallthrough, targets,
//     rules, rollout buckets, and the variation a prerequisite requires of
//     the prerequisite flag;
//   - a rule, or the fallthrough of a flag that is on, that serves neither a
//     variation nor a rollout, and a rollout without buckets or with a
//     negative weight;
//   - a clause without a valid attribute;
//   - a cycle of prerequisites, or of segments referring to segments;
//   - a prerequisite chain (with the segments its flags' rules nest) deeper
//     than the evaluator follows ([MaxNesting] levels), named by its keys.
//
// Warnings, returned as a list (LaunchDarkly accepts these; they are
// usually mistakes): a prerequisite or segmentMatch clause naming a key
// that the dataset does not define, an unknown clause operator, a
// "matches" clause value that is not a valid regular expression, a
// property LaunchDarkly's schema does not have ("variation" for
// "variations"; named by its path), rollout weights that do not add up to
// 100%, a big segment without a generation, and an off flag without a
// fallthrough.
func Validate(d *Dataset) (warnings []Problem, err error) {
	return ValidateWith(d, WriteOptions{})
}

// ValidateWith is [Validate] as [Write] with opts validates: with
// opts.AllowMalformed, problems that make an item malformed for the
// evaluator are warnings (see [WriteOptions.AllowMalformed]). Other options
// do not matter here.
func ValidateWith(d *Dataset, opts WriteOptions) (warnings []Problem, err error) {
	v, err := validateOpts(d, nil, opts.AllowMalformed)
	if v != nil {
		warnings = v.warnings
	}
	return warnings, err
}

// validated is a dataset whose items decoded, with the decoded items.
type validated struct {
	d        *Dataset
	flags    map[string]*model.Flag
	segments map[string]*model.Segment
	warnings []Problem
	ext      *external
}

// external looks up the flags and segments that items refer to but the
// dataset does not hold: the store's, when one item is upserted.
type external struct {
	flag    func(key string) *model.Flag
	segment func(key string) bool
}

func validate(d *Dataset) (*validated, error) { return validateOpts(d, nil, false) }

func validateWith(d *Dataset, ext *external) (*validated, error) { return validateOpts(d, ext, false) }

// validateOpts validates d; with allowMalformed, the problems that make an
// item malformed for the evaluator (rather than undecodable) are warnings.
func validateOpts(d *Dataset, ext *external, allowMalformed bool) (*validated, error) {
	if d == nil {
		d = NewDataset()
	}
	v := &validated{d: d, flags: make(map[string]*model.Flag, len(d.Flags)), segments: make(map[string]*model.Segment, len(d.Segments)), ext: ext}
	ps := problems{allowMalformed: allowMalformed}
	ps.warns = append(ps.warns, d.Warnings...)

	decodeItems(&ps, "segment", d.Segments, model.DecodeSegment,
		func(s *model.Segment) (string, bool) { return s.Key, s.Deleted }, v.segments)
	decodeItems(&ps, "flag", d.Flags, model.DecodeFlag,
		func(f *model.Flag) (string, bool) { return f.Key, f.Deleted }, v.flags)

	for _, k := range d.FlagKeys() {
		if f := v.flags[k]; f != nil {
			v.checkFlag(&ps, d.Flags[k], f)
		}
	}
	for _, k := range d.SegmentKeys() {
		if s := v.segments[k]; s != nil {
			v.checkSegment(&ps, d.Segments[k], s)
		}
	}
	v.checkCycles(&ps)
	v.checkDepth(&ps)

	sortProblems(ps.errs)
	sortProblems(ps.warns)
	v.warnings = ps.warns
	return v, ps.err()
}

// decodeItems decodes the items of one kind ("flag" or "segment"), in key
// order, into out. An item that does not decode, whose key property
// (given by head, with its deleted flag) differs from the key it is listed
// under, or that is a tombstone, is a problem instead.
func decodeItems[T any](ps *problems, kind string, items map[string]*Item, decode func([]byte) (*T, error),
	head func(*T) (key string, deleted bool), out map[string]*T) {
	for _, k := range sortedKeys(items) {
		it := items[k]
		x, err := decode(it.Data)
		if err != nil {
			ps.add(decodeProblem(it, kind, err))
			continue
		}
		key, deleted := head(x)
		if key != k {
			ps.errorf(it.Source, kind, k, "its key property is %q, but it is listed under %q", key, k)
			continue
		}
		if deleted {
			ps.errorf(it.Source, kind, k, `is marked "deleted": true; remove it from the file instead`)
			continue
		}
		out[k] = x
	}
}

func decodeProblem(it *Item, kind string, err error) Problem {
	var de *model.DecodeError
	if errors.As(err, &de) {
		msg := de.Problem
		if de.Path != "" {
			msg = de.Path + ": " + msg
		}
		return Problem{Source: it.sourceAt(de.Offset), Kind: kind, Key: it.Key, Message: msg}
	}
	return Problem{Source: it.Source, Kind: kind, Key: it.Key, Message: err.Error()}
}

// sortProblems orders problems by file, line and column, keeping the order
// of problems at one place.
func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Source.File, b.Source.File),
			cmp.Compare(a.Source.Line, b.Source.Line),
			cmp.Compare(a.Source.Column, b.Source.Column),
		)
	})
}

func (v *validated) checkFlag(ps *problems, it *Item, f *model.Flag) {
	n := len(f.Variations)
	src := it.Source
	errf := func(format string, args ...any) { ps.malformedf(src, "flag", f.Key, format, args...) }
	warnf := func(format string, args ...any) { ps.warnf(src, "flag", f.Key, format, args...) }
	inRange := func(path string, i int) {
		if i < 0 || i >= n {
			errf("%s: variation %d is out of range (the flag has %s)", path, i, plural(n, "variation"))
		}
	}
	if f.OffVariation != nil {
		inRange("offVariation", *f.OffVariation)
	}
	vr := func(path string, x *model.VariationOrRollout, required bool) {
		switch {
		case x.Variation != nil:
			inRange(path+".variation", *x.Variation)
		case x.Rollout != nil:
			r := x.Rollout
			if len(r.Variations) == 0 {
				errf("%s.rollout: no variations (buckets)", path)
				return
			}
			total := 0
			for i, wv := range r.Variations {
				inRange(fmt.Sprintf("%s.rollout.variations[%d].variation", path, i), wv.Variation)
				if wv.Weight < 0 {
					errf("%s.rollout.variations[%d].weight: %d is negative", path, i, wv.Weight)
				}
				total += wv.Weight
			}
			if total != rolloutTotal {
				warnf("%s.rollout: weights add up to %d, not %d (100%%); the last bucket takes the rest", path, total, rolloutTotal)
			}
		case required:
			errf("%s: neither a variation nor a rollout", path)
		default:
			warnf("%s: neither a variation nor a rollout (an error for LaunchDarkly's evaluator once the flag is turned on)", path)
		}
	}
	unknownProperties(it.Data, flagSchemaRoot, func(path, suggestion string) {
		warnf("%s", unknownPropertyMessage(path, suggestion))
	})
	vr("fallthrough", &f.Fallthrough, f.On)
	for i := range f.Targets {
		inRange(fmt.Sprintf("targets[%d]", i), f.Targets[i].Variation)
	}
	for i := range f.ContextTargets {
		inRange(fmt.Sprintf("contextTargets[%d]", i), f.ContextTargets[i].Variation)
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		path := fmt.Sprintf("rules[%d]", i)
		vr(path, &r.VariationOrRollout, true)
		v.checkClauses(ps, it, "flag", f.Key, path, r.Clauses)
	}
	for i, p := range f.Prerequisites {
		path := fmt.Sprintf("prerequisites[%d]", i)
		if p.Key == f.Key {
			continue // reported as a cycle
		}
		pf, ok := v.flags[p.Key]
		if !ok && v.d.Flags[p.Key] == nil && v.ext != nil {
			pf = v.ext.flag(p.Key)
			ok = pf != nil
		}
		switch {
		case ok:
			if p.Variation < 0 || p.Variation >= len(pf.Variations) {
				errf("%s: requires variation %d of flag %q, which has %s", path, p.Variation, p.Key, plural(len(pf.Variations), "variation"))
			}
		case v.d.Flags[p.Key] != nil:
			// Defined but invalid: reported there.
		default:
			warnf("%s: flag %q is not defined (the prerequisite fails until it exists)", path, p.Key)
		}
	}
}

func (v *validated) checkSegment(ps *problems, it *Item, s *model.Segment) {
	unknownProperties(it.Data, segmentSchemaRoot, func(path, suggestion string) {
		ps.warnf(it.Source, "segment", s.Key, "%s", unknownPropertyMessage(path, suggestion))
	})
	for i := range s.Rules {
		v.checkClauses(ps, it, "segment", s.Key, fmt.Sprintf("rules[%d]", i), s.Rules[i].Clauses)
	}
	if s.Unbounded && s.Generation == nil {
		ps.warnf(it.Source, "segment", s.Key, `a big segment ("unbounded": true) without "generation" never matches (its status is NOT_CONFIGURED)`)
	}
}

var knownOps = map[model.Operator]bool{
	model.OpIn: true, model.OpEndsWith: true, model.OpStartsWith: true, model.OpMatches: true,
	model.OpContains: true, model.OpLessThan: true, model.OpLessThanOrEqual: true,
	model.OpGreaterThan: true, model.OpGreaterThanOrEqual: true, model.OpBefore: true,
	model.OpAfter: true, model.OpSemVerEqual: true, model.OpSemVerLessThan: true,
	model.OpSemVerGreaterThan: true, model.OpSegmentMatch: true,
}

func (v *validated) checkClauses(ps *problems, it *Item, kind, key, path string, clauses []model.Clause) {
	for j := range clauses {
		c := &clauses[j]
		cp := fmt.Sprintf("%s.clauses[%d]", path, j)
		if c.Op == model.OpSegmentMatch {
			for _, val := range c.Values {
				switch {
				case !val.IsString():
					ps.warnf(it.Source, kind, key, "%s: segmentMatch value %s is not a segment key (never matches)", cp, val.JSON())
				case v.segments[val.Str()] == nil && v.d.Segments[val.Str()] == nil &&
					(v.ext == nil || !v.ext.segment(val.Str())):
					ps.warnf(it.Source, kind, key, "%s: segment %q is not defined (the clause does not match until it exists)", cp, val.Str())
				}
			}
			continue
		}
		if err := c.AttributeErr(); err != nil {
			ps.malformedf(it.Source, kind, key, "%s.attribute: %v", cp, err)
		}
		if !knownOps[c.Op] {
			ps.warnf(it.Source, kind, key, "%s.op: unknown operator %q never matches", cp, c.Op)
		}
		if c.Op == model.OpMatches {
			for i, val := range c.Values {
				if !val.IsString() {
					continue
				}
				if _, err := regexp.Compile(val.Str()); err != nil {
					ps.warnf(it.Source, kind, key, "%s.values[%d]: invalid regular expression %q (it never matches): %v", cp, i, val.Str(), err)
				}
			}
		}
	}
}

// checkCycles reports prerequisite cycles among flags and segmentMatch
// cycles among segments.
func (v *validated) checkCycles(ps *problems) {
	flagEdges := make(map[string][]string, len(v.flags))
	for k, f := range v.flags {
		for _, p := range f.Prerequisites {
			if _, ok := v.flags[p.Key]; ok {
				flagEdges[k] = append(flagEdges[k], p.Key)
			}
		}
	}
	for _, c := range findCycles(flagEdges) {
		ps.malformedf(v.d.Flags[c[0]].Source, "flag", c[0], "prerequisite cycle: %s", strings.Join(c, " -> "))
	}
	segEdges := make(map[string][]string, len(v.segments))
	for k, s := range v.segments {
		for i := range s.Rules {
			for _, c := range s.Rules[i].Clauses {
				if c.Op != model.OpSegmentMatch {
					continue
				}
				for _, val := range c.Values {
					if _, ok := v.segments[val.Str()]; ok && val.IsString() {
						segEdges[k] = append(segEdges[k], val.Str())
					}
				}
			}
		}
	}
	for _, c := range findCycles(segEdges) {
		ps.malformedf(v.d.Segments[c[0]].Source, "segment", c[0], "segment cycle (segmentMatch clauses): %s", strings.Join(c, " -> "))
	}
}

// findCycles returns cycles of the directed graph edges, each as its path
// from its smallest key back to it ("a", "b", "a"). Every node that lies on
// a cycle is on at least one of those returned; each cycle is returned once.
func findCycles(edges map[string][]string) [][]string {
	const (
		white = iota
		grey
		black
	)
	color := make(map[string]int, len(edges))
	var stack []string
	var cycles [][]string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		color[n] = grey
		stack = append(stack, n)
		for _, m := range edges[n] {
			switch color[m] {
			case white:
				visit(m)
			case grey:
				i := slices.Index(stack, m)
				c := slices.Clone(stack[i:])
				// Rotate so the smallest key comes first: one form per cycle.
				mi := 0
				for j := range c {
					if c[j] < c[mi] {
						mi = j
					}
				}
				c = append(c[mi:], c[:mi]...)
				c = append(c, c[0])
				id := strings.Join(c, "\x00")
				if !seen[id] {
					seen[id] = true
					cycles = append(cycles, c)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
	}
	keys := make([]string, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if color[k] == white {
			visit(k)
		}
	}
	return cycles
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
