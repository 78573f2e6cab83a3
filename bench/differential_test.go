package bench

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The differential test: random worlds of flags and segments, random
// contexts, both evaluators; every (flag, context) pair must give the same
// value, variation index, reason (as JSON), experiment flag and prerequisite
// evaluations. A mismatch is shrunk to a minimal case and printed as JSON.
//
//	go test -run TestDifferential                         # 10,000 pairs, fixed seed
//	go test -run TestDifferential -seed 42                # another seed
//	DAEMONFLAG_DIFF_PAIRS=2000000 go test -run TestDifferential -timeout 1h

var seedFlag = flag.Uint64("seed", 0, "seed of the differential test (0: DAEMONFLAG_DIFF_SEED, or the fixed default)")

const (
	defaultDiffSeed  = 20240901
	defaultDiffPairs = 10000
	// contextsPerWorld is how many contexts each random world is evaluated
	// with (every flag of the world with every context).
	contextsPerWorld = 4
	// maxReported is how many distinct mismatches are shrunk and printed
	// before the test stops.
	maxReported = 5
)

func diffSeed(t *testing.T) uint64 {
	if *seedFlag != 0 {
		return *seedFlag
	}
	if v := os.Getenv("DAEMONFLAG_DIFF_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("DAEMONFLAG_DIFF_SEED=%q: %v", v, err)
		}
		return n
	}
	return defaultDiffSeed
}

func diffPairs(t *testing.T) int {
	if v := os.Getenv("DAEMONFLAG_DIFF_PAIRS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("DAEMONFLAG_DIFF_PAIRS=%q: want a positive integer", v)
		}
		return n
	}
	return defaultDiffPairs
}

// diffCase is one (world, flag, context) triple, as JSON trees.
type diffCase struct {
	World   *world `json:"world"`
	FlagKey string `json:"flag"`
	Context any    `json:"context"`
}

// diffResult is what evaluating a diffCase found: "" when both SDKs agree,
// otherwise the kind of disagreement and both outcomes.
type diffResult struct {
	kind     string
	ours, ld outcome
	detail   string
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // the generator builds only JSON-encodable trees
	}
	return b
}

func docs(items []any) [][]byte {
	out := make([][]byte, len(items))
	for i, it := range items {
		out[i] = mustJSON(it)
	}
	return out
}

func (w *world) bigSegmentData() *bigSegmentData {
	if w.BigSegmentsStatus == "" {
		return nil
	}
	return &bigSegmentData{members: w.BigSegments, status: w.BigSegmentsStatus}
}

// check evaluates one case with both SDKs.
func (c *diffCase) check() diffResult {
	s := newSides(docs(c.World.Flags), docs(c.World.Segments), c.World.bigSegmentData())
	if len(s.decode) > 0 {
		return diffResult{kind: "decode", detail: strings.Join(s.decode, "\n")}
	}
	return checkContext(s, c.FlagKey, mustJSON(c.Context))
}

// reasonSummary names the outcome for the coverage log: the reason kind
// (with the error kind or big-segment status), or why nothing was compared.
func (r diffResult) reasonSummary() string {
	if r.kind != "" {
		return "mismatch"
	}
	m, ok := r.ours.Reason.(map[string]any)
	if !ok {
		return "not evaluated"
	}
	s := fmt.Sprint(m["kind"])
	if e, ok := m["errorKind"]; ok {
		s += "/" + fmt.Sprint(e)
	}
	if m["inExperiment"] == true {
		s += "/experiment"
	}
	if b, ok := m["bigSegmentsStatus"]; ok {
		s += "/big:" + fmt.Sprint(b)
	}
	return s
}

func checkContext(s *sides, flagKey string, ctxDoc []byte) diffResult {
	oc, lc, oerr, lerr := parseContexts(ctxDoc)
	if (oerr == nil) != (lerr == nil) {
		return diffResult{kind: "context", detail: fmt.Sprintf("ours: %v; LaunchDarkly: %v", oerr, lerr)}
	}
	if oerr != nil {
		return diffResult{} // both invalid: nothing to evaluate
	}
	if f := s.ours.flags[flagKey]; f == nil || f.Deleted {
		return diffResult{}
	}
	ours, ld, ok := s.evaluate(flagKey, oc, lc)
	if !ok {
		return diffResult{}
	}
	if k := diffOutcomes(ours, ld); k != "" {
		return diffResult{kind: k, ours: ours, ld: ld}
	}
	return diffResult{ours: ours, ld: ld}
}

