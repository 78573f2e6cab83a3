package evalctx

import (
	"fmt"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// oldUserStrings are the optional string attributes the old user format
// keeps at the top level.
var oldUserStrings = [...]string{"firstName", "lastName", "email", "country", "avatar", "ip"}

// ParseOldUser reads a user in the JSON format of LaunchDarkly's older SDKs
// (an object without "kind") as a "user" context:
//
//   - "key" (a string, required, may be empty), "name" (string or null),
//     "anonymous" (boolean or null);
//   - "firstName", "lastName", "email", "country", "avatar", "ip" (string or
//     null) become attributes of those names;
//   - "custom" (object or null) holds further attributes; entries named
//     kind, key, name, anonymous or _meta are ignored, and a top-level
//     attribute above wins over a custom one of the same name;
//   - "privateAttributeNames" (array of strings or null) marks attributes
//     private by literal name (no path syntax);
//   - "secondary" (string or null) is accepted and ignored, as are unknown
//     top-level properties.
//
// Parse calls it for JSON without "kind"; it is exported for callers that
// know they hold old-format data (it rejects a "kind" property).
func ParseOldUser(data []byte) (Context, error) {
	v, err := jsonvalue.Parse(data)
	if err != nil {
		return failed(fmt.Errorf("%w: %w", ErrInvalidJSON, err))
	}
	if !v.IsObject() {
		return failed(fmt.Errorf("%w: a user must be a JSON object, not %s", ErrInvalidJSON, v.Type()))
	}
	if _, ok := v.Get("kind"); ok {
		return failed(fmt.Errorf("%w: the old user format has no \"kind\" property", ErrInvalidJSON))
	}
	return parseOldUser(v)
}

func parseOldUser(v jsonvalue.Value) (Context, error) {
	b := Builder{allowEmptyKey: true}
	key, ok := v.Get("key")
	if !ok {
		return failed(ErrMissingKey)
	}
	if !key.IsString() {
		return failed(typeError("key", "a string", key))
	}
	b.key = key.Str()
	if name, ok := v.Get("name"); ok {
		if !name.IsString() && !name.IsNull() {
			return failed(typeError("name", "a string or null", name))
		}
		b.TrySet("name", name)
	}
	if sec, ok := v.Get("secondary"); ok && !sec.IsString() && !sec.IsNull() {
		return failed(typeError("secondary", "a string or null", sec))
	}
	if anon, ok := v.Get("anonymous"); ok {
		if !anon.IsBool() && !anon.IsNull() {
			return failed(typeError("anonymous", "a boolean or null", anon))
		}
		b.anonymous = anon.Bool()
	}
	if custom, ok := v.Get("custom"); ok {
		if !custom.IsObject() && !custom.IsNull() {
			return failed(typeError("custom", "an object or null", custom))
		}
		for name, val := range custom.Entries() {
			switch name {
			case "kind", "key", "name", "anonymous", "_meta":
				// A custom attribute cannot stand in for a built-in one.
			default:
				b.TrySet(name, val)
			}
		}
	}
	for _, name := range oldUserStrings {
		s, ok := v.Get(name)
		if !ok || s.IsNull() {
			continue
		}
		if !s.IsString() {
			return failed(typeError(name, "a string or null", s))
		}
		b.TrySet(name, s)
	}
	if refs, ok := v.Get("privateAttributeNames"); ok {
		if err := parsePrivate(&b, "privateAttributeNames", refs, NewLiteralRef); err != nil {
			return failed(err)
		}
	}
	c := b.Build()
	return c, c.Err()
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
			if r.err == nil && len(r.rest) == 0 {
				name = r.first
			}
			dst = jsonvalue.String(name).AppendJSON(dst)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}
