package model

import (
	"strconv"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// MarshalJSON encodes the flag in LaunchDarkly's canonical form: every
// property LaunchDarkly defines (optional ones only when set, except
// offVariation and debugEventsUntilDate which are written as null, as
// LaunchDarkly does), then the properties this package did not recognize
// when decoding, unchanged.
func (f *Flag) MarshalJSON() ([]byte, error) {
	return f.AppendJSON(make([]byte, 0, 512)), nil
}

// AppendJSON appends the flag's JSON (as [Flag.MarshalJSON] writes it) to
// dst.
func (f *Flag) AppendJSON(dst []byte) []byte {
	w := writer{b: dst}
	w.open()
	w.str("key", f.Key)
	w.boolean("on", f.On)
	writeObjects(&w, "prerequisites", f.Prerequisites, func(p *Prerequisite) []rawField {
		w.str("key", p.Key)
		w.integer("variation", p.Variation)
		return p.extra.list()
	})
	w.targets("targets", f.Targets)
	w.targets("contextTargets", f.ContextTargets)
	writeObjects(&w, "rules", f.Rules, func(r *FlagRule) []rawField {
		w.variationOrRollout(&r.VariationOrRollout)
		if r.ID != "" {
			w.str("id", r.ID)
		}
		w.clauses(r.Clauses)
		w.boolean("trackEvents", r.TrackEvents)
		return r.extra.list()
	})
	w.name("fallthrough")
	w.open()
	w.variationOrRollout(&f.Fallthrough)
	w.close(f.Fallthrough.extra.list())
	w.optInt("offVariation", f.OffVariation, true)
	w.name("variations")
	w.values(f.Variations)
	if a := f.ClientSideAvailability; a != nil {
		w.name("clientSideAvailability")
		w.open()
		w.boolean("usingMobileKey", a.UsingMobileKey)
		w.boolean("usingEnvironmentId", a.UsingEnvironmentID)
		w.close(a.extra.list())
		w.boolean("clientSide", a.UsingEnvironmentID)
	} else {
		w.boolean("clientSide", f.ClientSide)
	}
	w.str("salt", f.Salt)
	w.boolean("trackEvents", f.TrackEvents)
	w.boolean("trackEventsFallthrough", f.TrackEventsFallthrough)
	w.name("debugEventsUntilDate")
	if f.DebugEventsUntilDate != nil {
		w.b = strconv.AppendInt(w.b, *f.DebugEventsUntilDate, 10)
	} else {
		w.b = append(w.b, "null"...)
	}
	w.integer("version", f.Version)
	w.boolean("deleted", f.Deleted)
	if m := f.Migration; m != nil {
		w.name("migration")
		w.open()
		w.optInt("checkRatio", m.CheckRatio, false)
		w.close(m.extra.list())
	}
	w.optInt("samplingRatio", f.SamplingRatio, false)
	if f.ExcludeFromSummaries {
		w.boolean("excludeFromSummaries", true)
	}
	w.close(f.extra())
	return w.b
}

// MarshalJSON encodes the segment in LaunchDarkly's canonical form; see
// [Flag.MarshalJSON].
func (s *Segment) MarshalJSON() ([]byte, error) {
	return s.AppendJSON(make([]byte, 0, 256)), nil
}

// AppendJSON appends the segment's JSON (as [Segment.MarshalJSON] writes
// it) to dst.
func (s *Segment) AppendJSON(dst []byte) []byte {
	w := writer{b: dst}
	w.open()
	w.str("key", s.Key)
	w.strings("included", s.Included)
	w.strings("excluded", s.Excluded)
	w.segmentTargets("includedContexts", s.IncludedContexts)
	w.segmentTargets("excludedContexts", s.ExcludedContexts)
	w.str("salt", s.Salt)
	writeObjects(&w, "rules", s.Rules, func(r *SegmentRule) []rawField {
		w.str("id", r.ID)
		w.clauses(r.Clauses)
		w.optInt("weight", r.Weight, false)
		if r.HasBucketBy() {
			w.str("bucketBy", attributeString(r.BucketBy, r.RolloutContextKind))
		}
		if r.RolloutContextKind != "" {
			w.str("rolloutContextKind", string(r.RolloutContextKind))
		}
		return r.extra.list()
	})
	if s.Unbounded {
		w.boolean("unbounded", true)
	}
	if s.UnboundedContextKind != "" {
		w.str("unboundedContextKind", string(s.UnboundedContextKind))
	}
	w.integer("version", s.Version)
	w.optInt("generation", s.Generation, true)
	w.boolean("deleted", s.Deleted)
	w.close(s.extra.list())
	return w.b
}

// writer appends JSON objects. Each object tracks whether it has written a
// property yet through the stack of "first" flags.
type writer struct {
	b     []byte
	first []bool
}

func (w *writer) open() {
	w.b = append(w.b, '{')
	w.first = append(w.first, true)
}

// close writes the unknown properties and ends the object.
func (w *writer) close(extra []rawField) {
	for _, f := range extra {
		w.name(f.name)
		w.b = append(w.b, f.raw...)
	}
	w.b = append(w.b, '}')
	w.first = w.first[:len(w.first)-1]
}

func (w *writer) name(n string) {
	top := len(w.first) - 1
	if !w.first[top] {
		w.b = append(w.b, ',')
	}
	w.first[top] = false
	w.b = jsonvalue.String(n).AppendJSON(w.b)
	w.b = append(w.b, ':')
}

func (w *writer) elem(i int) {
	if i > 0 {
		w.b = append(w.b, ',')
	}
}

func (w *writer) str(n, v string) {
	w.name(n)
	w.b = jsonvalue.String(v).AppendJSON(w.b)
}

func (w *writer) boolean(n string, v bool) {
	w.name(n)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *writer) integer(n string, v int) {
	w.name(n)
	w.b = strconv.AppendInt(w.b, int64(v), 10)
}

// optInt writes an optional number; when it is nil the property is written
// as null if asNull, otherwise omitted.
func (w *writer) optInt(n string, v *int, asNull bool) {
	switch {
	case v != nil:
		w.integer(n, *v)
	case asNull:
		w.name(n)
		w.b = append(w.b, "null"...)
	}
}

func (w *writer) strings(n string, vs []string) {
	w.name(n)
	w.b = append(w.b, '[')
	for i, v := range vs {
		w.elem(i)
		w.b = jsonvalue.String(v).AppendJSON(w.b)
	}
	w.b = append(w.b, ']')
}

func (w *writer) values(vs []jsonvalue.Value) {
	w.b = append(w.b, '[')
	for i, v := range vs {
		w.elem(i)
		w.b = v.AppendJSON(w.b)
	}
	w.b = append(w.b, ']')
}

func (w *writer) kind(n string, k evalctx.Kind) {
	if k != "" {
		w.str(n, string(k))
	}
}

// writeObjects writes the property n, an array of objects: for each, props
// writes the known properties and returns the unknown ones.
func writeObjects[T any](w *writer, n string, ts []T, props func(t *T) []rawField) {
	w.name(n)
	w.b = append(w.b, '[')
	for i := range ts {
		w.elem(i)
		w.open()
		w.close(props(&ts[i]))
	}
	w.b = append(w.b, ']')
}

func (w *writer) targets(n string, ts []Target) {
	writeObjects(w, n, ts, func(t *Target) []rawField {
		w.kind("contextKind", t.ContextKind)
		w.integer("variation", t.Variation)
		w.strings("values", t.Values)
		return t.extra.list()
	})
}

func (w *writer) segmentTargets(n string, ts []SegmentTarget) {
	writeObjects(w, n, ts, func(t *SegmentTarget) []rawField {
		w.kind("contextKind", t.ContextKind)
		w.strings("values", t.Values)
		return t.extra.list()
	})
}

// variationOrRollout writes the variation and rollout properties into the
// current object.
func (w *writer) variationOrRollout(vr *VariationOrRollout) {
	w.optInt("variation", vr.Variation, false)
	r := vr.Rollout
	if r == nil {
		return
	}
	w.name("rollout")
	w.open()
	if r.Kind != "" {
		w.str("kind", string(r.Kind))
	}
	w.kind("contextKind", r.ContextKind)
	writeObjects(w, "variations", r.Variations, func(wv *WeightedVariation) []rawField {
		w.integer("variation", wv.Variation)
		w.integer("weight", wv.Weight)
		if wv.Untracked {
			w.boolean("untracked", true)
		}
		return wv.extra.list()
	})
	w.optInt("seed", r.Seed, false)
	if r.HasBucketBy() {
		w.str("bucketBy", attributeString(r.BucketBy, r.ContextKind))
	}
	w.close(r.extra.list())
}

func (w *writer) clauses(cs []Clause) {
	writeObjects(w, "clauses", cs, func(c *Clause) []rawField {
		w.kind("contextKind", c.ContextKind)
		w.str("attribute", attributeString(c.Attribute, c.ContextKind))
		w.str("op", string(c.Op))
		w.name("values")
		w.values(c.Values)
		w.boolean("negate", c.Negate)
		return c.extra()
	})
}
