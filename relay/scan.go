package relay

import (
	"encoding/json"
	"errors"
)

// This file is a validating JSON scanner that finds the parts of an event
// without copying them: the items of a dataset stay slices of the event's
// buffer, so a 250 MB "put" costs one buffer, not seven. It accepts exactly
// RFC 8259 JSON (the fuzz target compares it with encoding/json), except
// that invalid UTF-8 is checked once for the whole input by the caller.
//
// TODO(issue 15): fold into the shared tokenizer when it lands.

var (
	errJSONSyntax  = errors.New("invalid JSON")
	errJSONTooDeep = errors.New("JSON nested too deeply")
)

// maxJSONDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxJSONDepth = 10000

type scanner struct {
	data []byte
	pos  int
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// end checks that only white space follows.
func (s *scanner) end() error {
	s.ws()
	if s.pos != len(s.data) {
		return errJSONSyntax
	}
	return nil
}

// object scans an object, calling member for each member with the scanner
// at the start of its value; member must scan the value (with skip, or
// value). key is the member name, decoded.
func (s *scanner) object(member func(key string) error) error {
	s.ws()
	if s.peek() != '{' {
		return errJSONSyntax
	}
	s.pos++
	s.ws()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		key, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.peek() != ':' {
			return errJSONSyntax
		}
		s.pos++
		s.ws()
		if err := member(key); err != nil {
			return err
		}
		s.ws()
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errJSONSyntax
		}
	}
}

// value scans any value and returns its bytes (a slice of the input).
func (s *scanner) value() ([]byte, error) {
	start := s.pos
	if err := s.skip(0); err != nil {
		return nil, err
	}
	return s.data[start:s.pos], nil
}

// str scans a string and returns it decoded. Strings without escapes (all
// LaunchDarkly keys and paths in practice) cost one small allocation.
func (s *scanner) str() (string, error) {
	start := s.pos
	escaped, err := s.skipString()
	if err != nil {
		return "", err
	}
	if !escaped {
		return string(s.data[start+1 : s.pos-1]), nil
	}
	var out string
	if err := json.Unmarshal(s.data[start:s.pos], &out); err != nil {
		return "", errJSONSyntax
	}
	return out, nil
}

// skipString scans a string, checking its escapes; it reports whether the
// string holds any.
func (s *scanner) skipString() (escaped bool, err error) {
	if s.peek() != '"' {
		return false, errJSONSyntax
	}
	s.pos++
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return escaped, nil
		case c == '\\':
			escaped = true
			s.pos++
			switch s.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos++
			case 'u':
				if len(s.data)-s.pos < 5 || !isHex(s.data[s.pos+1]) || !isHex(s.data[s.pos+2]) ||
					!isHex(s.data[s.pos+3]) || !isHex(s.data[s.pos+4]) {
					return false, errJSONSyntax
				}
				s.pos += 5
			default:
				return false, errJSONSyntax
			}
		case c < 0x20:
			return false, errJSONSyntax
		default:
			s.pos++
		}
	}
	return false, errJSONSyntax
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skip scans any value, checking its syntax.
func (s *scanner) skip(depth int) error {
	if depth > maxJSONDepth {
		return errJSONTooDeep
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.skipString()
		return err
	case c == '{':
		// Like object, without decoding the names.
		s.pos++
		s.ws()
		if s.peek() == '}' {
			s.pos++
			return nil
		}
		for {
			s.ws()
			if _, err := s.skipString(); err != nil {
				return err
			}
			s.ws()
			if s.peek() != ':' {
				return errJSONSyntax
			}
			s.pos++
			s.ws()
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				return nil
			default:
				return errJSONSyntax
			}
		}
	case c == '[':
		s.pos++
		s.ws()
		if s.peek() == ']' {
			s.pos++
			return nil
		}
		for {
			s.ws()
			if err := s.skip(depth + 1); err != nil {
				return err
			}
			s.ws()
			switch s.peek() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return nil
			default:
				return errJSONSyntax
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	}
	return errJSONSyntax
}

func (s *scanner) literal(word string) error {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return errJSONSyntax
	}
	s.pos += len(word)
	return nil
}

func (s *scanner) number() error {
	if s.peek() == '-' {
		s.pos++
	}
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return errJSONSyntax
	}
	if s.peek() == '.' {
		s.pos++
		if !s.digits() {
			return errJSONSyntax
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.pos++
		if c := s.peek(); c == '+' || c == '-' {
			s.pos++
		}
		if !s.digits() {
			return errJSONSyntax
		}
	}
	return nil
}

func (s *scanner) digits() bool {
	start := s.pos
	for '0' <= s.peek() && s.peek() <= '9' {
		s.pos++
	}
	return s.pos > start
}

// compactInPlace removes the insignificant white space of valid JSON in b,
// moving bytes toward the start, and returns the compacted length. It never
// needs more room than b (the output is never longer than the input).
func compactInPlace(b []byte) int {
	w, inString, escape := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escape:
				escape = false
			case c == '\\':
				escape = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		}
		b[w] = c
		w++
	}
	return w
}
