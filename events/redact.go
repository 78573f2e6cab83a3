package events

import (
	"maps"
	"slices"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// redactor writes contexts in LaunchDarkly's event format (the JSON context
// format without "_meta.privateAttributes"), removing private attributes
// and listing what it removed in "_meta.redactedAttributes", as
// LaunchDarkly's event context formatter does:
//
//   - the private references are the global ones plus the context's own;
//     a reference "/a/b" removes only property b of the object attribute a,
//     and is listed only when that property exists;
//   - kind, key and anonymous are never removed; "name" can be;
//   - with all attributes private (globally, or for an anonymous context in
//     a feature, custom or migration_op event) every other attribute is removed and listed
//     by name;
//   - a multi-kind context is redacted per kind.
type redactor struct {
	all     bool
	private []evalctx.Ref
}

// appendContext appends ec's event JSON to dst. ec must be valid;
// anonymousPrivate makes an anonymous individual context all-private (feature,
// custom and migration_op events).
func (r *redactor) appendContext(dst []byte, ec evalctx.Context, anonymousPrivate bool) []byte {
	if !ec.Multiple() {
		return r.appendSingle(dst, ec, true, anonymousPrivate)
	}
	dst = append(dst, `{"kind":"multi"`...)
	for i := range ec.IndividualContextCount() {
		ic := ec.IndividualContextByIndex(i)
		dst = append(dst, ',')
		dst = jsonvalue.String(string(ic.Kind())).AppendJSON(dst)
		dst = append(dst, ':')
		dst = r.appendSingle(dst, ic, false, anonymousPrivate)
	}
	return append(dst, '}')
}

func (r *redactor) appendSingle(dst []byte, c evalctx.Context, withKind, anonymousPrivate bool) []byte {
	dst = append(dst, '{')
	if withKind {
		dst = append(dst, `"kind":`...)
		dst = jsonvalue.String(string(c.Kind())).AppendJSON(dst)
		dst = append(dst, ',')
	}
	dst = append(dst, `"key":`...)
	dst = jsonvalue.String(c.Key()).AppendJSON(dst)
	if c.Anonymous() {
		dst = append(dst, `,"anonymous":true`...)
	}
	all := r.all || (anonymousPrivate && c.Anonymous())
	var redacted []string
	attr := func(name string, v jsonvalue.Value) {
		if all {
			redacted = append(redacted, escapeLiteral(name))
			return
		}
		v, keep := r.redactAttribute(c, name, v, &redacted)
		if keep {
			dst = append(dst, ',')
			dst = jsonvalue.String(name).AppendJSON(dst)
			dst = append(dst, ':')
			dst = v.AppendJSON(dst)
		}
	}
	if name, ok := c.Name(); ok {
		attr("name", jsonvalue.String(name))
	}
	for _, name := range c.CustomAttributeNames() {
		v, _ := c.GetValue(name)
		attr(name, v)
	}
	if len(redacted) > 0 {
		dst = append(dst, `,"_meta":{"redactedAttributes":[`...)
		for i, s := range redacted {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonvalue.String(s).AppendJSON(dst)
		}
		dst = append(dst, "]}"...)
	}
	return append(dst, '}')
}

// escapeLiteral writes an attribute name as a reference that names it: the
// name itself, unless it starts with '/' (then a one-component path).
func escapeLiteral(name string) string {
	if name == "" || name[0] != '/' {
		return name
	}
	b := make([]byte, 0, len(name)+4)
	b = append(b, '/')
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '~':
			b = append(b, "~0"...)
		case '/':
			b = append(b, "~1"...)
		default:
			b = append(b, name[i])
		}
	}
	return string(b)
}

// redactAttribute applies the private references that start at attribute
// name; keep is false when the whole attribute is private.
func (r *redactor) redactAttribute(c evalctx.Context, name string, v jsonvalue.Value, redacted *[]string) (jsonvalue.Value, bool) {
	var nested []evalctx.Ref
	visit := func(ref evalctx.Ref) bool {
		if ref.Err() != nil || ref.Component(0) != name {
			return true
		}
		if ref.Depth() == 1 {
			addRedacted(redacted, ref.String())
			return false
		}
		nested = append(nested, ref)
		return true
	}
	for _, ref := range r.private {
		if !visit(ref) {
			return v, false
		}
	}
	for i := range c.PrivateAttributeCount() {
		ref, _ := c.PrivateAttributeByIndex(i)
		if !visit(ref) {
			return v, false
		}
	}
	if len(nested) == 0 {
		return v, true
	}
	return redactNested(v, nested, 1, redacted), true
}

// redactNested removes from object v the properties the references name
// at component depth (each reference is deeper than depth).
func redactNested(v jsonvalue.Value, refs []evalctx.Ref, depth int, redacted *[]string) jsonvalue.Value {
	if !v.IsObject() {
		return v
	}
	var m map[string]jsonvalue.Value // copy on first change
	get := func(k string) (jsonvalue.Value, bool) {
		if m != nil {
			w, ok := m[k]
			return w, ok
		}
		return v.Get(k)
	}
	own := func() {
		if m == nil {
			m = make(map[string]jsonvalue.Value, v.Len())
			for k, w := range v.Entries() {
				m[k] = w
			}
		}
	}
	var deeper map[string][]evalctx.Ref
	for _, ref := range refs {
		prop := ref.Component(depth)
		if _, ok := get(prop); !ok {
			continue
		}
		if ref.Depth() == depth+1 {
			own()
			delete(m, prop)
			addRedacted(redacted, ref.String())
			continue
		}
		if deeper == nil {
			deeper = map[string][]evalctx.Ref{}
		}
		deeper[prop] = append(deeper[prop], ref)
	}
	for _, prop := range slices.Sorted(maps.Keys(deeper)) {
		w, ok := get(prop)
		if !ok {
			continue
		}
		n := len(*redacted)
		nw := redactNested(w, deeper[prop], depth+1, redacted)
		if len(*redacted) != n {
			own()
			m[prop] = nw
		}
	}
	if m == nil {
		return v
	}
	return jsonvalue.Object(m)
}

func addRedacted(redacted *[]string, s string) {
	if !slices.Contains(*redacted, s) {
		*redacted = append(*redacted, s)
	}
}
