package evalctx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Parse reads a context from JSON in any of LaunchDarkly's formats:
//
//   - a single context: an object with a "kind" other than "multi", a
//     "key", optional "name" (string or null) and "anonymous" (boolean),
//     "_meta": {"privateAttributes": [references]}, and any other property
//     as a custom attribute (a null value means the attribute is absent);
//   - a multi-kind context: {"kind": "multi", "<kind>": {single context
//     without "kind"}, ...};
//   - the old user format, recognised by having no "kind" property: see
//     [ParseOldUser] for its rules. It always gives a "user" context and, unlike
//     the other formats, allows an empty key.
//
// Malformed JSON, a property of the wrong type, a missing or empty key, or
// an invalid kind is an error. On error the returned Context is invalid and
// its Err is the same error.
func Parse(data []byte) (Context, error) {
	v, members, err := jsonvalue.ParseMembers(data)
	if err != nil {
		return failed(fmt.Errorf("%w: %w", ErrInvalidJSON, err))
	}
	return fromValue(v, members)
}

func failed(err error) (Context, error) {
	return invalid("", err), err
}

// FromValue reads a context from an already parsed JSON value, as Parse
// does. A Value does not keep the order of an object's properties, which
// matters in the old user format (see [ParseOldUser]); FromValue reads such
// a user as if its properties came in name order, the order in which
// encoding/json writes a map (so "country" and "avatar" come before
// "custom", "email", "firstName", "ip" and "lastName" after it).
func FromValue(v jsonvalue.Value) (Context, error) {
	return fromValue(v, nil)
}

// fromValue reads a context from v, whose properties in document order are
// members; members may be nil, and then an old-format user is read in name
// order.
func fromValue(v jsonvalue.Value, members []jsonvalue.Member) (Context, error) {
	if !v.IsObject() {
		return failed(fmt.Errorf("%w: a context must be a JSON object, not %s", ErrInvalidJSON, v.Type()))
	}
	kv, hasKind := v.Get("kind")
	if !hasKind {
		if members == nil {
			for name, x := range v.Entries() {
				members = append(members, jsonvalue.Member{Name: name, Value: x})
			}
			slices.SortFunc(members, func(a, b jsonvalue.Member) int { return strings.Compare(a.Name, b.Name) })
		}
		return oldUser(members)
	}
	if !kv.IsString() {
		return failed(typeError("kind", "a string", kv))
	}
	switch kind := Kind(kv.Str()); kind {
	case "":
		return failed(fmt.Errorf("%w \"\": \"kind\" must not be empty in context JSON", ErrInvalidKind))
	case MultiKind:
		return parseMulti(v)
	default:
		return parseSingle(v, "")
	}
}

func typeError(prop, want string, got jsonvalue.Value) error {
	return fmt.Errorf("%w: %q must be %s, not %s", ErrInvalidJSON, prop, want, got.Type())
}

func parseMulti(v jsonvalue.Value) (Context, error) {
	var m MultiBuilder
	for _, name := range v.Keys() { // sorted, so the first error reported is stable
		if name == "kind" {
			continue
		}
		sub, _ := v.Get(name)
		if !sub.IsObject() {
			return failed(fmt.Errorf("%w: multi-kind context property %q must be an object, not %s",
				ErrInvalidJSON, name, sub.Type()))
		}
		c, err := parseSingle(sub, Kind(name))
		if err != nil {
			return failed(fmt.Errorf("in multi-kind context property %q: %w", name, err))
		}
		m.Add(c)
	}
	if len(m.contexts) == 0 {
		return failed(ErrNoContexts)
	}
	c := m.Build()
	return c, c.Err()
}

// parseSingle reads the current single-context format. kind is the
// property name when the object sits inside a multi-kind context.
func parseSingle(v jsonvalue.Value, kind Kind) (Context, error) {
	b := Builder{kind: kind}
	hasKey := false
	for name, p := range v.Entries() {
		switch name {
		case "kind":
			if !p.IsString() {
				return failed(typeError("kind", "a string", p))
			}
			if kind != "" && Kind(p.Str()) != kind {
				return failed(fmt.Errorf("%w %q: it differs from its multi-kind property name %q",
					ErrInvalidKind, p.Str(), kind))
			}
			b.kind = Kind(p.Str())
		case "key":
			if !p.IsString() {
				return failed(typeError("key", "a string", p))
			}
			b.key, hasKey = p.Str(), true
		case "name":
			if !p.IsString() && !p.IsNull() {
				return failed(typeError("name", "a string or null", p))
			}
			b.TrySet("name", p)
		case "anonymous":
			if !p.IsBool() {
				return failed(typeError("anonymous", "a boolean", p))
			}
			b.anonymous = p.Bool()
		case "_meta":
			if err := parseMeta(&b, p); err != nil {
				return failed(err)
			}
		default:
			b.TrySet(name, p)
		}
	}
	if !hasKey {
		return failed(ErrMissingKey)
	}
	c := b.Build()
	return c, c.Err()
}

