// Package jsontok is daemonflag's one JSON tokenizer: a pull scanner over one
// document that every reader in the module (flag and segment decoding, JSON
// values, evaluation contexts, store item headers) is built on, so there is
// one grammar, one string unescaper and one number scanner.
//
// The grammar is RFC 8259's, checked as encoding/json checks it; invalid
// UTF-8 in strings becomes U+FFFD, as encoding/json does. A string without
// escapes is returned as a substring of the document, so scanning allocates
// only for strings with escapes or invalid UTF-8.
//
// Errors are sticky: after the first one every read returns a zero value and
// loops end, so a reader checks [Scanner.Err] once at the end.
package jsontok

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// MaxNesting bounds the nesting of arrays and objects, as encoding/json does,
// so hostile input cannot exhaust the stack.
const MaxNesting = 10000

// Scanner reads one JSON document. The zero value is not usable; call
// [Scanner.Reset].
type Scanner struct {
	s       string
	pos     int
	problem string
	errPos  int
	errPath string
	failed  bool
	// replaced reports that the last string read held invalid UTF-8.
	replaced bool
	path     [24]pathElem
	depth    int // may exceed len(path); deeper elements are not recorded
}

type pathElem struct {
	name  string
	index int // >= 0 for an array element, -1 for a property
}

// Reset makes the scanner read s from its start.
func (sc *Scanner) Reset(s string) {
	*sc = Scanner{s: s}
}

// Own returns s, copied when it shares memory with the document (a string
// that [Scanner.Str], [Scanner.RawString], [Scanner.Skip], [Scanner.Field]
// or [Scanner.Text] returned as a substring), so that it stays valid when
// the document's memory is reused. Strings the scanner built itself (with
// escapes or replaced bytes) and strings from elsewhere are returned as they
// are. Readers that scan a view of a caller's buffer keep every string they
// retain through Own.
func (sc *Scanner) Own(s string) string {
	if len(s) == 0 || len(sc.s) == 0 {
		return s
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.StringData(sc.s)))
	if p >= lo && p < lo+uintptr(len(sc.s)) {
		return strings.Clone(s)
	}
	return s
}

// Enter notes that the reader is in the value of property name, for the
// path of errors ([Scanner.ErrPath]); Leave undoes it.
func (sc *Scanner) Enter(name string) {
	if sc.depth < len(sc.path) {
		sc.path[sc.depth] = pathElem{name: name, index: -1}
	}
	sc.depth++
}

// EnterIndex notes that the reader is in array element i.
func (sc *Scanner) EnterIndex(i int) {
	if sc.depth < len(sc.path) {
		sc.path[sc.depth] = pathElem{index: i}
	}
	sc.depth++
}

// Leave undoes the last Enter or EnterIndex.
func (sc *Scanner) Leave() { sc.depth-- }

// ErrPath returns the path (as in rules[0].clauses[1].values) that the
// reader had entered when the first error happened.
func (sc *Scanner) ErrPath() string { return sc.errPath }

