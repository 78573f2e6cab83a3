package model

import "unsafe"

// DecodeFlag decodes and preprocesses one flag in LaunchDarkly's JSON
// schema. Unknown properties are kept for [Flag.MarshalJSON]; null stands
// for an absent property. It returns a [*DecodeError] when the document is
// not valid JSON, is not an object, has a property of the wrong type, or
// has no key.
func DecodeFlag(data []byte) (*Flag, error) {
	d := newDecoder(data, "flag")
	f := &Flag{}
	readFlag(d, f)
	err := d.finish(f.Key)
	if err == nil {
		d.ownStrings()
	}
	d.release()
	if err != nil {
		return nil, err
	}
	PreprocessFlag(f)
	return f, nil
}

// DecodeSegment decodes and preprocesses one segment; see [DecodeFlag].
func DecodeSegment(data []byte) (*Segment, error) {
	d := newDecoder(data, "segment")
	s := &Segment{}
	readSegment(d, s)
	err := d.finish(s.Key)
	if err == nil {
		d.ownStrings()
	}
	d.release()
	if err != nil {
		return nil, err
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

// finish checks the end of an item's document, whose key property read as
// key, and returns the decoding error, if any, with the item key filled in
// (looked for in the document when the error came before the key was
// read).
func (d *decoder) finish(key string) error {
	d.end()
	var err *DecodeError
	if problem, offset, failed := d.sc.Err(); failed {
		err = &DecodeError{Kind: d.kind, Path: d.sc.Own(d.sc.ErrPath()), Offset: offset, Problem: d.sc.Own(problem)}
	} else if key == "" {
		err = &DecodeError{Kind: d.kind, Path: "key", Offset: -1, Problem: "missing or empty"}
	} else {
		return nil
	}
	if key == "" {
		key = findKey(d.data)
	}
	err.Key = d.sc.Own(key) // key may be a view of the document: see ownStrings
	return err
}

// findKey returns the top-level "key" string of a possibly invalid
// document, or "" when it cannot be read before an error.
func findKey(data []byte) string {
	d := newDecoder(data, "")
	defer d.release()
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
		d.skip()
	}
	return key
}

// readObject, readOptObject and readObjects read the schema's objects for
// the readers below. Each reader passes a field function for its type,
// called for every property with the decoder at the property's value and
// the property on the error path; it must consume the value (d.keep keeps
// one it does not know). Field functions are closures over d: passing d to
// a function value as an argument would move the decoder to the heap.

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

// readObjects reads an array of objects; null reads as nil. The list has
// no spare capacity and is allocated at most three times, without a look
// ahead for the usual short lists: an array of one object is read into a
// list of one, at a second element the list becomes two long, and at a
// third the rest of the array is counted with a fast skip (jsontok's
// CountRest) and the list allocated at its final length. Elements moved to
// a longer list take their strings recorded for ownStrings (recorded by
// address) along.
func readObjects[T any](d *decoder, field func(t *T, name string)) []T {
	if d.null() {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	var out []T
	mark := len(d.pending)
	for d.elem(&it) {
		if it.I == len(out) {
			n := 1
			switch it.I {
			case 0:
			case 1:
				n = 2
			default:
				rest := d.sc.CountRest()
				if rest < 0 {
					readInvalid(d, &it, field)
					return nil
				}
				n = it.I + rest
			}
			grown := make([]T, n)
			if len(out) > 0 {
				copy(grown, out)
				d.moved(mark, unsafe.Pointer(&out[0]), unsafe.Pointer(&grown[0]), uintptr(len(out))*unsafe.Sizeof(out[0]))
			}
			out = grown
		}
		d.enterIndex(it.I)
		readObject(d, &out[it.I], field)
		d.leave()
	}
	if out == nil {
		out = []T{}
	}
	return out
}

// readInvalid reads the rest of an array that CountRest found invalid,
// from its current element, element by element, for the exact error of the
// first bad one. Should the reads accept it (they cannot: the grammar is
// the same), it fails rather than keep strings recorded at addresses that
// are not the item's.
func readInvalid[T any](d *decoder, it *arrIter, field func(t *T, name string)) {
	var one T
	for ok := true; ok; ok = d.elem(it) {
		d.enterIndex(it.I)
		readObject(d, &one, field)
		d.leave()
	}
	if !d.failed() {
		d.fail("internal error: an array counted as invalid read as valid")
	}
}

func readFlag(d *decoder, f *Flag) {
	readObject(d, f, func(f *Flag, name string) {
		switch name {
		case "key":
			d.strAt(&f.Key)
		case "version":
			f.Version = d.integer()
		case "deleted":
			f.Deleted = d.boolean()
		case "on":
			f.On = d.boolean()
		case "variations":
			f.Variations = d.variations()
		case "offVariation":
			f.OffVariation = d.optInt()
		case "fallthrough":
			f.Fallthrough = VariationOrRollout{}
			if !d.null() {
				readVariationOrRollout(d, &f.Fallthrough)
			}
		case "prerequisites":
			f.Prerequisites = readPrerequisites(d)
		case "targets":
			f.Targets = readTargets(d)
		case "contextTargets":
			f.ContextTargets = readTargets(d)
		case "rules":
			f.Rules = readFlagRules(d)
		case "salt":
			d.strAt(&f.Salt)
		case "clientSide":
			f.ClientSide = d.boolean()
		case "clientSideAvailability":
			f.ClientSideAvailability = readAvailability(d)
		case "trackEvents":
			f.TrackEvents = d.boolean()
		case "trackEventsFallthrough":
			f.TrackEventsFallthrough = d.boolean()
		case "debugEventsUntilDate":
			f.DebugEventsUntilDate = nil
			if !d.null() {
				n := int64(d.number())
				if !d.failed() {
					f.DebugEventsUntilDate = &n
				}
			}
		case "excludeFromSummaries":
			f.ExcludeFromSummaries = d.boolean()
		case "samplingRatio":
			f.SamplingRatio = d.optInt()
		case "migration":
			f.Migration = readMigration(d)
		default:
			d.keep(&f.rareFields().extra, name)
		}
	})
}

func readPrerequisites(d *decoder) []Prerequisite {
	return readObjects(d, func(p *Prerequisite, name string) {
		switch name {
		case "key":
			d.strAt(&p.Key)
		case "variation":
			p.Variation = d.integer()
		default:
			d.keep(&p.extra, name)
		}
	})
}

func readTargets(d *decoder) []Target {
	return readObjects(d, func(t *Target, name string) {
		switch name {
		case "contextKind":
			d.wordAt((*string)(&t.ContextKind))
		case "variation":
			t.Variation = d.integer()
		case "values":
			t.Values = d.strList()
		default:
			d.keep(&t.extra, name)
		}
	})
}

func readFlagRules(d *decoder) []FlagRule {
	return readObjects(d, func(r *FlagRule, name string) {
		switch name {
		case "id":
			d.strAt(&r.ID)
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
	})
}

// readVariationOrRollout reads a fallthrough object.
func readVariationOrRollout(d *decoder, vr *VariationOrRollout) {
	readObject(d, vr, func(vr *VariationOrRollout, name string) {
		switch name {
		case "variation":
			vr.Variation = d.optInt()
		case "rollout":
			vr.Rollout = readRollout(d)
		default:
			d.keep(&vr.extra, name)
		}
	})
}

func readRollout(d *decoder) *Rollout {
	r := readOptObject(d, func(r *Rollout, name string) {
		switch name {
		case "kind":
			d.wordAt((*string)(&r.Kind))
		case "contextKind":
			d.wordAt((*string)(&r.ContextKind))
		case "variations":
			r.Variations = readWeightedVariations(d)
		case "bucketBy":
			r.BucketBy = rawRef(d.word())
		case "seed":
			r.Seed = d.optInt()
		default:
			d.keep(&r.extra, name)
		}
	})
	if r != nil {
		r.BucketBy = finishRef(r.BucketBy, r.ContextKind)
	}
	return r
}

func readWeightedVariations(d *decoder) []WeightedVariation {
	return readObjects(d, func(wv *WeightedVariation, name string) {
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
	})
}

func readClauses(d *decoder) []Clause {
	cs := readObjects(d, func(c *Clause, name string) {
		switch name {
		case "contextKind":
			d.wordAt((*string)(&c.ContextKind))
		case "attribute":
			c.Attribute = rawRef(d.word())
		case "op":
			d.wordAt((*string)(&c.Op))
		case "values":
			c.Values = d.valueList()
		case "negate":
			c.Negate = d.boolean()
		default:
			if c.prep == nil {
				c.prep = &clausePrep{}
			}
			d.keep(&c.prep.extra, name)
		}
	})
	for i := range cs {
		c := &cs[i]
		c.Attribute = finishRef(c.Attribute, c.ContextKind)
	}
	return cs
}

func readAvailability(d *decoder) *ClientSideAvailability {
	return readOptObject(d, func(a *ClientSideAvailability, name string) {
		switch name {
		case "usingMobileKey":
			a.UsingMobileKey = d.boolean()
		case "usingEnvironmentId":
			a.UsingEnvironmentID = d.boolean()
		default:
			d.keep(&a.extra, name)
		}
	})
}

func readMigration(d *decoder) *Migration {
	return readOptObject(d, func(m *Migration, name string) {
		switch name {
		case "checkRatio":
			m.CheckRatio = d.optInt()
		default:
			d.keep(&m.extra, name)
		}
	})
}

func readSegment(d *decoder, s *Segment) {
	readObject(d, s, func(s *Segment, name string) {
		switch name {
		case "key":
			d.strAt(&s.Key)
		case "version":
			s.Version = d.integer()
		case "deleted":
			s.Deleted = d.boolean()
		case "included":
			s.Included = d.strList()
		case "excluded":
			s.Excluded = d.strList()
		case "includedContexts":
			s.IncludedContexts = readSegmentTargets(d)
		case "excludedContexts":
			s.ExcludedContexts = readSegmentTargets(d)
		case "rules":
			s.Rules = readSegmentRules(d)
		case "salt":
			d.strAt(&s.Salt)
		case "unbounded":
			s.Unbounded = d.boolean()
		case "unboundedContextKind":
			d.wordAt((*string)(&s.UnboundedContextKind))
		case "generation":
			s.Generation = d.optInt()
		default:
			d.keep(&s.extra, name)
		}
	})
}

func readSegmentTargets(d *decoder) []SegmentTarget {
	return readObjects(d, func(t *SegmentTarget, name string) {
		switch name {
		case "contextKind":
			d.wordAt((*string)(&t.ContextKind))
		case "values":
			t.Values = d.strList()
		default:
			d.keep(&t.extra, name)
		}
	})
}

func readSegmentRules(d *decoder) []SegmentRule {
	rs := readObjects(d, func(r *SegmentRule, name string) {
		switch name {
		case "id":
			d.strAt(&r.ID)
		case "clauses":
			r.Clauses = readClauses(d)
		case "weight":
			r.Weight = d.optInt()
		case "bucketBy":
			r.BucketBy = rawRef(d.word())
		case "rolloutContextKind":
			d.wordAt((*string)(&r.RolloutContextKind))
		default:
			d.keep(&r.extra, name)
		}
	})
	for i := range rs {
		r := &rs[i]
		r.BucketBy = finishRef(r.BucketBy, r.RolloutContextKind)
	}
	return rs
}