func parseMeta(b *Builder, meta jsonvalue.Value) error {
	if meta.IsNull() {
		return nil
	}
	if !meta.IsObject() {
		return typeError("_meta", "an object or null", meta)
	}
	// Other _meta properties (such as "redactedAttributes" in events) are ignored.
	refs, _ := meta.Get("privateAttributes")
	return parsePrivate(b, "_meta.privateAttributes", refs, NewRef)
}

func parsePrivate(b *Builder, prop string, refs jsonvalue.Value, mk func(string) Ref) error {
	if refs.IsNull() {
		return nil
	}
	if !refs.IsArray() {
		return typeError(prop, "an array of strings or null", refs)
	}
	for i, r := range refs.Elements() {
		if !r.IsString() {
			return typeError(fmt.Sprintf("%s[%d]", prop, i), "a string", r)
		}
		b.private = append(b.private, mk(r.Str()))
	}
	return nil
}

// UnmarshalJSON implements json.Unmarshaler with Parse. On error *c becomes
// an invalid Context holding the error.
func (c *Context) UnmarshalJSON(data []byte) error {
	ctx, err := Parse(data)
	*c = ctx
	return err
}

// MarshalJSON writes the context in LaunchDarkly's current JSON format: a
// single context as {"kind", "key", "name" (when set), "anonymous" (when
// true), custom attributes in name order, "_meta": {"privateAttributes"}
// (when any)}; a multi-kind context as {"kind": "multi", "<kind>": {...}}
// in kind order. A "user" context with an empty key, which only the old user
// format can express, is written in the old user format so that Parse reads
// it back. An invalid context is an error.
func (c Context) MarshalJSON() ([]byte, error) {
	return c.AppendJSON(nil)
}

// AppendJSON appends the JSON MarshalJSON writes to dst.
func (c Context) AppendJSON(dst []byte) ([]byte, error) {
	if err := c.Err(); err != nil {
		return nil, fmt.Errorf("cannot encode an invalid context: %w", err)
	}
	d := c.d
	if len(d.multi) != 0 {
		dst = append(dst, `{"kind":"multi"`...)
		for _, ic := range d.multi {
			if ic.d.key == "" {
				return nil, fmt.Errorf("%w: the %q context of a multi-kind context has none, which JSON cannot express",
					ErrEmptyKey, ic.d.kind)
			}
			dst = append(dst, ',')
			dst = jsonvalue.String(string(ic.d.kind)).AppendJSON(dst)
			dst = append(dst, ':')
			dst = appendSingle(dst, ic.d, false)
		}
		return append(dst, '}'), nil
	}
	if d.key == "" {
		return appendOldUser(dst, d), nil
	}
	return appendSingle(dst, d, true), nil
}

func appendSingle(dst []byte, d *contextData, withKind bool) []byte {
	dst = append(dst, '{')
	if withKind {
		dst = append(dst, `"kind":`...)
		dst = jsonvalue.String(string(d.kind)).AppendJSON(dst)
		dst = append(dst, ',')
	}
	dst = append(dst, `"key":`...)
	dst = jsonvalue.String(d.key).AppendJSON(dst)
	if d.hasName {
		dst = append(dst, `,"name":`...)
		dst = jsonvalue.String(d.name).AppendJSON(dst)
	}
	if d.anonymous {
		dst = append(dst, `,"anonymous":true`...)
	}
	dst = appendAttrs(dst, d.attrs, true)
	if len(d.private) != 0 {
		dst = append(dst, `,"_meta":{"privateAttributes":[`...)
		for i, r := range d.private {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonvalue.String(r.raw).AppendJSON(dst)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, '}')
}

// appendAttrs writes attributes in name order, each preceded by a comma
// when leadingComma is set (else between them).
func appendAttrs(dst []byte, attrs []attr, leadingComma bool) []byte {
	for i, a := range attrs {
		if leadingComma || i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonvalue.String(a.name).AppendJSON(dst)
		dst = append(dst, ':')
		dst = a.value.AppendJSON(dst)
	}
	return dst
}
