package model

import (
	"github.com/daemonflag/daemonflag/evalctx"
)

// DecodeFlag decodes and preprocesses one flag in LaunchDarkly's JSON
// schema. Unknown properties are kept for [Flag.MarshalJSON]; null stands
// for an absent property. It returns a [*DecodeError] when the document is
// not valid JSON, is not an object, has a property of the wrong type, or
// has no key.
func DecodeFlag(data []byte) (*Flag, error) {
	d := newDecoder(data, "flag")
	f := &Flag{}
	readObject(d, f, d.flagField)
	d.end()
	if d.err == nil && f.Key == "" {
		d.depth = 0
		d.enter("key")
		d.pos = -1
		d.fail("missing or empty")
	}
	if d.err != nil {
		return nil, finishError(d, f.Key)
	}
	PreprocessFlag(f)
	return f, nil
}

// DecodeSegment decodes and preprocesses one segment; see [DecodeFlag].
func DecodeSegment(data []byte) (*Segment, error) {
	d := newDecoder(data, "segment")
	s := &Segment{}
	readObject(d, s, d.segmentField)
	d.end()
	if d.err == nil && s.Key == "" {
		d.depth = 0
		d.enter("key")
		d.pos = -1
		d.fail("missing or empty")
	}
	if d.err != nil {
		return nil, finishError(d, s.Key)
	}
	PreprocessSegment(s)
	return s, nil
}

// UnmarshalJSON implements json.Unmarshaler with [DecodeFlag].
func (f *Flag) UnmarshalJSON(data []byte) error {
	g, err := DecodeFlag(data)
	if err != nil {
		return err
	}
	*f = *g
	return nil
}

// UnmarshalJSON implements json.Unmarshaler with [DecodeSegment].
func (s *Segment) UnmarshalJSON(data []byte) error {
	t, err := DecodeSegment(data)
	if err != nil {
		return err
	}
	*s = *t
	return nil
}

// finishError fills in the item key, looking for it in the document when
// the error came before the key was read.
func finishError(d *decoder, key string) error {
	e := d.err
	if key == "" {
		key = findKey(d.data)
	}
	e.Key = key
	return e
}

// findKey returns the top-level "key" string of a possibly invalid
// document, or "" when it cannot be read before an error.
func findKey(data []byte) string {
	d := newDecoder(data, "")
	var it objIter
	if !d.object(&it) {
		return ""
	}
	key := ""
	for name, ok := d.field(&it); ok; name, ok = d.field(&it) {
		if name == "key" && d.next() == '"' {
			key = d.rawString()
			continue
		}
		d.skip(0)
	}
	return key
}

// The schema is objects whose properties are read by a field function:
// one per type, called with the decoder at the property's value and the
// property on the error path. It must consume the value; d.keep keeps one
// it does not know. These helpers read the objects and arrays of objects
// around the field functions.

// readObject reads an object into t, calling field for each property. It
// returns false, with an error recorded, when the next value is not an
// object.
func readObject[T any](d *decoder, t *T, field func(t *T, name string)) bool {
	var o objIter
	if !d.object(&o) {
		return false
	}
	for name, ok := d.field(&o); ok; name, ok = d.field(&o) {
		d.enter(name)
		field(t, name)
		d.leave()
	}
	return true
}

// readOptObject reads an object into a new T; null reads as nil.
func readOptObject[T any](d *decoder, field func(t *T, name string)) *T {
	if d.null() {
		return nil
	}
	t := new(T)
	if !readObject(d, t, field) {
		return nil
	}
	return t
}

