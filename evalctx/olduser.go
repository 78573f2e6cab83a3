package evalctx

import (
	"fmt"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// oldUserStrings are the optional string attributes the old user format
// keeps at the top level.
var oldUserStrings = [...]string{"firstName", "lastName", "email", "country", "avatar", "ip"}

// ParseOldUser reads a user in the JSON format of LaunchDarkly's older SDKs
// (an object without "kind") as a "user" context. It reads the properties in
// the order the document has them, as LaunchDarkly's Go SDK does, so when a
// property occurs more than once, or an attribute is set both at the top
// level and in "custom", the later one wins (with the exceptions below):
//
//   - "key" (a string, required, may be empty), "name" (string or null; null
//     removes a name given earlier), "anonymous" (boolean or null; null means
//     false);
//   - "firstName", "lastName", "email", "country", "avatar", "ip" (string or
//     null) set the attribute of that name, replacing a value "custom" gave
//     it earlier; null leaves the attribute as it is;
//   - "custom" (object or null) sets further attributes, replacing values
//     set earlier (by the top-level properties above, or by an earlier
//     "custom"); a null entry removes the attribute; entries named kind, key,
//     name, anonymous or _meta, and the empty name, are ignored;
//   - "privateAttributeNames" (array of strings or null) marks attributes
//     private by literal name (no path syntax); each occurrence adds to the
//     list;
//   - "secondary" (string or null) is accepted and ignored, as are unknown
//     top-level properties.
//
// The first property of the wrong type, in document order, is the error.
// Parse calls it for JSON without "kind"; it is exported for callers that
// know they hold old-format data (it rejects a "kind" property).
func ParseOldUser(data []byte) (Context, error) {
	v, members, err := jsonvalue.ParseMembers(data)
	if err != nil {
		return failed(fmt.Errorf("%w: %w", ErrInvalidJSON, err))
	}
	if !v.IsObject() {
		return failed(fmt.Errorf("%w: a user must be a JSON object, not %s", ErrInvalidJSON, v.Type()))
	}
	if _, ok := v.Get("kind"); ok {
		return failed(fmt.Errorf("%w: the old user format has no \"kind\" property", ErrInvalidJSON))
	}
	return oldUser(members)
}

// oldUser reads an old-format user from the properties of a JSON object in
// document order.
func oldUser(members []jsonvalue.Member) (Context, error) {
	b := Builder{allowEmptyKey: true}
	hasKey := false
	for _, m := range members {
		if err := oldUserProperty(&b, &hasKey, m.Name, m.Value); err != nil {
			return failed(err)
		}
	}
	if !hasKey {
		return failed(ErrMissingKey)
	}
	c := b.Build()
	return c, c.Err()
}

// oldUserProperty applies one property of an old-format user to b.
func oldUserProperty(b *Builder, hasKey *bool, prop string, v jsonvalue.Value) error {
	switch prop {
	case "key":
		if !v.IsString() {
			return typeError("key", "a string", v)
		}
		b.key, *hasKey = v.Str(), true
	case "name":
		if !v.IsString() && !v.IsNull() {
			return typeError("name", "a string or null", v)
		}
		b.TrySet("name", v)
	case "secondary":
		if !v.IsString() && !v.IsNull() {
			return typeError("secondary", "a string or null", v)
		}
	case "anonymous":
		if !v.IsBool() && !v.IsNull() {
			return typeError("anonymous", "a boolean or null", v)
		}
		b.anonymous = v.Bool()
	case "custom":
		if !v.IsObject() && !v.IsNull() {
			return typeError("custom", "an object or null", v)
		}
		// Within one object only the last entry of a name counts, and
		// jsonvalue keeps exactly that one, so the order of the entries
		// does not matter here.
		for name, val := range v.Entries() {
			switch name {
			case "kind", "key", "name", "anonymous", "_meta", "":
				// A custom attribute cannot stand in for a built-in one;
				// LaunchDarkly also drops the empty name.
			default:
				b.TrySet(name, val)
			}
		}
	case "privateAttributeNames":
		return parsePrivate(b, "privateAttributeNames", v, NewLiteralRef)
	case "firstName", "lastName", "email", "country", "avatar", "ip":
		if v.IsNull() {
			return nil
		}
		if !v.IsString() {
			return typeError(prop, "a string or null", v)
		}
		b.TrySet(prop, v)
	}
	// Unknown properties are ignored, whatever their value.
	return nil
}

// appendOldUser writes a user context in the old user format; MarshalJSON
// uses it only for an empty key, which the current format forbids.
func appendOldUser(dst []byte, d *contextData) []byte {
	dst = append(dst, `{"key":`...)
	dst = jsonvalue.String(d.key).AppendJSON(dst)
	if d.hasName {
		dst = append(dst, `,"name":`...)
		dst = jsonvalue.String(d.name).AppendJSON(dst)
	}
	if d.anonymous {
		dst = append(dst, `,"anonymous":true`...)
	}
	if len(d.attrs) != 0 {
		dst = append(dst, `,"custom":{`...)
		dst = appendAttrs(dst, d.attrs, false)
		dst = append(dst, '}')
	}
	if len(d.private) != 0 {
		dst = append(dst, `,"privateAttributeNames":[`...)
		for i, r := range d.private {
			if i > 0 {
				dst = append(dst, ',')
			}
			// The old format names private attributes literally; a path
			// reference (possible only through NewBuilderFromContext) keeps
			// its string form and reads back as a literal name.
			name := r.raw
			if r.invalid() == nil && len(r.path()) == 0 {
				name = r.first
			}
			dst = jsonvalue.String(name).AppendJSON(dst)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}
