package model

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// maxNesting bounds the nesting of arrays and objects inside values, as
// jsonvalue does, so hostile input cannot exhaust the stack.
const maxNesting = 10000

// decoder is a small pull parser over one document. Strings without escapes
// are substrings of one copy of the document, so decoding allocates little.
// Errors are sticky: after the first one every read returns a zero value
// and loops end.
type decoder struct {
	s     string // the document
	data  []byte // the same bytes, for jsonvalue.Parse
	pos   int
	err   *DecodeError
	kind  string // "flag" or "segment", for errors
	path  [24]pathElem
	depth int // may exceed len(path); deeper elements are not recorded
}

type pathElem struct {
	name  string
	index int // >= 0 for an array element, -1 for a property
}

func newDecoder(data []byte, kind string) *decoder {
	return &decoder{s: string(data), data: data, kind: kind}
}

func (d *decoder) enter(name string) {
	if d.depth < len(d.path) {
		d.path[d.depth] = pathElem{name: name, index: -1}
	}
	d.depth++
}

func (d *decoder) enterIndex(i int) {
	if d.depth < len(d.path) {
		d.path[d.depth] = pathElem{index: i}
	}
	d.depth++
}

func (d *decoder) leave() { d.depth-- }

func (d *decoder) pathString() string {
	var b strings.Builder
	n := min(d.depth, len(d.path))
	for i := 0; i < n; i++ {
		e := d.path[i]
		if e.index >= 0 {
			b.WriteString("[")
			b.WriteString(strconv.Itoa(e.index))
			b.WriteString("]")
			continue
		}
		if i > 0 {
			b.WriteString(".")
		}
		if isPlainName(e.name) {
			b.WriteString(e.name)
		} else {
			b.WriteString(strconv.Quote(e.name))
		}
	}
	if d.depth > n {
		b.WriteString("...")
	}
	return b.String()
}

func isPlainName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$') {
			return false
		}
	}
	return true
}

// fail records the first error at the current path and position.
func (d *decoder) fail(problem string) {
	if d.err != nil {
		return
	}
	d.err = &DecodeError{Kind: d.kind, Path: d.pathString(), Offset: d.pos, Problem: problem}
}

