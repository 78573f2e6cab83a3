package model

import (
	"regexp"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Operator is a clause operator.
type Operator string

// The operators LaunchDarkly defines. Any other operator is valid JSON but
// never matches (so a negated clause with an unknown operator always
// matches when the attribute exists).
const (
	OpIn                 Operator = "in"
	OpEndsWith           Operator = "endsWith"
	OpStartsWith         Operator = "startsWith"
	OpMatches            Operator = "matches"
	OpContains           Operator = "contains"
	OpLessThan           Operator = "lessThan"
	OpLessThanOrEqual    Operator = "lessThanOrEqual"
	OpGreaterThan        Operator = "greaterThan"
	OpGreaterThanOrEqual Operator = "greaterThanOrEqual"
	OpBefore             Operator = "before"
	OpAfter              Operator = "after"
	OpSemVerEqual        Operator = "semVerEqual"
	OpSemVerLessThan     Operator = "semVerLessThan"
	OpSemVerGreaterThan  Operator = "semVerGreaterThan"
	OpSegmentMatch       Operator = "segmentMatch"
)

type opcode uint8

const (
	opUnknown opcode = iota
	opIn
	opEndsWith
	opStartsWith
	opMatches
	opContains
	opLessThan
	opLessThanOrEqual
	opGreaterThan
	opGreaterThanOrEqual
	opBefore
	opAfter
	opSemVerEqual
	opSemVerLessThan
	opSemVerGreaterThan
	opSegmentMatch
)

func opcodeOf(op Operator) opcode {
	switch op {
	case OpIn:
		return opIn
	case OpEndsWith:
		return opEndsWith
	case OpStartsWith:
		return opStartsWith
	case OpMatches:
		return opMatches
	case OpContains:
		return opContains
	case OpLessThan:
		return opLessThan
	case OpLessThanOrEqual:
		return opLessThanOrEqual
	case OpGreaterThan:
		return opGreaterThan
	case OpGreaterThanOrEqual:
		return opGreaterThanOrEqual
	case OpBefore:
		return opBefore
	case OpAfter:
		return opAfter
	case OpSemVerEqual:
		return opSemVerEqual
	case OpSemVerLessThan:
		return opSemVerLessThan
	case OpSemVerGreaterThan:
		return opSemVerGreaterThan
	case OpSegmentMatch:
		return opSegmentMatch
	}
	return opUnknown
}

// MatchValue reports whether one attribute value (never an array: the
// evaluator tests array elements one by one) matches any of the clause's
// values under its operator, with LaunchDarkly's type rules:
//   - in: equal JSON values, for a boolean, number or string attribute;
//     a boolean never equals a number;
//   - startsWith, endsWith, contains, matches: both strings; matches is an
//     unanchored RE2 search and an invalid pattern never matches;
//   - lessThan(OrEqual), greaterThan(OrEqual): both numbers (a numeric
//     string is not a number);
//   - before, after: both timestamps (see [ParseTimestamp]); equal instants
//     match neither;
//   - semVerEqual, semVerLessThan, semVerGreaterThan: both versions (see
//     [ParseSemVer]);
//   - segmentMatch and unknown operators: false (segments are the
//     evaluator's business).
//
// It does not allocate for a preprocessed clause.
func (c *Clause) MatchValue(v jsonvalue.Value) bool {
	var op opcode
	if c.prepared {
		op = c.op
	} else {
		op = opcodeOf(c.Op)
	}
	switch op {
	case opIn:
		return c.matchIn(v)
	case opEndsWith, opStartsWith, opContains:
		if !v.IsString() {
			return false
		}
		s := v.Str()
		for i := range c.Values {
			cv := &c.Values[i]
			if !cv.IsString() {
				continue
			}
			switch op {
			case opEndsWith:
				if strings.HasSuffix(s, cv.Str()) {
					return true
				}
			case opStartsWith:
				if strings.HasPrefix(s, cv.Str()) {
					return true
				}
			default:
				if strings.Contains(s, cv.Str()) {
					return true
				}
			}
		}
		return false
	case opMatches:
		if !v.IsString() {
			return false
		}
		s := v.Str()
		for i := range c.Values {
			if re := c.regexpAt(i); re != nil && re.MatchString(s) {
				return true
			}
		}
		return false
	case opLessThan, opLessThanOrEqual, opGreaterThan, opGreaterThanOrEqual:
		if !v.IsNumber() {
			return false
		}
		x := v.Float64()
		for i := range c.Values {
			cv := &c.Values[i]
			if !cv.IsNumber() {
				continue
			}
			y := cv.Float64()
			var m bool
			switch op {
			case opLessThan:
				m = x < y
			case opLessThanOrEqual:
				m = x <= y
			case opGreaterThan:
				m = x > y
			default:
				m = x >= y
			}
			if m {
				return true
			}
		}
		return false
	case opBefore, opAfter:
		if len(c.Values) == 0 {
			return false
		}
		t, ok := ParseTimestamp(v)
		if !ok {
			return false
		}
		for i := range c.Values {
			ct, ok := c.timeAt(i)
			if !ok {
				continue
			}
			if op == opBefore && t.Before(ct) || op == opAfter && t.After(ct) {
				return true
			}
		}
		return false
	case opSemVerEqual, opSemVerLessThan, opSemVerGreaterThan:
		if !v.IsString() || len(c.Values) == 0 {
			return false
		}
		sv, ok := ParseSemVer(v.Str())
		if !ok {
			return false
		}
		want := 0
		switch op {
		case opSemVerLessThan:
			want = -1
		case opSemVerGreaterThan:
			want = 1
		}
		for i := range c.Values {
			cv, ok := c.semverAt(i)
			if ok && sv.Compare(cv) == want {
				return true
			}
		}
		return false
	}
	return false
}

// matchIn is the "in" operator: only booleans, numbers and strings can be
// found, and only among values of the same type.
func (c *Clause) matchIn(v jsonvalue.Value) bool {
	t := v.Type()
	switch t {
	case jsonvalue.BoolType, jsonvalue.NumberType, jsonvalue.StringType:
	default:
		return false
	}
	if c.prep != nil && c.prep.inSet != nil {
		return c.prep.inSet.has(v)
	}
	// Compare by type without copying values around.
	switch t {
	case jsonvalue.StringType:
		s := v.Str()
		for i := range c.Values {
			if cv := &c.Values[i]; cv.IsString() && cv.Str() == s {
				return true
			}
		}
	case jsonvalue.NumberType:
		n := v.Float64()
		for i := range c.Values {
			if cv := &c.Values[i]; cv.IsNumber() && cv.Float64() == n {
				return true
			}
		}
	default:
		b := v.Bool()
		for i := range c.Values {
			if cv := &c.Values[i]; cv.IsBool() && cv.Bool() == b {
				return true
			}
		}
	}
	return false
}

// inSet holds the booleans, numbers and strings of an "in" clause with
// many values, by type, so that true and 1 never collide.
type inSet struct {
	strings  map[string]struct{}
	numbers  map[float64]struct{} // -0 and 0 are the same key
	hasTrue  bool
	hasFalse bool
}

func newInSet(values []jsonvalue.Value) *inSet {
	s := &inSet{}
	for _, v := range values {
		switch v.Type() {
		case jsonvalue.StringType:
			if s.strings == nil {
				s.strings = make(map[string]struct{}, len(values))
			}
			s.strings[v.Str()] = struct{}{}
		case jsonvalue.NumberType:
			if s.numbers == nil {
				s.numbers = make(map[float64]struct{})
			}
			s.numbers[v.Float64()] = struct{}{}
		case jsonvalue.BoolType:
			if v.Bool() {
				s.hasTrue = true
			} else {
				s.hasFalse = true
			}
		}
	}
	return s
}

func (s *inSet) has(v jsonvalue.Value) bool {
	switch v.Type() {
	case jsonvalue.StringType:
		_, ok := s.strings[v.Str()]
		return ok
	case jsonvalue.NumberType:
		_, ok := s.numbers[v.Float64()]
		return ok
	case jsonvalue.BoolType:
		if v.Bool() {
			return s.hasTrue
		}
		return s.hasFalse
	}
	return false
}

func (c *Clause) regexpAt(i int) *regexp.Regexp {
	if c.prepared {
		if c.prep != nil && i < len(c.prep.values) {
			return c.prep.values[i].re
		}
		return nil
	}
	return compileRegexp(c.Values[i])
}

func (c *Clause) timeAt(i int) (time.Time, bool) {
	if c.prepared {
		if c.prep != nil && i < len(c.prep.values) {
			p := &c.prep.values[i]
			return p.t, p.ok
		}
		return time.Time{}, false
	}
	return clauseTimestamp(c.Values[i])
}

func (c *Clause) semverAt(i int) (SemVer, bool) {
	if c.prepared {
		if c.prep != nil && i < len(c.prep.values) {
			p := &c.prep.values[i]
			return p.sv, p.ok
		}
		return SemVer{}, false
	}
	if !c.Values[i].IsString() {
		return SemVer{}, false
	}
	return ParseSemVer(c.Values[i].Str())
}

func compileRegexp(v jsonvalue.Value) *regexp.Regexp {
	if !v.IsString() {
		return nil
	}
	re, err := regexp.Compile(v.Str())
	if err != nil {
		return nil
	}
	return re
}

// clauseTimestamp parses a clause value as a timestamp. Like LaunchDarkly,
// it treats the zero time (0001-01-01T00:00:00Z) as "not a timestamp".
func clauseTimestamp(v jsonvalue.Value) (time.Time, bool) {
	t, ok := ParseTimestamp(v)
	if !ok || t.IsZero() {
		return time.Time{}, false
	}
	return t, true
}
