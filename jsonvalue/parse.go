package jsonvalue

import (
	"fmt"

	"github.com/daemonflag/daemonflag/internal/jsontok"
)

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
// range of float64 are an error, and so is nesting deeper than 10,000.
//
// Strings in the result share one copy of data, so data may be changed
// afterwards.
func Parse(data []byte) (Value, error) {
	var sc jsontok.Scanner
	sc.Reset(string(data))
	v := Read(&sc)
	sc.End()
	if problem, off, failed := sc.Err(); failed {
		return Value{}, &SyntaxError{Offset: int64(off), msg: problem}
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

// Read reads the JSON value at the scanner's position, for the module's
// decoders that hold a value inside a larger document (a flag's variations,
// a context's attributes), so that document is parsed once. On a syntax
// error it returns null and the error is the scanner's.
func Read(sc *jsontok.Scanner) Value { return read(sc, 0, false) }

// ReadOwned is [Read] for a scanner over a view of memory its owner may
// reuse: every string and property name of the result is its own copy
// ([jsontok.Scanner.Own]), so the value shares nothing with the document.
func ReadOwned(sc *jsontok.Scanner) Value { return read(sc, 0, true) }

func read(sc *jsontok.Scanner, depth int, own bool) Value {
	if sc.Failed() {
		return Value{}
	}
	switch c := sc.Next(); {
	case c == '"':
		s := sc.RawString()
		if own {
			s = sc.Own(s)
		}
		return mkString(s)
	case c == 't' || c == 'f':
		return Bool(sc.Bool())
	case c == 'n':
		sc.Literal("null")
		return Value{}
	case c == '-' || c >= '0' && c <= '9':
		return mkNumber(sc.Number())
	case c == '[' || c == '{':
		if depth >= jsontok.MaxNesting {
			sc.Fail("nesting too deep")
			return Value{}
		}
		if c == '[' {
			var it jsontok.ArrIter
			sc.Array(&it)
			var arr []Value
			for sc.Elem(&it) {
				arr = append(arr, read(sc, depth+1, own))
			}
			if sc.Failed() {
				return Value{}
			}
			return mkArray(arr)
		}
		var it jsontok.ObjIter
		sc.Object(&it)
		var obj map[string]Value
		for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
			v := read(sc, depth+1, own)
			if obj == nil {
				obj = make(map[string]Value)
			}
			if own {
				name = sc.Own(name)
			}
			obj[name] = v // a repeated key keeps the last value, as encoding/json does
		}
		if sc.Failed() {
			return Value{}
		}
		return mkObject(obj)
	}
	sc.Expected("a JSON value")
	return Value{}
}

// Member is one property of a JSON object, as [ParseMembers] returns it.
type Member struct {
	Name  string
	Value Value
}

// ParseMembers parses data as [Parse] does and, when it is an object, also
// returns its properties in document order, duplicates included (v keeps the
// last value of each name, as encoding/json does). Readers whose rules
// depend on the order of properties (LaunchDarkly's old user format) use it
// to parse the document once.
func ParseMembers(data []byte) (v Value, members []Member, err error) {
	var sc jsontok.Scanner
	sc.Reset(string(data))
	if sc.Next() != '{' {
		v, err = Parse(data)
		return v, nil, err
	}
	var it jsontok.ObjIter
	sc.Object(&it)
	var obj map[string]Value
	for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
		x := read(&sc, 1, false)
		if obj == nil {
			obj = make(map[string]Value)
		}
		obj[name] = x
		members = append(members, Member{Name: name, Value: x})
	}
	sc.End()
	if problem, off, failed := sc.Err(); failed {
		return Value{}, nil, &SyntaxError{Offset: int64(off), msg: problem}
	}
	return mkObject(obj), members, nil
}