func (sc *Scanner) pathString() string {
	var b strings.Builder
	n := min(sc.depth, len(sc.path))
	for i := 0; i < n; i++ {
		e := sc.path[i]
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
	if sc.depth > n {
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

// Err returns the first error's description and byte offset; ok is false
// when there was none.
func (sc *Scanner) Err() (problem string, offset int, failed bool) {
	return sc.problem, sc.errPos, sc.failed
}

// Failed reports whether an error was recorded.
func (sc *Scanner) Failed() bool { return sc.failed }

// Replaced reports whether the last string read (a value, or the name
// [Scanner.Field] returned) held bytes that are not UTF-8, which it
// replaced with U+FFFD.
func (sc *Scanner) Replaced() bool { return sc.replaced }

// Pos returns the offset of the next unread byte.
func (sc *Scanner) Pos() int { return sc.pos }

// SetPos moves the scanner to offset i (for error positions).
func (sc *Scanner) SetPos(i int) { sc.pos = i }

// Text returns the document between two offsets.
func (sc *Scanner) Text(from, to int) string { return sc.s[from:to] }

// Fail records problem at the current offset unless an error is recorded
// already.
func (sc *Scanner) Fail(problem string) {
	if sc.failed {
		return
	}
	sc.failed, sc.problem, sc.errPos = true, problem, sc.pos
	if sc.depth > 0 {
		sc.errPath = sc.pathString()
	}
}

func (sc *Scanner) ws() {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// Next skips white space and returns the next byte without consuming it, or
// 0 at the end of the document.
func (sc *Scanner) Next() byte {
	sc.ws()
	if sc.pos >= len(sc.s) {
		return 0
	}
	return sc.s[sc.pos]
}

// Describe names the JSON type of the value starting at the next byte, for
// error messages.
func (sc *Scanner) Describe() string {
	switch c := sc.Next(); {
	case sc.pos >= len(sc.s):
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

// Expected records "expected WHAT, got TYPE".
func (sc *Scanner) Expected(what string) {
	sc.Fail("expected " + what + ", got " + sc.Describe())
}

// Null consumes a null literal if one comes next.
func (sc *Scanner) Null() bool {
	if sc.failed || sc.Next() != 'n' {
		return false
	}
	sc.Literal("null")
	return !sc.failed
}

// Literal consumes word (true, false, null) or records an error.
func (sc *Scanner) Literal(word string) {
	if strings.HasPrefix(sc.s[sc.pos:], word) {
		sc.pos += len(word)
		return
	}
	// Point at the first byte that differs.
	for i := 0; i < len(word) && sc.pos < len(sc.s) && sc.s[sc.pos] == word[i]; i++ {
		sc.pos++
	}
	sc.Fail("invalid literal, expected " + word)
}

// ObjIter walks the properties of an object. NameOff is the offset of the
// current property's name (its opening quote).
type ObjIter struct {
	started, done bool
	NameOff       int
}

// Object starts reading an object; false (with an error recorded) when the
// next value is not one.
func (sc *Scanner) Object(it *ObjIter) bool {
	if sc.failed {
		return false
	}
	if sc.Next() != '{' {
		sc.Expected("an object")
		return false
	}
	sc.pos++
	*it = ObjIter{}
	return true
}

// Field returns the next property name, positioned at its value, or false
// at the end of the object or on error.
func (sc *Scanner) Field(it *ObjIter) (string, bool) {
	if sc.failed || it.done {
		return "", false
	}
	c := sc.Next()
	if !it.started {
		it.started = true
		if c == '}' {
			sc.pos++
			it.done = true
			return "", false
		}
	} else {
		switch c {
		case ',':
			sc.pos++
		case '}':
			sc.pos++
			it.done = true
			return "", false
		default:
			sc.Fail("expected ',' or '}' after object property, got " + sc.Describe())
			return "", false
		}
	}
	if sc.Next() != '"' {
		sc.Fail("expected a property name, got " + sc.Describe())
		return "", false
	}
	it.NameOff = sc.pos
	name := sc.RawString()
	if sc.Next() != ':' {
		sc.Fail("expected ':' after property name, got " + sc.Describe())
		return "", false
	}
	sc.pos++
	sc.ws()
	return name, !sc.failed
}

// ArrIter walks the elements of an array. I is the index of the current
// element.
type ArrIter struct {
	started, done bool
	I             int
}

// Array starts reading an array; false (with an error recorded) when the
// next value is not one.
func (sc *Scanner) Array(it *ArrIter) bool {
	if sc.failed {
		return false
	}
	if sc.Next() != '[' {
		sc.Expected("an array")
		return false
	}
	sc.pos++
	*it = ArrIter{I: -1}
	return true
}

// Elem advances to the next element, or returns false at the end.
func (sc *Scanner) Elem(it *ArrIter) bool {
	if sc.failed || it.done {
		return false
	}
	c := sc.Next()
	if !it.started {
		it.started = true
		if c == ']' {
			sc.pos++
			it.done = true
			return false
		}
	} else {
		switch c {
		case ',':
			sc.pos++
		case ']':
			sc.pos++
			it.done = true
			return false
		default:
			sc.Fail("expected ',' or ']' after array element, got " + sc.Describe())
			return false
		}
	}
	it.I++
	sc.ws()
	return true
}

// Str reads a string; null reads as "".
func (sc *Scanner) Str() string {
	if sc.Null() || sc.failed {
		return ""
	}
	if sc.Next() != '"' {
		sc.Expected("a string")
		return ""
	}
	return sc.RawString()
}

// Bool reads a boolean; null reads as false.
func (sc *Scanner) Bool() bool {
	if sc.Null() || sc.failed {
		return false
	}
	switch sc.Next() {
	case 't':
		sc.Literal("true")
		return true
	case 'f':
		sc.Literal("false")
		return false
	}
	sc.Expected("a boolean")
	return false
}

// NumberText reads a number and returns its text without converting it.
func (sc *Scanner) NumberText() string {
	if sc.failed {
		return ""
	}
	c := sc.Next()
	if c != '-' && (c < '0' || c > '9') {
		sc.Expected("a number")
		return ""
	}
	start := sc.pos
	if !sc.scanNumber() {
		return ""
	}
	return sc.s[start:sc.pos]
}

// Number reads a number.
func (sc *Scanner) Number() float64 {
	text := sc.NumberText()
	if sc.failed {
		return 0
	}
	if f, ok := smallInteger(text); ok {
		return f
	}
	start := sc.pos - len(text)
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		sc.pos = start
		sc.Fail("number " + Clip(text) + " is out of range")
		return 0
	}
	return f
}

// smallInteger converts text, a number the grammar accepted, when it is an
// integer of at most 15 digits (most numbers of flags and segments:
// versions, variation indexes, weights): such a number and every partial
// result of it are below 2^53, so the float64 it builds is exact and equals
// strconv.ParseFloat's, -0 included, at a fraction of its cost. ok is false
// for any other number.
func smallInteger(text string) (f float64, ok bool) {
	digits := text
	if len(digits) > 0 && digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	f = float64(n)
	if len(digits) < len(text) {
		f = -f
	}
	return f, true
}

// Clip shortens long text for error messages.
func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// Skip consumes one value of any type, checking its syntax as json.Valid
// does (a number is checked against the grammar, not converted), and
// returns its text.
func (sc *Scanner) Skip() string { return sc.skip(0) }

func (sc *Scanner) skip(depth int) string {
	if sc.failed {
		return ""
	}
	sc.ws()
	if start := sc.pos; depth+fastNesting < MaxNesting {
		if end, sawString, ok := skipFast(sc.s, start); ok {
			sc.pos = end
			if sawString {
				sc.replaced = false // as the general path leaves it: its strings were ASCII
			}
			return sc.s[start:end]
		}
	}
	return sc.skipGeneral(depth)
}

// skipGeneral is skip without its fast path: token by token, with the exact
// error of an invalid value.
func (sc *Scanner) skipGeneral(depth int) string {
	if sc.failed {
		return ""
	}
	c := sc.Next()
	start := sc.pos
	switch {
	case c == '"':
		sc.RawString()
	case c == 't':
		sc.Literal("true")
	case c == 'f':
		sc.Literal("false")
	case c == 'n':
		sc.Literal("null")
	case c == '-' || c >= '0' && c <= '9':
		sc.NumberText() // the grammar only, as json.Valid checks it
	case c == '[' || c == '{':
		if depth >= MaxNesting {
			sc.Fail("nesting too deep")
			return ""
		}
		if c == '[' {
			var it ArrIter
			sc.Array(&it)
			for sc.Elem(&it) {
				sc.skipGeneral(depth + 1)
			}
		} else {
			var it ObjIter
			sc.Object(&it)
			for _, ok := sc.Field(&it); ok; _, ok = sc.Field(&it) {
				sc.skipGeneral(depth + 1)
			}
		}
	default:
		sc.Expected("a JSON value")
	}
	if sc.failed {
		return ""
	}
	return sc.s[start:sc.pos]
}

// End checks that nothing but white space follows the document.
func (sc *Scanner) End() {
	if sc.failed {
		return
	}
	if sc.ws(); sc.pos < len(sc.s) {
		sc.Fail("unexpected " + sc.Describe() + " after the document")
	}
}

// scanNumber checks the JSON number grammar from the current offset.
func (sc *Scanner) scanNumber() bool {
	end, problem := numberEnd(sc.s, sc.pos)
	sc.pos = end
	if problem != "" {
		sc.Fail(problem)
		return false
	}
	return true
}

// RawString reads the string at the current offset, which must be a '"'.
func (sc *Scanner) RawString() string {
	sc.replaced = false
	s := sc.s
	start := sc.pos + 1
	for i := start; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			sc.pos = i + 1
			return s[start:i]
		case c == '\\' || c >= utf8.RuneSelf:
			return sc.slowString(start)
		case c < 0x20:
			sc.pos = i
			sc.Fail("invalid control character in string")
			return ""
		}
	}
	sc.pos = len(s)
	sc.Fail("unterminated string")
	return ""
}

// slowString decodes a string with escapes or non-ASCII text, replacing
// invalid UTF-8 with U+FFFD as encoding/json does.
func (sc *Scanner) slowString(start int) string {
	s := sc.s
	// Valid UTF-8 without escapes still needs no copy.
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
		sc.pos = end + 1
		return s[start:end]
	}
	var b []byte
	i := start
	for {
		if i >= len(s) {
			sc.pos = i
			sc.Fail("unterminated string")
			return ""
		}
		c := s[i]
		switch {
		case c == '"':
			sc.pos = i + 1
			return string(b)
		case c < 0x20:
			sc.pos = i
			sc.Fail("invalid control character in string")
			return ""
		case c == '\\':
			if i+1 >= len(s) {
				sc.pos = i
				sc.Fail("unterminated string")
				return ""
			}
			if e, ok := simpleEscape(s[i+1]); ok {
				b = append(b, e)
				i += 2
				continue
			}
			if s[i+1] != 'u' {
				sc.pos = i
				sc.Fail("invalid escape in string")
				return ""
			}
			r, ok := hex4(s, i+2)
			if !ok {
				sc.pos = i
				sc.Fail("invalid \\u escape in string")
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
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
				sc.replaced = true
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		}
	}
}

// simpleEscape returns the byte a one-character escape stands for.
func simpleEscape(e byte) (byte, bool) {
	switch e {
	case '"', '\\', '/':
		return e, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
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
