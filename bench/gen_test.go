package bench

import (
	"fmt"
	"math/rand/v2"
)

// The random generator of the differential test. It builds flags, segments
// and contexts as plain JSON trees (map[string]any, []any, string, float64,
// bool, nil), so that the same bytes go to both SDKs' decoders and a failing
// case can be shrunk by deleting parts of the trees.
//
// Values are drawn from small pools shared by contexts and clauses, so that
// clauses match often enough to exercise every branch.

// world is one random dataset: flags (each evaluated), segments, and
// big-segment memberships.
type world struct {
	Flags    []any `json:"flags"`
	Segments []any `json:"segments"`
	// BigSegments maps a context key to segment refs ("key.gN") and whether
	// the key is included (true) or excluded (false).
	BigSegments map[string]map[string]bool `json:"bigSegments,omitempty"`
	// BigSegmentsStatus is what the big-segment provider reports.
	BigSegmentsStatus string `json:"bigSegmentsStatus,omitempty"`
}

type gen struct {
	r *rand.Rand
	// flagKeys and segKeys are the keys of the world being built (plus
	// keys that do not exist, for missing references).
	flagKeys []string
	segKeys  []string
	// prereqKeys and nestedSegKeys are what the flag or segment being
	// built may refer to: mostly items built after it (so most worlds are
	// acyclic), sometimes any item (cycles).
	prereqKeys    []string
	nestedSegKeys []string
}

// laterKeys returns keys[i+1:] plus the first (missing) key, or, rarely, all keys.
func (g *gen) laterKeys(keys []string, i int) []string {
	if g.chance(0.05) {
		return keys
	}
	return append([]string{keys[0]}, keys[i+1:]...)
}

