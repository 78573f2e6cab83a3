package evalctx

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Ref is a parsed attribute reference: the name of a context attribute, or a
// path to a value inside a JSON-object attribute.
//
// The string form is LaunchDarkly's: a string not starting with '/' is an
// attribute name taken literally ("a/b" is the attribute named "a/b"); a
// string starting with '/' is a path of '/'-separated components, the first
// an attribute name and the rest property names in nested objects, with "~1"
// standing for '/' and "~0" for '~' inside a component ("/a~1b" is again the
// attribute named "a/b"). Paths never index into arrays.
//
// A Ref is parsed once, when it is made, so looking it up in a context does
// no parsing. The zero Ref is invalid. Refs are immutable and comparable
// with [Ref.Equal].
//
// A Ref is five words: a flag holds one per clause and rollout, so an
// attribute name (the common case) is kept without a separate allocation,
// and a path's further components or an error are behind one pointer.
type Ref struct {
	_     [0]func() // not comparable with ==: use [Ref.Equal]
	first string    // component 0; "" exactly when the Ref is invalid (first: lookups read it)
	raw   string
	x     *refExtra // nil for an attribute name and for the zero Ref
}

// refExtra is the part of a Ref that most do not need.
type refExtra struct {
	err  error    // why the reference is invalid
	rest []string // components 1..n-1 of a path
}

// invalid returns the error of a Ref made invalid by its string.
func (r Ref) invalid() error {
	if r.x == nil {
		return nil
	}
	return r.x.err
}

// path returns components 1..n-1 (nil for a depth of 1).
func (r Ref) path() []string {
	if r.x == nil {
		return nil
	}
	return r.x.rest
}

func invalidRef(raw string, err error) Ref { return Ref{raw: raw, x: &refExtra{err: err}} }

// NewRef parses an attribute reference. An invalid reference ("", "/", a
// path with an empty component such as "//" or "/a/", or a '~' not followed
// by '0' or '1' in a path) still keeps its string, but its Err is non-nil.
func NewRef(s string) Ref {
	if s == "" || s == "/" {
		return invalidRef(s, fmt.Errorf("%w %q: it is empty", ErrInvalidRef, s))
	}
	if s[0] != '/' {
		return Ref{raw: s, first: s}
	}
	r := Ref{raw: s}
	path := s[1:]
	var rest []string
	if n := strings.Count(path, "/"); n > 0 {
		rest = make([]string, 0, n)
	}
	for i := 0; ; i++ {
		comp, tail, more := strings.Cut(path, "/")
		if comp == "" {
			return invalidRef(s, fmt.Errorf("%w %q: it has an empty path component", ErrInvalidRef, s))
		}
		name, ok := unescapeComponent(comp)
		if !ok {
			return invalidRef(s, fmt.Errorf("%w %q: '~' must be followed by '0' or '1'", ErrInvalidRef, s))
		}
		if i == 0 {
			r.first = name
		} else {
			rest = append(rest, name)
		}
		if !more {
			if rest != nil {
				r.x = &refExtra{rest: rest}
			}
			return r
		}
		path = tail
	}
}

// NewLiteralRef returns a reference to the attribute named exactly name,
// with no path parsing: NewLiteralRef("/a") is the attribute named "/a".
// Its String form is one that NewRef parses back to the same attribute:
// name itself, or "/" followed by name with '~' and '/' escaped when name
// starts with '/'. Only an empty name is invalid.
func NewLiteralRef(name string) Ref {
	if name == "" {
		return invalidRef("", fmt.Errorf("%w %q: it is empty", ErrInvalidRef, name))
	}
	if name[0] != '/' {
		return Ref{raw: name, first: name}
	}
	escaped := "/" + strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
	return Ref{raw: escaped, first: name}
}

// unescapeComponent turns "~1" into '/' and "~0" into '~'; any other '~'
// makes the component invalid.
func unescapeComponent(s string) (string, bool) {
	if strings.IndexByte(s, '~') < 0 {
		return s, true
	}
	var sb strings.Builder
	sb.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '~' {
			sb.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '0':
			sb.WriteByte('~')
		case '1':
			sb.WriteByte('/')
		default:
			return "", false
		}
	}
	return sb.String(), true
}

// Err returns nil for a valid reference, or an error wrapping ErrInvalidRef
// that says what is wrong.
func (r Ref) Err() error {
	if r.first != "" {
		return nil
	}
	if err := r.invalid(); err != nil {
		return err
	}
	return fmt.Errorf("%w: uninitialized reference", ErrInvalidRef)
}

// Depth returns the number of path components: 1 for an attribute name, 2
// for "/a/b", and 0 for an invalid reference.
func (r Ref) Depth() int {
	if r.first == "" {
		return 0
	}
	return 1 + len(r.path())
}

// Component returns path component i (unescaped), or "" when i is out of
// range. Component(0) is the attribute name.
func (r Ref) Component(i int) string {
	if i == 0 {
		return r.first // "" when invalid
	}
	rest := r.path()
	if i < 0 || i > len(rest) {
		return ""
	}
	return rest[i-1]
}

// String returns the reference in the syntax NewRef reads: the original
// string for NewRef, the escaped form described there for NewLiteralRef.
func (r Ref) String() string { return r.raw }

// Equal reports whether r and o are the same reference, written the same
// way.
func (r Ref) Equal(o Ref) bool {
	return r.raw == o.raw && r.first == o.first && (r.invalid() == nil) == (o.invalid() == nil)
}

// MarshalJSON writes the reference as a JSON string (its String form), or
// null for the zero Ref.
func (r Ref) MarshalJSON() ([]byte, error) {
	if r.raw == "" && r.invalid() == nil {
		return []byte("null"), nil
	}
	return json.Marshal(r.raw)
}

// UnmarshalJSON reads a reference from a JSON string with NewRef, or the
// zero Ref from null. An unparsable reference string is not a JSON error:
// the Ref keeps it and reports it through Err, so one bad reference does not
// stop a whole document from loading.
func (r *Ref) UnmarshalJSON(data []byte) error {
	var s *string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: attribute reference must be a string: %v", ErrInvalidRef, err)
	}
	if s == nil {
		*r = Ref{}
		return nil
	}
	*r = NewRef(*s)
	return nil
}
