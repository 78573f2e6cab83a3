package model

import (
	"regexp"
	"time"
)

// Lists up to this long are scanned; longer ones get a hash set. Scanning a
// few strings is faster than hashing one.
const setThreshold = 8

// clausePrep is the parsed form of a clause's values, built once by
// preprocessing for the operators that need one, and the clause's unknown
// properties (the rest of a clause's preprocessing is in the Clause itself:
// most clauses need no clausePrep).
type clausePrep struct {
	inSet  *inSet        // "in" with many values
	values []parsedValue // per value, for matches/dates/semvers
	extra  rawFields     // the clause's unknown properties, kept by decoding
}

// parsedValue is one clause value parsed for the clause's operator.
type parsedValue struct {
	re *regexp.Regexp // matches: nil when invalid
	t  time.Time      // before/after
	sv SemVer         // semVer*
	ok bool           // t or sv is valid
}

// PreprocessFlag builds the flag's lookup structures (target sets, "in"
// value sets, compiled regular expressions, parsed versions and dates).
// [DecodeFlag] calls it; code that builds a Flag by hand should call it once
// before the flag is shared. It must not run concurrently with evaluations
// of the same flag.
func PreprocessFlag(f *Flag) {
	if f.rare != nil {
		f.rare.prereqKs = nil
	}
	if len(f.Prerequisites) > 0 {
		keys := make([]string, len(f.Prerequisites))
		for i := range f.Prerequisites {
			keys[i] = f.Prerequisites[i].Key
		}
		f.rareFields().prereqKs = keys
	}
	for i := range f.Targets {
		f.Targets[i].set = newKeySet(f.Targets[i].Values)
	}
	for i := range f.ContextTargets {
		f.ContextTargets[i].set = newKeySet(f.ContextTargets[i].Values)
	}
	for i := range f.Rules {
		for j := range f.Rules[i].Clauses {
			preprocessClause(&f.Rules[i].Clauses[j])
		}
	}
	f.prepared = true
}

// PreprocessSegment builds the segment's lookup structures; see
// [PreprocessFlag].
func PreprocessSegment(s *Segment) {
	s.includedSet = newKeySet(s.Included)
	s.excludedSet = newKeySet(s.Excluded)
	for i := range s.IncludedContexts {
		s.IncludedContexts[i].set = newKeySet(s.IncludedContexts[i].Values)
	}
	for i := range s.ExcludedContexts {
		s.ExcludedContexts[i].set = newKeySet(s.ExcludedContexts[i].Values)
	}
	for i := range s.Rules {
		for j := range s.Rules[i].Clauses {
			preprocessClause(&s.Rules[i].Clauses[j])
		}
	}
	s.bigRef = bigSegmentRef(s)
	s.prepared = true
}

func preprocessClause(c *Clause) {
	c.op, c.kindAttr = opcodeOf(c.Op), isKindRef(c.Attribute)
	c.attrOK = c.HasAttribute() && c.Attribute.Err() == nil
	c.nameAttr = c.attrOK && c.Attribute.Depth() == 1 && c.Attribute.Component(0) != ""
	// Built on the stack; only a clause that needs one gets a clausePrep
	// on the heap (most need none).
	var prep clausePrep
	p := &prep
	if c.prep != nil {
		p.extra = c.prep.extra
	}
	switch c.op {
	case opIn:
		if len(c.Values) > setThreshold {
			p.inSet = newInSet(c.Values)
		}
	case opMatches:
		p.values = make([]parsedValue, len(c.Values))
		for i, v := range c.Values {
			p.values[i].re = compileRegexp(v)
		}
	case opBefore, opAfter:
		p.values = make([]parsedValue, len(c.Values))
		for i, v := range c.Values {
			p.values[i].t, p.values[i].ok = clauseTimestamp(v)
		}
	case opSemVerEqual, opSemVerLessThan, opSemVerGreaterThan:
		p.values = make([]parsedValue, len(c.Values))
		for i, v := range c.Values {
			if v.IsString() {
				p.values[i].sv, p.values[i].ok = ParseSemVer(v.Str())
			}
		}
	}
	c.prep = nil
	if p.inSet != nil || p.values != nil || p.extra.p != nil {
		c.prep = new(clausePrep)
		*c.prep = prep
	}
	c.prepared = true
}
