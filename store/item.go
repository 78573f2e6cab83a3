package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ParseVersion reads the "version" and "deleted" fields of an item's JSON,
// the only parts of LaunchDarkly's flag and segment schema a backend needs.
// It returns an error wrapping [ErrMalformedItem] when data is not a valid
// JSON object, when "version" is present but not a whole number, or when
// "deleted" is present but neither a boolean nor null. A missing version is
// 0; a missing deleted is false.
//
// It scans the top level of the object without decoding the rest (nested
// values are only checked for validity), and does not allocate on success.
func ParseVersion(data []byte) (version int, deleted bool, err error) {
	p := headParser{data: data}
	version, deleted, err = p.parse()
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrMalformedItem, err)
	}
	return version, deleted, nil
}

// ItemFromJSON builds an Item from an item's JSON, taking its version and
// deleted flag from the JSON itself.
func ItemFromJSON(data []byte) (Item, error) {
	v, del, err := ParseVersion(data)
	if err != nil {
		return Item{}, err
	}
	return Item{Version: v, Deleted: del, Data: data}, nil
}

// Tombstone returns the Item that marks key as deleted at version, serialized
// as LaunchDarkly's SDKs and Relay Proxy serialize deleted items.
func Tombstone(key string, version int) Item {
	k, _ := json.Marshal(key)
	data := fmt.Appendf(nil, `{"key":%s,"version":%d,"deleted":true}`, k, version)
	return Item{Version: version, Deleted: true, Data: data}
}

var (
	errNotObject   = errors.New("item is not a JSON object")
	errSyntax      = errors.New("invalid JSON")
	errVersionType = errors.New(`"version" is not a whole number`)
	errDeletedType = errors.New(`"deleted" is not a boolean`)
	errTooDeep     = errors.New("JSON nested too deeply")
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 10000

// headParser is a validating scanner for one JSON object that remembers the
// values of its top-level "version" and "deleted" members. Like
// encoding/json, the last occurrence of a duplicated member wins.
type headParser struct {
	data []byte
	pos  int
}

func (p *headParser) parse() (version int, deleted bool, err error) {
	p.space()
	if p.pos >= len(p.data) || p.data[p.pos] != '{' {
		return 0, false, errNotObject
	}
	p.pos++
	p.space()
	if p.peek() == '}' {
		p.pos++
		return 0, false, p.end()
	}
	for {
		p.space()
		name, escaped, err := p.str()
		if err != nil {
			return 0, false, err
		}
		p.space()
		if p.peek() != ':' {
			return 0, false, errSyntax
		}
		p.pos++
		p.space()
		switch {
		case !escaped && string(name) == "version":
			version, err = p.version()
		case !escaped && string(name) == "deleted":
			deleted, err = p.deleted()
		default:
			err = p.skip(1)
		}
		if err != nil {
			return 0, false, err
		}
		p.space()
		switch p.peek() {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return version, deleted, p.end()
		default:
			return 0, false, errSyntax
		}
	}
}

func (p *headParser) end() error {
	p.space()
	if p.pos != len(p.data) {
		return errSyntax
	}
	return nil
}

func (p *headParser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *headParser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// str reads a string and returns its raw content (between the quotes) and
// whether it contained escapes. A member name with escapes is never one of
// the two names we look for in practice; treating "vers\u0069on" as another
// name would differ from encoding/json, so escaped names are decoded.
func (p *headParser) str() (raw []byte, escaped bool, err error) {
	if p.peek() != '"' {
		return nil, false, errSyntax
	}
	p.pos++
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			raw = p.data[start:p.pos]
			p.pos++
			if escaped {
				return p.unescape(raw)
			}
			return raw, false, nil
		case c == '\\':
			escaped = true
			if p.pos+1 >= len(p.data) {
				return nil, false, errSyntax
			}
			switch p.data[p.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.pos += 2
			case 'u':
				if p.pos+6 > len(p.data) {
					return nil, false, errSyntax
				}
				for _, h := range p.data[p.pos+2 : p.pos+6] {
					if !isHex(h) {
						return nil, false, errSyntax
					}
				}
				p.pos += 6
			default:
				return nil, false, errSyntax
			}
		case c < 0x20:
			return nil, false, errSyntax
		default:
			p.pos++
		}
	}
	return nil, false, errSyntax
}

// unescape decodes an escaped member name with encoding/json (rare path).
// It reports escaped=false when the decoded name is one we look for, so the
// caller matches it as encoding/json would.
func (p *headParser) unescape(raw []byte) ([]byte, bool, error) {
	quoted := make([]byte, 0, len(raw)+2)
	quoted = append(append(append(quoted, '"'), raw...), '"')
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return nil, false, errSyntax
	}
	return []byte(s), false, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (p *headParser) version() (int, error) {
	if p.peek() == 'n' {
		return 0, p.literal("null")
	}
	start := p.pos
	if err := p.number(); err != nil {
		if errors.Is(err, errSyntax) && p.pos == start {
			// Some other JSON value: valid JSON, wrong type.
			if err := p.skip(1); err != nil {
				return 0, err
			}
			return 0, errVersionType
		}
		return 0, err
	}
	text := p.data[start:p.pos]
	v, err := strconv.Atoi(string(text))
	if err == nil {
		return v, nil
	}
	// A fraction, an exponent (3.0, 1e2) or a number beyond int: like
	// encoding/json decoding into an int, this is not a version.
	return 0, errVersionType
}

func (p *headParser) deleted() (bool, error) {
	switch p.peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	case 'n':
		return false, p.literal("null")
	}
	if err := p.skip(1); err != nil {
		return false, err
	}
	return false, errDeletedType
}

func (p *headParser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return errSyntax
	}
	p.pos += len(word)
	return nil
}

// number scans a JSON number.
func (p *headParser) number() error {
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	switch c := p.peek(); {
	case c == '0':
		p.pos++
	case '1' <= c && c <= '9':
		for '0' <= p.peek() && p.peek() <= '9' {
			p.pos++
		}
	default:
		p.pos = start
		return errSyntax
	}
	if p.peek() == '.' {
		p.pos++
		if !p.digits() {
			return errSyntax
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if !p.digits() {
			return errSyntax
		}
	}
	return nil
}

func (p *headParser) digits() bool {
	start := p.pos
	for '0' <= p.peek() && p.peek() <= '9' {
		p.pos++
	}
	return p.pos > start
}

// skip scans over any JSON value, checking its syntax.
func (p *headParser) skip(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch c := p.peek(); {
	case c == '"':
		_, _, err := p.str()
		return err
	case c == '{':
		p.pos++
		p.space()
		if p.peek() == '}' {
			p.pos++
			return nil
		}
		for {
			p.space()
			if _, _, err := p.str(); err != nil {
				return err
			}
			p.space()
			if p.peek() != ':' {
				return errSyntax
			}
			p.pos++
			p.space()
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.space()
			switch p.peek() {
			case ',':
				p.pos++
			case '}':
				p.pos++
				return nil
			default:
				return errSyntax
			}
		}
	case c == '[':
		p.pos++
		p.space()
		if p.peek() == ']' {
			p.pos++
			return nil
		}
		for {
			p.space()
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			p.space()
			switch p.peek() {
			case ',':
				p.pos++
			case ']':
				p.pos++
				return nil
			default:
				return errSyntax
			}
		}
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.number()
	}
}