func (d *decoder) ws() {
	for d.pos < len(d.s) {
		switch d.s[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// next returns the next non-space byte without consuming it, or 0 at the
// end of the document.
func (d *decoder) next() byte {
	d.ws()
	if d.pos >= len(d.s) {
		return 0
	}
	return d.s[d.pos]
}

// describe names the JSON type of the value starting at the next byte.
func (d *decoder) describe() string {
	switch c := d.next(); {
	case c == 0:
		return "end of document"
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || c >= '0' && c <= '9':
		return "number"
	default:
		return "invalid character " + strconv.QuoteRune(rune(c))
	}
}

func (d *decoder) expected(what string) {
	d.fail("expected " + what + ", got " + d.describe())
}

// null consumes a null literal if one comes next.
func (d *decoder) null() bool {
	if d.err != nil {
		return false
	}
	if d.next() == 'n' {
		d.literal("null")
		return d.err == nil
	}
	return false
}

func (d *decoder) literal(word string) {
	if strings.HasPrefix(d.s[d.pos:], word) {
		d.pos += len(word)
		return
	}
	d.fail("invalid literal, expected " + word)
}

// objIter walks the properties of an object.
type objIter struct{ started, done bool }

// object starts reading an object; false (with an error recorded) when the
// next value is not an object.
func (d *decoder) object(it *objIter) bool {
	if d.err != nil {
		return false
	}
	if d.next() != '{' {
		d.expected("an object")
		return false
	}
	d.pos++
	*it = objIter{}
	return true
}

// field returns the next property name, positioned at its value, or false
// at the end of the object (or on error).
func (d *decoder) field(it *objIter) (string, bool) {
	if d.err != nil || it.done {
		return "", false
	}
	c := d.next()
	if !it.started {
		it.started = true
		if c == '}' {
			d.pos++
			it.done = true
			return "", false
		}
	} else {
		switch c {
		case ',':
			d.pos++
		case '}':
			d.pos++
			it.done = true
			return "", false
		default:
			d.fail("expected ',' or '}' after object property, got " + d.describe())
			return "", false
		}
	}
	if d.next() != '"' {
		d.fail("expected a property name, got " + d.describe())
		return "", false
	}
	name := d.rawString()
	if d.next() != ':' {
		d.fail("expected ':' after property name, got " + d.describe())
		return "", false
	}
	d.pos++
	d.ws()
	return name, d.err == nil
}

// arrIter walks the elements of an array.
type arrIter struct {
	started, done bool
	i             int
}

func (d *decoder) array(it *arrIter) bool {
	if d.err != nil {
		return false
	}
	if d.next() != '[' {
		d.expected("an array")
		return false
	}
	d.pos++
	*it = arrIter{i: -1}
	return true
}

// elem advances to the next element, or returns false at the end.
func (d *decoder) elem(it *arrIter) bool {
	if d.err != nil || it.done {
		return false
	}
	c := d.next()
	if !it.started {
		it.started = true
		if c == ']' {
			d.pos++
			it.done = true
			return false
		}
	} else {
		switch c {
		case ',':
			d.pos++
		case ']':
			d.pos++
			it.done = true
			return false
		default:
			d.fail("expected ',' or ']' after array element, got " + d.describe())
			return false
		}
	}
	it.i++
	d.ws()
	return true
}

// str reads a string; null reads as "".
func (d *decoder) str() string {
	if d.null() || d.err != nil {
		return ""
	}
	if d.next() != '"' {
		d.expected("a string")
		return ""
	}
	return d.rawString()
}

// boolean reads a boolean; null reads as false.
func (d *decoder) boolean() bool {
	if d.null() || d.err != nil {
		return false
	}
	switch d.next() {
	case 't':
		d.literal("true")
		return true
	case 'f':
		d.literal("false")
		return false
	}
	d.expected("a boolean")
	return false
}

// number reads a number.
func (d *decoder) number() float64 {
	if d.err != nil {
		return 0
	}
	c := d.next()
	if c != '-' && (c < '0' || c > '9') {
		d.expected("a number")
		return 0
	}
	start := d.pos
	if !d.scanNumber() {
		return 0
	}
	text := d.s[start:d.pos]
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		d.pos = start
		d.fail("number " + clip(text) + " is out of range")
		return 0
	}
	return f
}

// integer reads a whole number that fits in an int64; null reads as 0.
func (d *decoder) integer() int {
	if d.null() || d.err != nil {
		return 0
	}
	start := d.pos
	f := d.number()
	if d.err != nil {
		return 0
	}
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		text := d.s[start:d.pos]
		d.pos = start
		d.fail("expected a whole number, got " + clip(text))
		return 0
	}
	return int(f)
}

// clip shortens long text for error messages.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// optInt reads an optional whole number; null reads as nil.
func (d *decoder) optInt() *int {
	if d.null() || d.err != nil {
		return nil
	}
	n := d.integer()
	if d.err != nil {
		return nil
	}
	return &n
}

// strList reads an array of strings; null reads as nil.
func (d *decoder) strList() []string {
	if d.null() || d.err != nil {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	out := []string{}
	for d.elem(&it) {
		if d.next() != '"' {
			d.enterIndex(it.i)
			d.expected("a string")
			d.leave()
			return nil
		}
		out = append(out, d.rawString())
	}
	return out
}

// valueList reads an array of arbitrary values; null reads as nil.
func (d *decoder) valueList() []jsonvalue.Value {
	if d.null() || d.err != nil {
		return nil
	}
	var it arrIter
	if !d.array(&it) {
		return nil
	}
	out := []jsonvalue.Value{}
	for d.elem(&it) {
		d.enterIndex(it.i)
		out = append(out, d.value())
		d.leave()
	}
	return out
}

// value reads any JSON value.
func (d *decoder) value() jsonvalue.Value {
	if d.err != nil {
		return jsonvalue.Null()
	}
	switch c := d.next(); {
	case c == '"':
		return jsonvalue.String(d.rawString())
	case c == 't' || c == 'f':
		return jsonvalue.Bool(d.boolean())
	case c == 'n':
		d.literal("null")
		return jsonvalue.Null()
	case c == '-' || c >= '0' && c <= '9':
		return jsonvalue.Float(d.number())
	case c == '[' || c == '{':
		start := d.pos
		d.skip(0)
		if d.err != nil {
			return jsonvalue.Null()
		}
		v, err := jsonvalue.Parse(d.data[start:d.pos])
		if err != nil {
			d.pos = start
			d.fail(err.Error())
			return jsonvalue.Null()
		}
		return v
	}
	d.expected("a JSON value")
	return jsonvalue.Null()
}

// skip consumes one value of any type, checking its syntax, and returns it
// as raw text.
func (d *decoder) skip(depth int) string {
	if d.err != nil {
		return ""
	}
	start := d.pos
	switch c := d.next(); {
	case c == '"':
		start = d.pos
		d.rawString()
	case c == 't':
		start = d.pos
		d.literal("true")
	case c == 'f':
		start = d.pos
		d.literal("false")
	case c == 'n':
		start = d.pos
		d.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		start = d.pos
		d.number()
	case c == '[' || c == '{':
		start = d.pos
		if depth >= maxNesting {
			d.fail("nesting too deep")
			return ""
		}
		if c == '[' {
			var it arrIter
			d.array(&it)
			for d.elem(&it) {
				d.skip(depth + 1)
			}
		} else {
			var it objIter
			d.object(&it)
			for _, ok := d.field(&it); ok; _, ok = d.field(&it) {
				d.skip(depth + 1)
			}
		}
	default:
		d.expected("a JSON value")
	}
	if d.err != nil {
		return ""
	}
	return d.s[start:d.pos]
}

// scanNumber checks the JSON number grammar from d.pos.
func (d *decoder) scanNumber() bool {
	s, i := d.s, d.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		d.pos = i
		d.fail("invalid number")
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.pos = i
			d.fail("invalid number: no digits after decimal point")
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.pos = i
			d.fail("invalid number: no digits in exponent")
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	d.pos = i
	return true
}

// rawString reads the string at d.pos (which is a '"').
func (d *decoder) rawString() string {
	s := d.s
	start := d.pos + 1
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return s[start:i]
		case c == '\\' || c >= utf8.RuneSelf:
			return d.slowString(start)
		case c < 0x20:
			d.pos = i
			d.fail("invalid control character in string")
			return ""
		}
		i++
	}
	d.pos = i
	d.fail("unterminated string")
	return ""
}

