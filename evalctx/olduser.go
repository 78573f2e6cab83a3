package evalctx

import (
	"bytes"
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
	return parseOldUser(data)
}

// parseOldUser reads an old-format user from data, a JSON object that
// jsonvalue.Parse has accepted, property by property in document order.
func parseOldUser(data []byte) (Context, error) {
	b := Builder{allowEmptyKey: true}
	hasKey := false
	err := eachMember(data, func(rawName, raw []byte) error {
		prop := oldUserProperty(rawName)
		if prop == "" {
			return nil // unknown properties are ignored, whatever their value
		}
		v, err := jsonvalue.Parse(raw)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidJSON, err)
		}
		switch prop {
		case "key":
			if !v.IsString() {
				return typeError("key", "a string", v)
			}
			b.key, hasKey = v.Str(), true
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
			// jsonvalue keeps exactly that one, so the order of the
			// entries does not matter here.
			for name, val := range v.Entries() {
				switch name {
				case "kind", "key", "name", "anonymous", "_meta", "":
					// A custom attribute cannot stand in for a built-in
					// one; LaunchDarkly also drops the empty name.
				default:
					b.TrySet(name, val)
				}
			}
		case "privateAttributeNames":
			return parsePrivate(&b, "privateAttributeNames", v, NewLiteralRef)
		default: // one of oldUserStrings
			if v.IsNull() {
				return nil
			}
			if !v.IsString() {
				return typeError(prop, "a string or null", v)
			}
			b.TrySet(prop, v)
		}
		return nil
	})
	if err != nil {
		return failed(err)
	}
	if !hasKey {
		return failed(ErrMissingKey)
	}
	c := b.Build()
	return c, c.Err()
}

// oldUserProperty returns the property of the old user format that the
// JSON string rawName (with its quotes) names, or "" for any other name.
func oldUserProperty(rawName []byte) string {
	name := rawName[1 : len(rawName)-1]
	if bytes.IndexByte(name, '\\') >= 0 {
		v, err := jsonvalue.Parse(rawName)
		if err != nil {
			return ""
		}
		name = []byte(v.Str())
	}
	switch string(name) {
	case "key":
		return "key"
	case "name":
		return "name"
	case "secondary":
		return "secondary"
	case "anonymous":
		return "anonymous"
	case "custom":
		return "custom"
	case "privateAttributeNames":
		return "privateAttributeNames"
	}
	for _, s := range oldUserStrings {
		if string(name) == s {
			return s
		}
	}
	return ""
}

// errScan reports JSON the member scanner cannot follow; it does not happen
// for input jsonvalue.Parse accepted.
var errScan = fmt.Errorf("%w: unexpected structure", ErrInvalidJSON)

// eachMember calls fn with the name (a JSON string, quotes included) and the
// raw value of each property of the JSON object in data, in document order,
// and stops at the first error fn returns. data must be well-formed JSON
// (jsonvalue.Parse accepted it); the scanner only finds where each token
// ends, and reports errScan rather than panicking if data is not.
func eachMember(data []byte, fn func(name, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return errScan
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return nil
	}
	for {
		end := skipString(data, i)
		if end < 0 {
			return errScan
		}
		name := data[i:end]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return errScan
		}
		start := skipSpace(data, i+1)
		end = skipValue(data, start)
		if end < 0 {
			return errScan
		}
		if err := fn(name, data[start:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return errScan
		}
		switch data[i] {
		case '}':
			return nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return errScan
		}
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipString returns the index just past the JSON string starting at
// data[i], or -1.
func skipString(data []byte, i int) int {
	if i >= len(data) || data[i] != '"' {
		return -1
	}
	for i++; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++ // the escaped character (for \u, the hex digits are plain characters)
		case '"':
			return i + 1
		}
	}
	return -1
}

// skipValue returns the index just past the JSON value starting at data[i],
// or -1.
func skipValue(data []byte, i int) int {
	if i >= len(data) {
		return -1
	}
	switch data[i] {
	case '"':
		return skipString(data, i)
	case '{', '[':
		depth := 0
		for i < len(data) {
			switch data[i] {
			case '"':
				i = skipString(data, i)
				if i < 0 {
					return -1
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return -1
	}
	// A number, true, false or null: up to the next delimiter.
	start := i
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if i == start {
				return -1
			}
			return i
		}
		i++
	}
	if i == start {
		return -1
	}
	return i
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