// readObjects reads an array of objects; null reads as nil.
func readObjects[T any](d *decoder, field func(t *T, name string)) []T {
	if d.null() {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	out := []T{}
	for d.elem(&it) {
		d.enterIndex(it.i)
		// Read in place: a T of its own would escape to the heap through
		// field, costing an allocation per element.
		out = append(out, *new(T))
		readObject(d, &out[len(out)-1], field)
		d.leave()
	}
	return out
}

func (d *decoder) flagField(f *Flag, name string) {
	switch name {
	case "key":
		f.Key = d.str()
	case "version":
		f.Version = d.integer()
	case "deleted":
		f.Deleted = d.boolean()
	case "on":
		f.On = d.boolean()
	case "variations":
		f.Variations = d.valueList()
	case "offVariation":
		f.OffVariation = d.optInt()
	case "fallthrough":
		f.Fallthrough = VariationOrRollout{}
		if !d.null() {
			readObject(d, &f.Fallthrough, d.fallthroughField)
		}
	case "prerequisites":
		f.Prerequisites = readObjects(d, d.prerequisiteField)
	case "targets":
		f.Targets = readObjects(d, d.targetField)
	case "contextTargets":
		f.ContextTargets = readObjects(d, d.targetField)
	case "rules":
		f.Rules = readObjects(d, d.flagRuleField)
	case "salt":
		f.Salt = d.str()
	case "clientSide":
		f.ClientSide = d.boolean()
	case "clientSideAvailability":
		f.ClientSideAvailability = readOptObject(d, d.availabilityField)
	case "trackEvents":
		f.TrackEvents = d.boolean()
	case "trackEventsFallthrough":
		f.TrackEventsFallthrough = d.boolean()
	case "debugEventsUntilDate":
		f.DebugEventsUntilDate = nil
		if !d.null() {
			n := int64(d.number())
			if d.err == nil {
				f.DebugEventsUntilDate = &n
			}
		}
	case "excludeFromSummaries":
		f.ExcludeFromSummaries = d.boolean()
	case "samplingRatio":
		f.SamplingRatio = d.optInt()
	case "migration":
		f.Migration = readOptObject(d, d.migrationField)
	default:
		d.keep(&f.extra, name)
	}
}

func (d *decoder) prerequisiteField(p *Prerequisite, name string) {
	switch name {
	case "key":
		p.Key = d.str()
	case "variation":
		p.Variation = d.integer()
	default:
		d.keep(&p.extra, name)
	}
}

func (d *decoder) targetField(t *Target, name string) {
	switch name {
	case "contextKind":
		t.ContextKind = evalctx.Kind(d.str())
	case "variation":
		t.Variation = d.integer()
	case "values":
		t.Values = d.strList()
	default:
		d.keep(&t.extra, name)
	}
}

func (d *decoder) flagRuleField(r *FlagRule, name string) {
	switch name {
	case "id":
		r.ID = d.str()
	case "variation":
		r.Variation = d.optInt()
	case "rollout":
		r.Rollout = readRollout(d)
	case "clauses":
		r.Clauses = readClauses(d)
	case "trackEvents":
		r.TrackEvents = d.boolean()
	default:
		d.keep(&r.extra, name)
	}
}

// fallthroughField reads a property of a flag's fallthrough object.
func (d *decoder) fallthroughField(vr *VariationOrRollout, name string) {
	switch name {
	case "variation":
		vr.Variation = d.optInt()
	case "rollout":
		vr.Rollout = readRollout(d)
	default:
		d.keep(&vr.extra, name)
	}
}

func readRollout(d *decoder) *Rollout {
	r := readOptObject(d, d.rolloutField)
	if r != nil {
		r.BucketBy = makeRef(r.bucketByRaw, r.ContextKind)
	}
	return r
}

func (d *decoder) rolloutField(r *Rollout, name string) {
	switch name {
	case "kind":
		r.Kind = RolloutKind(d.str())
	case "contextKind":
		r.ContextKind = evalctx.Kind(d.str())
	case "variations":
		r.Variations = readObjects(d, d.weightedVariationField)
	case "bucketBy":
		r.bucketByRaw = d.str()
	case "seed":
		r.Seed = d.optInt()
	default:
		d.keep(&r.extra, name)
	}
}

func (d *decoder) weightedVariationField(wv *WeightedVariation, name string) {
	switch name {
	case "variation":
		wv.Variation = d.integer()
	case "weight":
		wv.Weight = d.integer()
	case "untracked":
		wv.Untracked = d.boolean()
	default:
		d.keep(&wv.extra, name)
	}
}

func readClauses(d *decoder) []Clause {
	cs := readObjects(d, d.clauseField)
	for i := range cs {
		c := &cs[i]
		c.Attribute = makeRef(c.attrRaw, c.ContextKind)
	}
	return cs
}

func (d *decoder) clauseField(c *Clause, name string) {
	switch name {
	case "contextKind":
		c.ContextKind = evalctx.Kind(d.str())
	case "attribute":
		c.attrRaw = d.str()
	case "op":
		c.Op = Operator(d.str())
	case "values":
		c.Values = d.valueList()
	case "negate":
		c.Negate = d.boolean()
	default:
		d.keep(&c.extra, name)
	}
}

func (d *decoder) availabilityField(a *ClientSideAvailability, name string) {
	switch name {
	case "usingMobileKey":
		a.UsingMobileKey = d.boolean()
	case "usingEnvironmentId":
		a.UsingEnvironmentID = d.boolean()
	default:
		d.keep(&a.extra, name)
	}
}

func (d *decoder) migrationField(m *Migration, name string) {
	switch name {
	case "checkRatio":
		m.CheckRatio = d.optInt()
	default:
		d.keep(&m.extra, name)
	}
}

func (d *decoder) segmentField(s *Segment, name string) {
	switch name {
	case "key":
		s.Key = d.str()
	case "version":
		s.Version = d.integer()
	case "deleted":
		s.Deleted = d.boolean()
	case "included":
		s.Included = d.strList()
	case "excluded":
		s.Excluded = d.strList()
	case "includedContexts":
		s.IncludedContexts = readObjects(d, d.segmentTargetField)
	case "excludedContexts":
		s.ExcludedContexts = readObjects(d, d.segmentTargetField)
	case "rules":
		s.Rules = readSegmentRules(d)
	case "salt":
		s.Salt = d.str()
	case "unbounded":
		s.Unbounded = d.boolean()
	case "unboundedContextKind":
		s.UnboundedContextKind = evalctx.Kind(d.str())
	case "generation":
		s.Generation = d.optInt()
	default:
		d.keep(&s.extra, name)
	}
}

func (d *decoder) segmentTargetField(t *SegmentTarget, name string) {
	switch name {
	case "contextKind":
		t.ContextKind = evalctx.Kind(d.str())
	case "values":
		t.Values = d.strList()
	default:
		d.keep(&t.extra, name)
	}
}

func readSegmentRules(d *decoder) []SegmentRule {
	rs := readObjects(d, d.segmentRuleField)
	for i := range rs {
		r := &rs[i]
		r.BucketBy = makeRef(r.bucketByRaw, r.RolloutContextKind)
	}
	return rs
}

func (d *decoder) segmentRuleField(r *SegmentRule, name string) {
	switch name {
	case "id":
		r.ID = d.str()
	case "clauses":
		r.Clauses = readClauses(d)
	case "weight":
		r.Weight = d.optInt()
	case "bucketBy":
		r.bucketByRaw = d.str()
	case "rolloutContextKind":
		r.RolloutContextKind = evalctx.Kind(d.str())
	default:
		d.keep(&r.extra, name)
	}
}