func newGen(seed uint64) *gen {
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

func (g *gen) chance(p float64) bool { return g.r.Float64() < p }
func (g *gen) intn(n int) int        { return g.r.IntN(n) }

func pick[T any](g *gen, xs []T) T { return xs[g.r.IntN(len(xs))] }

var (
	genKinds    = []string{"user", "user", "user", "org", "device"}
	genKeys     = []string{"alice", "bob", "carol", "dave", "erin", "zoë", "a.b", "123"}
	genStrings  = []string{"alice", "bob", "alice@example.com", "bob@example.org", "us", "gb", "", "ALICE", "abc", "a.c", "2.0.0", "2", "2.0", "1.2.3-beta.1", "1.2.3+build.5", "v1", "10.1", "2020-01-01T00:00:00Z", "2021-06-15T12:30:00.5+02:00", "2021-06-15T12:30:00.123456789Z", "2019-12-31T23:59:59-05:00", "2020-01-01", "not a date", "zoë", "123", "42"}
	genNumbers  = []any{0.0, 1.0, 5.0, 18.0, 42.0, 100.0, -3.0, 2.5, 0.001, 1e21, 42.5, 1577836800000.0, 1700000000000.0, 1577836800000.5}
	genAttrs    = []string{"name", "email", "country", "age", "score", "joined", "version", "groups", "tags", "meta", "flagged", "nothing", "nullish"}
	genCtxAttrs = genAttrs[1:] // "name" is set apart: it must be a string
	// genCommon is a small pool that both contexts and clauses draw from
	// often, so that clauses match often.
	genCommon      = []any{"alice", "bob", "us", "alice@example.com", "2.0.0", "2020-01-01T00:00:00Z", 42.0, 18.0, true, "org"}
	genRefs        = []string{"/meta/level", "/meta/sub/x", "/groups", "/a~1b", "/a~0b", "/meta", "/tags/0"}
	genBadRefs     = []string{"/", "", "/meta/", "//x", "/a~2b"}
	genRegexes     = []string{"^a", "com$", "b.b", "(?i)ALICE", ".*", "^[0-9]+$", "[", "é", "\\d"}
	genSalts       = []string{"salt", "", "x.y", "Ünïcode"}
	genOperators   = []string{"in", "in", "in", "endsWith", "startsWith", "matches", "contains", "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual", "before", "after", "semVerEqual", "semVerLessThan", "semVerGreaterThan", "segmentMatch", "segmentMatch", "unknownOp"}
	genRuleIDs     = []string{"rule-a", "rule-b", "", "id with space"}
	genClauseKinds = []string{"user", "org", "device", "missingkind"}
)

// scalar returns a random JSON scalar of any type.
func (g *gen) scalar() any {
	switch g.intn(10) {
	case 0, 1, 2, 3:
		return pick(g, genStrings)
	case 4, 5, 6:
		return pick(g, genNumbers)
	case 7, 8:
		return g.chance(0.5)
	default:
		return nil
	}
}

// value returns a random JSON value of any type, arrays and objects included.
func (g *gen) value(depth int) any {
	if depth < 2 {
		switch g.intn(12) {
		case 0:
			n := g.intn(4)
			a := make([]any, n)
			for i := range a {
				a[i] = g.value(depth + 1)
			}
			return a
		case 1:
			m := map[string]any{}
			for range g.intn(3) {
				m[pick(g, []string{"level", "sub", "x", "a/b", "a~b"})] = g.value(depth + 1)
			}
			if g.chance(0.5) {
				m["level"] = pick(g, genNumbers)
			}
			if g.chance(0.5) {
				m["sub"] = map[string]any{"x": pick(g, genStrings)}
			}
			return m
		}
	}
	return g.scalar()
}

// individual returns one single-kind context object of kind.
func (g *gen) individual(kind string, withKind bool) map[string]any {
	c := map[string]any{"key": pick(g, genKeys)}
	if withKind {
		c["kind"] = kind
	}
	if g.chance(0.02) {
		c["key"] = ""
	}
	if g.chance(0.4) {
		if g.chance(0.97) {
			c["name"] = pick(g, genStrings)
		} else {
			c["name"] = g.scalar() // possibly not a string: an invalid context
		}
	}
	if g.chance(0.2) {
		c["anonymous"] = g.chance(0.5)
	}
	for _, a := range genCtxAttrs {
		switch {
		case g.chance(0.5):
		case g.chance(0.5):
			c[a] = pick(g, genCommon)
		default:
			c[a] = g.value(0)
		}
	}
	if g.chance(0.2) {
		c["a/b"] = g.scalar()
	}
	if g.chance(0.1) {
		c["a~b"] = g.scalar()
	}
	if g.chance(0.05) {
		c["_meta"] = map[string]any{"privateAttributes": []any{"email"}}
	}
	return c
}

// genOldUserCustom are the names of custom attributes in old-user
// contexts: mostly ordinary ones, sometimes one named like a top-level
// property (which custom may override, or not: see
// TestOldUserAttributeCollision), or reserved.
var genOldUserCustom = append(append([]string{}, genCtxAttrs...),
	"email", "country", "firstName", "lastName", "avatar", "ip", "name", "key", "anonymous", "kind", "_meta")

// oldUser returns a context in LaunchDarkly's old user format. Its JSON
// (encoding/json, names sorted) puts "avatar" and "country" before
// "custom" and the other top-level attributes after it.
func (g *gen) oldUser() map[string]any {
	c := map[string]any{"key": pick(g, genKeys)}
	var top []string // the top-level attributes set, in a fixed order
	for _, a := range []string{"name", "email", "country", "firstName", "lastName", "ip", "avatar"} {
		switch {
		case g.chance(0.3):
			c[a] = pick(g, genStrings)
		case g.chance(0.03):
			c[a] = nil
		default:
			continue
		}
		top = append(top, a)
	}
	if g.chance(0.2) {
		c["anonymous"] = g.chance(0.5)
	}
	if g.chance(0.6) {
		custom := map[string]any{}
		for range 1 + g.intn(4) {
			a := pick(g, genOldUserCustom)
			if len(top) > 0 && g.chance(0.3) {
				a = pick(g, top) // a collision with a top-level attribute
			}
			custom[a] = g.value(0)
		}
		c["custom"] = custom
	}
	return c
}

// context returns a random context: single-kind, multi-kind or old user.
func (g *gen) context() map[string]any {
	switch x := g.intn(20); {
	case x < 3:
		return g.oldUser()
	case x < 7:
		m := map[string]any{"kind": "multi"}
		kinds := []string{"user", "org", "device"}
		g.r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
		for _, k := range kinds[:2+g.intn(2)] {
			m[k] = g.individual(k, false)
		}
		return m
	default:
		return g.individual(pick(g, genKinds), true)
	}
}

// attribute returns a clause attribute and its contextKind (nil for none).
func (g *gen) attribute() (attr string, kind any) {
	if g.chance(0.6) {
		kind = pick(g, genClauseKinds)
	}
	switch x := g.intn(40); {
	case x < 1 && g.chance(0.4):
		return pick(g, genBadRefs), kind
	case x < 8:
		// Path references only mean paths with a contextKind; without
		// one they are literal names (LaunchDarkly's old-schema rule).
		return pick(g, genRefs), kind
	case x < 10:
		return "key", kind
	case x < 12:
		return "kind", kind
	case x < 13:
		return "anonymous", kind
	case x < 14:
		return "a/b", kind
	default:
		return pick(g, genAttrs), kind
	}
}

// clauseValues returns values for an operator, mostly of a fitting type.
func (g *gen) clauseValues(op string) []any {
	n := 1 + g.intn(3)
	if g.chance(0.03) {
		n = 0
	}
	vs := make([]any, n)
	for i := range vs {
		switch {
		case g.chance(0.1):
			vs[i] = g.scalar()
		case op != "segmentMatch" && g.chance(0.4):
			vs[i] = pick(g, genCommon)
		case op == "matches":
			vs[i] = pick(g, genRegexes)
		case op == "segmentMatch":
			vs[i] = pick(g, g.nestedSegKeys)
		case op == "lessThan" || op == "lessThanOrEqual" || op == "greaterThan" || op == "greaterThanOrEqual":
			vs[i] = pick(g, genNumbers)
		case op == "before" || op == "after":
			if g.chance(0.5) {
				vs[i] = pick(g, genNumbers)
			} else {
				vs[i] = pick(g, genStrings)
			}
		case op == "in" && g.chance(0.3):
			vs[i] = g.scalar()
		default:
			if g.chance(0.3) {
				vs[i] = pick(g, genKeys)
			} else if g.chance(0.2) {
				vs[i] = pick(g, genKinds)
			} else {
				vs[i] = pick(g, genStrings)
			}
		}
	}
	return vs
}

func (g *gen) clause(allowSegments bool) map[string]any {
	op := pick(g, genOperators)
	for op == "segmentMatch" && !allowSegments {
		op = pick(g, genOperators)
	}
	c := map[string]any{"op": op}
	attr, kind := g.attribute()
	if op != "segmentMatch" || g.chance(0.5) {
		c["attribute"] = attr
		if kind != nil {
			c["contextKind"] = kind
		}
	}
	c["values"] = g.clauseValues(op)
	if g.chance(0.2) {
		c["negate"] = true
	}
	return c
}

func (g *gen) clauses(allowSegments bool) []any {
	n := 1 + g.intn(2)
	if g.chance(0.2) {
		n = 3
	}
	if g.chance(0.03) {
		n = 0
	}
	cs := make([]any, n)
	for i := range cs {
		cs[i] = g.clause(allowSegments)
	}
	return cs
}

// variationIndex returns an index into nVariations, rarely out of range.
func (g *gen) variationIndex(nVariations int) any {
	if g.chance(0.005) {
		return pick(g, []any{-1.0, float64(nVariations), 99.0})
	}
	return float64(g.intn(nVariations))
}

// bucketRef returns a bucketBy attribute reference.
func (g *gen) bucketRef() string {
	return pick(g, []string{"key", "name", "email", "age", "score", "flagged", "groups", "/meta/level", "nothing", "", "/", "kind", "a/b"})
}

func (g *gen) rollout(nVariations int) map[string]any {
	n := 1 + g.intn(3)
	if g.chance(0.01) {
		n = 0
	}
	remaining := 100000
	vs := make([]any, n)
	for i := range vs {
		w := g.intn(remaining + 1)
		if i == n-1 && g.chance(0.8) {
			w = remaining
		}
		if g.chance(0.05) {
			w = g.intn(200000)
		}
		remaining -= min(w, remaining)
		wv := map[string]any{"variation": g.variationIndex(nVariations), "weight": float64(w)}
		if g.chance(0.2) {
			wv["untracked"] = g.chance(0.5)
		}
		vs[i] = wv
	}
	r := map[string]any{"variations": vs}
	switch g.intn(3) {
	case 0:
		r["kind"] = "experiment"
	case 1:
		r["kind"] = "rollout"
	}
	if g.chance(0.4) {
		r["seed"] = float64(g.intn(1000) - 100)
	}
	if g.chance(0.4) {
		r["bucketBy"] = g.bucketRef()
	}
	if g.chance(0.4) {
		r["contextKind"] = pick(g, genClauseKinds)
	}
	return r
}

func (g *gen) variationOrRollout(nVariations int, target map[string]any) {
	if g.chance(0.4) {
		target["rollout"] = g.rollout(nVariations)
		if g.chance(0.02) {
			target["variation"] = g.variationIndex(nVariations)
		}
		return
	}
	target["variation"] = g.variationIndex(nVariations)
}

func (g *gen) keyList() []any {
	n := g.intn(4)
	ks := make([]any, n)
	for i := range ks {
		ks[i] = pick(g, genKeys)
	}
	return ks
}

func (g *gen) flag(key string) map[string]any {
	nv := 1 + g.intn(3)
	variations := make([]any, nv)
	for i := range variations {
		switch g.intn(4) {
		case 0:
			variations[i] = i%2 == 1
		case 1:
			variations[i] = fmt.Sprintf("v%d", i)
		default:
			variations[i] = g.value(0)
		}
	}
	f := map[string]any{
		"key":        key,
		"version":    float64(1 + g.intn(9)),
		"on":         g.chance(0.85),
		"variations": variations,
	}
	if g.chance(0.7) {
		f["salt"] = pick(g, genSalts)
	}
	if g.chance(0.8) {
		f["offVariation"] = g.variationIndex(nv)
	}
	ft := map[string]any{}
	if g.chance(0.97) {
		g.variationOrRollout(nv, ft)
	}
	f["fallthrough"] = ft
	if g.chance(0.3) {
		ts := make([]any, 1+g.intn(2))
		for i := range ts {
			ts[i] = map[string]any{"values": g.keyList(), "variation": g.variationIndex(nv)}
		}
		f["targets"] = ts
	}
	if g.chance(0.3) {
		ts := make([]any, 1+g.intn(3))
		for i := range ts {
			t := map[string]any{"contextKind": pick(g, genKinds), "values": g.keyList(), "variation": g.variationIndex(nv)}
			if t["contextKind"] == "user" && g.chance(0.5) {
				t["values"] = []any{} // refers to the old-style targets list
			}
			ts[i] = t
		}
		f["contextTargets"] = ts
	}
	if g.chance(0.8) {
		rs := make([]any, g.intn(5))
		for i := range rs {
			r := map[string]any{"clauses": g.clauses(true)}
			if g.chance(0.8) {
				r["id"] = pick(g, genRuleIDs)
			}
			g.variationOrRollout(nv, r)
			if g.chance(0.2) {
				r["trackEvents"] = true
			}
			rs[i] = r
		}
		f["rules"] = rs
	}
	if g.chance(0.25) {
		ps := make([]any, 1+g.intn(2))
		for i := range ps {
			ps[i] = map[string]any{"key": pick(g, g.prereqKeys), "variation": g.variationIndex(3)}
		}
		f["prerequisites"] = ps
	}
	if g.chance(0.2) {
		f["trackEvents"] = true
	}
	if g.chance(0.2) {
		f["trackEventsFallthrough"] = true
	}
	if g.chance(0.02) {
		f["deleted"] = true
	}
	return f
}

func (g *gen) segment(key string) map[string]any {
	s := map[string]any{"key": key, "version": float64(1 + g.intn(9))}
	if g.chance(0.7) {
		s["salt"] = pick(g, genSalts)
	}
	if g.chance(0.4) {
		s["included"] = g.keyList()
	}
	if g.chance(0.3) {
		s["excluded"] = g.keyList()
	}
	for _, prop := range []string{"includedContexts", "excludedContexts"} {
		if g.chance(0.3) {
			ts := make([]any, 1+g.intn(2))
			for i := range ts {
				ts[i] = map[string]any{"contextKind": pick(g, genKinds), "values": g.keyList()}
			}
			s[prop] = ts
		}
	}
	if g.chance(0.7) {
		rs := make([]any, g.intn(3))
		for i := range rs {
			r := map[string]any{"clauses": g.clauses(true)}
			if g.chance(0.5) {
				r["id"] = pick(g, genRuleIDs)
			}
			if g.chance(0.35) {
				r["weight"] = float64(g.intn(100001))
			}
			if g.chance(0.3) {
				r["bucketBy"] = g.bucketRef()
			}
			if g.chance(0.3) {
				r["rolloutContextKind"] = pick(g, genClauseKinds)
			}
			rs[i] = r
		}
		s["rules"] = rs
	}
	if g.chance(0.12) {
		s["unbounded"] = true
		if g.chance(0.85) {
			s["generation"] = float64(1 + g.intn(3))
		}
		if g.chance(0.5) {
			s["unboundedContextKind"] = pick(g, genKinds)
		}
	}
	if g.chance(0.02) {
		s["deleted"] = true
	}
	return s
}

// world returns a random world of 1-4 flags and 0-4 segments.
func (g *gen) world() *world {
	nf, ns := 1+g.intn(4), g.intn(5)
	g.flagKeys = []string{"missing-flag"}
	for i := range nf {
		g.flagKeys = append(g.flagKeys, fmt.Sprintf("f%d", i))
	}
	g.segKeys = []string{"missing-segment"}
	for i := range ns {
		g.segKeys = append(g.segKeys, fmt.Sprintf("s%d", i))
	}
	w := &world{}
	g.nestedSegKeys = g.segKeys
	for i := range nf {
		g.prereqKeys = g.laterKeys(g.flagKeys, i+1)
		w.Flags = append(w.Flags, g.flag(g.flagKeys[i+1]))
	}
	var refs []string
	for i := range ns {
		g.nestedSegKeys = g.laterKeys(g.segKeys, i+1)
		s := g.segment(g.segKeys[i+1])
		w.Segments = append(w.Segments, s)
		if gen, ok := s["generation"].(float64); ok {
			refs = append(refs, fmt.Sprintf("%s.g%d", s["key"], int(gen)))
		}
	}
	if len(refs) > 0 {
		w.BigSegmentsStatus = pick(g, []string{"HEALTHY", "HEALTHY", "STALE", "STORE_ERROR"})
		w.BigSegments = map[string]map[string]bool{}
		for _, k := range genKeys {
			if g.chance(0.3) {
				continue
			}
			m := map[string]bool{}
			for _, ref := range refs {
				if g.chance(0.6) {
					m[ref] = g.chance(0.6)
				}
			}
			w.BigSegments[k] = m
		}
	}
	return w
}
