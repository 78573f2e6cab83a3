package jsonvalue

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of arrays and objects, as encoding/json does,
// so hostile input cannot exhaust the stack.
const maxDepth = 10000

var errTooDeep = errors.New("jsonvalue: exceeded max depth")

// SyntaxError describes malformed JSON and the byte offset where it was
// detected.
type SyntaxError struct {
	Offset int64 // bytes read before the error
	msg    string
}

// Error describes the problem and where it is.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("jsonvalue: invalid JSON at offset %d: %s", e.Offset, e.msg)
}

// Parse decodes one JSON document of any type. Surrounding white space is
// allowed; anything else after the value is an error. Invalid UTF-8 in
// strings is replaced by U+FFFD, as encoding/json does; numbers outside the
// range of float64 are an error.
func Parse(data []byte) (Value, error) {
	p := parser{data: data}
	p.skipSpace()
	v, err := p.value(0)
	if err != nil {
		return Value{}, err
	}
	p.skipSpace()
	if p.pos < len(p.data) {
		return Value{}, p.errorf("unexpected %s after top-level value", p.describe())
	}
	return v, nil
}

// UnmarshalJSON implements json.Unmarshaler with [Parse].
func (v *Value) UnmarshalJSON(data []byte) error {
	x, err := Parse(data)
	if err != nil {
		return err
	}
	*v = x
	return nil
}

type parser struct {
	data []byte
	pos  int
}

func (p *parser) errorf(format string, args ...any) error {
	return &SyntaxError{Offset: int64(p.pos), msg: fmt.Sprintf(format, args...)}
}

func (p *parser) describe() string {
	if p.pos >= len(p.data) {
		return "end of input"
	}
	return "character " + strconv.QuoteRune(rune(p.data[p.pos]))
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

// value parses the value at p.pos; leading white space is already skipped.
func (p *parser) value(depth int) (Value, error) {
	if p.pos >= len(p.data) {
		return Value{}, p.errorf("unexpected end of input")
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return Value{}, err
		}
		return Value{typ: StringType, s: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return Bool(true), p.literal("true")
	case c == 'f':
		return Bool(false), p.literal("false")
	case c == 'n':
		return Value{}, p.literal("null")
	}
	return Value{}, p.errorf("unexpected %s looking for beginning of value", p.describe())
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos >= len(word) && string(p.data[p.pos:p.pos+len(word)]) == word {
		p.pos += len(word)
		return nil
	}
	return p.errorf("invalid literal, expected %q", word)
}

func (p *parser) object(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errTooDeep
	}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return Value{typ: ObjectType}, nil
	}
	obj := make(map[string]Value)
	for {
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return Value{}, p.errorf("unexpected %s looking for beginning of object key", p.describe())
		}
		key, err := p.str()
		if err != nil {
			return Value{}, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return Value{}, p.errorf("unexpected %s after object key", p.describe())
		}
		p.pos++
		p.skipSpace()
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		obj[key] = v // a repeated key keeps the last value, as encoding/json does
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end of input in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case '}':
			p.pos++
			return Value{typ: ObjectType, obj: obj}, nil
		default:
			return Value{}, p.errorf("unexpected %s after object value", p.describe())
		}
	}
}

func (p *parser) array(depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errTooDeep
	}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return Value{typ: ArrayType}, nil
	}
	var arr []Value
	for {
		v, err := p.value(depth)
		if err != nil {
			return Value{}, err
		}
		arr = append(arr, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return Value{}, p.errorf("unexpected end of input in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
			p.skipSpace()
		case ']':
			p.pos++
			return Value{typ: ArrayType, arr: arr[:len(arr):len(arr)]}, nil
		default:
			return Value{}, p.errorf("unexpected %s after array element", p.describe())
		}
	}
}

// number validates the JSON number grammar and converts with strconv.
func (p *parser) number() (Value, error) {
	start := p.pos
	d := p.data
	if d[p.pos] == '-' {
		p.pos++
	}
	switch {
	case p.pos < len(d) && d[p.pos] == '0':
		p.pos++
	case p.pos < len(d) && d[p.pos] >= '1' && d[p.pos] <= '9':
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	default:
		return Value{}, p.errorf("invalid number: expected a digit, found %s", p.describe())
	}
	if p.pos < len(d) && d[p.pos] == '.' {
		p.pos++
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			return Value{}, p.errorf("invalid number: expected a digit after the decimal point, found %s", p.describe())
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
	if p.pos < len(d) && (d[p.pos] == 'e' || d[p.pos] == 'E') {
		p.pos++
		if p.pos < len(d) && (d[p.pos] == '+' || d[p.pos] == '-') {
			p.pos++
		}
		if p.pos >= len(d) || d[p.pos] < '0' || d[p.pos] > '9' {
			return Value{}, p.errorf("invalid number: expected a digit in the exponent, found %s", p.describe())
		}
		for p.pos < len(d) && d[p.pos] >= '0' && d[p.pos] <= '9' {
			p.pos++
		}
	}
	f, err := strconv.ParseFloat(string(d[start:p.pos]), 64)
	if err != nil {
		p.pos = start
		return Value{}, p.errorf("number %s is out of range", d[start:start+min(len(d)-start, 40)])
	}
	return Value{typ: NumberType, n: f}, nil
}

// str parses a string literal starting at the opening quote.
func (p *parser) str() (string, error) {
	p.pos++ // opening quote
	start := p.pos
	d := p.data
	// Fast path: no escapes and plain ASCII or valid UTF-8.
	for p.pos < len(d) {
		c := d[p.pos]
		if c == '"' {
			s := d[start:p.pos]
			p.pos++
			if utf8.Valid(s) {
				return string(s), nil
			}
			return string(toValidUTF8(s)), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.pos++
	}
	buf := make([]byte, 0, p.pos-start+16)
	buf = append(buf, d[start:p.pos]...)
	for {
		if p.pos >= len(d) {
			return "", p.errorf("unexpected end of input in string")
		}
		c := d[p.pos]
		switch {
		case c == '"':
			p.pos++
			if utf8.Valid(buf) {
				return string(buf), nil
			}
			return string(toValidUTF8(buf)), nil
		case c < 0x20:
			return "", p.errorf("invalid control character %q in string", rune(c))
		case c == '\\':
			p.pos++
			if p.pos >= len(d) {
				return "", p.errorf("unexpected end of input in string escape")
			}
			e := d[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.errorf("invalid \\u escape in string")
				}
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					save := p.pos
					if p.pos+1 < len(d) && d[p.pos] == '\\' && d[p.pos+1] == 'u' {
						p.pos += 2
						if x, ok := p.hex4(); ok {
							if dec := utf16.DecodeRune(r, x); dec != utf8.RuneError {
								r2 = dec
							} else {
								p.pos = save
							}
						} else {
							p.pos = save
						}
					}
					r = r2
				}
				buf = utf8.AppendRune(buf, r)
			default:
				p.pos--
				return "", p.errorf("invalid escape character %q in string", rune(e))
			}
		default:
			buf = append(buf, c)
			p.pos++
		}
	}
}

func (p *parser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}

// toValidUTF8 replaces each invalid byte with U+FFFD, as encoding/json does
// (one replacement per bad byte, unlike bytes.ToValidUTF8).
func toValidUTF8(s []byte) []byte {
	out := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return out
}