func TestDifferential(t *testing.T) {
	seed, pairs := diffSeed(t), diffPairs(t)
	t.Logf("differential test: seed %d, %d pairs (replay: go test -run TestDifferential -seed %d; more: DAEMONFLAG_DIFF_PAIRS=N)", seed, pairs, seed)
	g := newGen(seed)
	start := time.Now()
	done, worlds := 0, 0
	seen := map[string]bool{}
	reported := 0
	kinds := map[string]int{} // reason kinds seen, to show what the run covered
	for done < pairs && reported < maxReported {
		w := g.world()
		worlds++
		s := newSides(docs(w.Flags), docs(w.Segments), w.bigSegmentData())
		ctxs := make([]any, contextsPerWorld)
		for i := range ctxs {
			ctxs[i] = g.context()
		}
		if len(s.decode) > 0 {
			c := &diffCase{World: w, FlagKey: w.Flags[0].(map[string]any)["key"].(string), Context: ctxs[0]}
			reported += report(t, seed, done, c, seen)
			continue
		}
		for _, f := range w.Flags {
			key := f.(map[string]any)["key"].(string)
			for _, ctx := range ctxs {
				done++
				r := checkContext(s, key, mustJSON(ctx))
				kinds[r.reasonSummary()]++
				if r.kind != "" {
					reported += report(t, seed, done, &diffCase{World: w, FlagKey: key, Context: ctx}, seen)
				}
			}
		}
	}
	t.Logf("differential test: %d pairs from %d worlds in %v", done, worlds, time.Since(start).Round(time.Millisecond))
	var cov []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		cov = append(cov, fmt.Sprintf("%s %d", k, kinds[k]))
	}
	t.Logf("outcomes: %s", strings.Join(cov, ", "))
	if reported > 0 {
		t.Errorf("%d mismatches between our evaluator and LaunchDarkly's (seed %d); minimal cases above", reported, seed)
	}
}

// report shrinks a failing case and logs it, once per distinct minimal case.
// It returns 1 when it reported something new.
func report(t *testing.T, seed uint64, pair int, c *diffCase, seen map[string]bool) int {
	t.Helper()
	first := c.check()
	if first.kind == "" {
		t.Errorf("pair %d (seed %d): mismatch found in a shared world does not reproduce alone; world: %s", pair, seed, mustJSON(c))
		return 1
	}
	small := shrink(c, first.kind)
	r := small.check()
	doc := mustJSON(small)
	if seen[string(doc)] {
		return 0
	}
	seen[string(doc)] = true
	var b strings.Builder
	fmt.Fprintf(&b, "MISMATCH (%s) at pair %d, seed %d\nminimal case: %s\n", r.kind, pair, seed, doc)
	if r.detail != "" {
		fmt.Fprintf(&b, "detail: %s\n", r.detail)
	} else {
		fmt.Fprintf(&b, "ours:         %s\nLaunchDarkly: %s\n", mustJSON(r.ours), mustJSON(r.ld))
	}
	t.Error(b.String())
	return 1
}

// shrink deletes parts of a failing case (array elements, object
// properties, whole flags and segments, memberships) for as long as the same
// kind of mismatch remains, and returns the smallest case found.
func shrink(c *diffCase, kind string) *diffCase {
	cur := cloneCase(c)
	fails := func(x *diffCase) bool { return x.check().kind == kind }
	for changed := true; changed; {
		changed = false
		// Candidate edits are enumerated afresh on each pass, as paths into
		// the JSON form of the case.
		tree := jsonAny(mustJSON(cur))
		for _, p := range deletionPaths(tree, nil) {
			if len(p) >= 3 && p[0] == "world" && (p[1] == "flags" || p[1] == "segments") && len(p) == 4 && (p[3] == "key") {
				continue // keep item keys: they tie references together
			}
			if len(p) == 1 || (len(p) == 2 && p[0] == "world") {
				continue
			}
			cand := deleteAt(jsonAny(mustJSON(cur)), p)
			next, ok := caseFromTree(cand)
			if !ok || next.flag() == nil {
				continue
			}
			if fails(next) {
				cur, changed = next, true
				break
			}
		}
	}
	return cur
}

func (c *diffCase) flag() map[string]any {
	for _, f := range c.World.Flags {
		if m, ok := f.(map[string]any); ok && m["key"] == c.FlagKey {
			return m
		}
	}
	return nil
}

func cloneCase(c *diffCase) *diffCase {
	x, _ := caseFromTree(jsonAny(mustJSON(c)))
	return x
}

func caseFromTree(tree any) (*diffCase, bool) {
	var c diffCase
	if err := json.Unmarshal(mustJSON(tree), &c); err != nil || c.World == nil {
		return nil, false
	}
	return &c, true
}

// deletionPaths lists the paths of every array element and object property
// in a tree, outermost first (deleting a big part first shrinks fastest).
func deletionPaths(v any, prefix []string) [][]string {
	var out, inner [][]string
	switch x := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			p := append(append([]string{}, prefix...), k)
			out = append(out, p)
			inner = append(inner, deletionPaths(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			p := append(append([]string{}, prefix...), strconv.Itoa(i))
			out = append(out, p)
			inner = append(inner, deletionPaths(e, p)...)
		}
	}
	return append(out, inner...)
}

// deleteAt removes the element or property at path p from tree.
func deleteAt(tree any, p []string) any {
	if len(p) == 0 {
		return tree
	}
	switch x := tree.(type) {
	case map[string]any:
		if len(p) == 1 {
			delete(x, p[0])
		} else {
			x[p[0]] = deleteAt(x[p[0]], p[1:])
		}
		return x
	case []any:
		i, err := strconv.Atoi(p[0])
		if err != nil || i >= len(x) {
			return x
		}
		if len(p) == 1 {
			return append(x[:i:i], x[i+1:]...)
		}
		x[i] = deleteAt(x[i], p[1:])
		return x
	}
	return tree
}
