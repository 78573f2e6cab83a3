package evalctx

import (
	"fmt"
	"slices"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Builder assembles a single-kind Context. Its methods return the builder,
// so calls chain:
//
//	c := evalctx.NewBuilder("user-key").Name("Ann").SetString("country", "NZ").Build()
//
// A zero Builder is ready to use (kind "user", no key). A Builder is not safe
// for concurrent use; the contexts it builds are immutable and do not change
// when the builder is used again.
type Builder struct {
	kind          Kind
	key           string
	name          string
	hasName       bool
	anonymous     bool
	attrs         []attr         // in no order until Build sorts them (see builderattrs.go)
	attrIndex     map[string]int // position of each name in attrs, kept once attrs outgrows linearAttrs
	private       []Ref
	shared        bool // attrs and private belong to a built context: copy before writing
	allowEmptyKey bool // the old user JSON format allows an empty key
}

// NewBuilder returns a builder for a context of kind "user" with the given
// key.
func NewBuilder(key string) *Builder {
	return &Builder{key: key}
}

// NewBuilderFromContext returns a builder holding the properties of a
// single context, to build a changed copy. For a multi-kind or invalid
// context it returns an empty builder.
func NewBuilderFromContext(c Context) *Builder {
	b := &Builder{}
	if !c.valid() || len(c.d.multi) != 0 {
		return b
	}
	d := c.d
	b.kind, b.key, b.name, b.hasName, b.anonymous = d.kind, d.key, d.name, d.hasName, d.anonymous
	b.attrs, b.private, b.shared = d.attrs, d.private, true
	b.allowEmptyKey = d.key == ""
	return b
}

// Kind sets the kind. "" means "user". A kind may contain only ASCII
// letters, digits, '.', '_' and '-', and may not be "kind" or "multi";
// Build reports a bad kind through the context's Err.
func (b *Builder) Kind(k Kind) *Builder {
	if b != nil {
		b.kind = k
	}
	return b
}

// Key sets the key, which must not be empty.
func (b *Builder) Key(key string) *Builder {
	if b != nil {
		b.key = key
	}
	return b
}

// Name sets the name attribute.
func (b *Builder) Name(name string) *Builder {
	if b != nil {
		b.name, b.hasName = name, true
	}
	return b
}

// ClearName removes the name attribute.
func (b *Builder) ClearName() *Builder {
	if b != nil {
		b.name, b.hasName = "", false
	}
	return b
}

// Anonymous sets the anonymous attribute (false unless set).
func (b *Builder) Anonymous(anonymous bool) *Builder {
	if b != nil {
		b.anonymous = anonymous
	}
	return b
}

// Set sets an attribute to a JSON value; a null value removes it. The
// built-in attributes keep their types: "kind" and "key" take strings,
// "name" a string or null, "anonymous" a boolean; a value of another type is
// ignored, as is the name "_meta" (reserved by the JSON format). Use TrySet
// to learn whether the value was taken.
func (b *Builder) Set(name string, v jsonvalue.Value) *Builder {
	b.TrySet(name, v)
	return b
}

// TrySet is Set reporting whether the value was taken.
func (b *Builder) TrySet(name string, v jsonvalue.Value) bool {
	if b == nil {
		return false
	}
	switch name {
	case "kind":
		if !v.IsString() {
			return false
		}
		b.kind = Kind(v.Str())
	case "key":
		if !v.IsString() {
			return false
		}
		b.key = v.Str()
	case "name":
		switch {
		case v.IsString():
			b.Name(v.Str())
		case v.IsNull():
			b.ClearName()
		default:
			return false
		}
	case "anonymous":
		if !v.IsBool() {
			return false
		}
		b.anonymous = v.Bool()
	case "_meta":
		return false
	default:
		b.own()
		b.setAttr(name, v)
	}
	return true
}

// SetString sets an attribute to a string (see Set).
func (b *Builder) SetString(name, s string) *Builder { return b.Set(name, jsonvalue.String(s)) }

// SetBool sets an attribute to a boolean (see Set).
func (b *Builder) SetBool(name string, v bool) *Builder { return b.Set(name, jsonvalue.Bool(v)) }

// SetInt sets an attribute to a number (see Set).
func (b *Builder) SetInt(name string, n int) *Builder { return b.Set(name, jsonvalue.Int(n)) }

// SetFloat64 sets an attribute to a number (see Set).
func (b *Builder) SetFloat64(name string, f float64) *Builder {
	return b.Set(name, jsonvalue.Float(f))
}

// Private marks attributes, or values inside them, as private: they are
// never sent anywhere by daemonflag. Each string is an attribute reference
// as NewRef reads it ("email", "/address/street"). Marking is metadata: it
// does not change evaluation.
func (b *Builder) Private(refs ...string) *Builder {
	if b == nil {
		return b
	}
	b.own()
	for _, s := range refs {
		b.private = append(b.private, NewRef(s))
	}
	return b
}

// PrivateRef is Private for references already parsed (for example made
// with NewLiteralRef).
func (b *Builder) PrivateRef(refs ...Ref) *Builder {
	if b == nil {
		return b
	}
	b.own()
	b.private = append(b.private, refs...)
	return b
}

// own gives the builder private copies of data a built context shares.
func (b *Builder) own() {
	if b.shared {
		b.attrs = slices.Clone(b.attrs)
		b.attrIndex = nil                  // rebuilt when needed
		b.private = slices.Clip(b.private) // the next append copies
		b.shared = false
	}
}

// Build returns the context. It never fails outright: an invalid kind or
// an empty key gives a Context whose Err says what is wrong.
func (b *Builder) Build() Context {
	if b == nil {
		return invalid("", fmt.Errorf("%w: Build called on a nil *Builder", ErrUninitialized))
	}
	kind, err := validateKind(b.kind)
	if err != nil {
		return invalid(b.kind, err)
	}
	if b.key == "" && !b.allowEmptyKey {
		return invalid(kind, fmt.Errorf("%w (kind %q)", ErrEmptyKey, kind))
	}
	d := &contextData{
		kind:      commonKind(kind),
		key:       b.key,
		name:      b.name,
		hasName:   b.hasName,
		anonymous: b.anonymous,
		attrs:     b.sortedAttrs(),
		private:   slices.Clip(b.private),
	}
	if len(d.attrs) == 0 {
		d.attrs = nil
	}
	if len(d.private) == 0 {
		d.private = nil
	}
	if kind == DefaultKind {
		d.fqKey = b.key
	} else {
		d.fqKey = string(kind) + ":" + escapeKey(b.key)
	}
	b.shared = true
	return Context{d: d}
}