// slowString decodes a string with escapes or non-ASCII text, replacing
// invalid UTF-8 with U+FFFD as encoding/json does.
func (d *decoder) slowString(start int) string {
	s := d.s
	// Fast check: no escapes and valid UTF-8 still needs no copy.
	end := start
	clean := true
	for end < len(s) && s[end] != '"' {
		c := s[end]
		if c == '\\' {
			clean = false
			break
		}
		if c < 0x20 {
			break
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[end:])
			if r == utf8.RuneError && size == 1 {
				clean = false
				break
			}
			end += size
			continue
		}
		end++
	}
	if clean && end < len(s) && s[end] == '"' {
		d.pos = end + 1
		return s[start:end]
	}
	var b []byte
	i := start
	for {
		if i >= len(s) {
			d.pos = i
			d.fail("unterminated string")
			return ""
		}
		c := s[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return string(b)
		case c < 0x20:
			d.pos = i
			d.fail("invalid control character in string")
			return ""
		case c == '\\':
			if i+1 >= len(s) {
				d.pos = i
				d.fail("unterminated string")
				return ""
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					d.pos = i
					d.fail("invalid \\u escape in string")
					return ""
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok2 := rune(-1), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok2 = hex4(s, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok2 && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.pos = i
				d.fail("invalid escape in string")
				return ""
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for j := i; j < i+4; j++ {
		c := s[j]
		switch {
		case c >= '0' && c <= '9':
			r = r*16 + rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r*16 + rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r*16 + rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// rawField is a property this package does not know, kept verbatim.
type rawField struct {
	name string
	raw  string // the value's JSON text
}

// keep stores the current property's value as an unknown field.
func (d *decoder) keep(extra *[]rawField, name string) {
	raw := d.skip(0)
	if d.err != nil {
		return
	}
	for i := range *extra {
		if (*extra)[i].name == name {
			(*extra)[i].raw = raw // the last duplicate wins, as for known fields
			return
		}
	}
	*extra = append(*extra, rawField{name: name, raw: raw})
}

// end checks that nothing but white space follows the document.
func (d *decoder) end() {
	if d.err != nil {
		return
	}
	if d.next() != 0 {
		d.fail("unexpected " + d.describe() + " after the document")
	}
}
