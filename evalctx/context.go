package evalctx

import (
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Context is an evaluation context: the entity (or, for a multi-kind
// context, the several entities) a flag is evaluated for.
//
// A Context is immutable and cheap to copy (one pointer). Build one with
// [New], [NewWithKind], [NewBuilder], [NewMulti], [NewMultiBuilder] or
// [Parse]. A Context that breaks a rule is still a value: its Err says what
// is wrong, and the evaluator reports it instead of evaluating. The zero
// Context is invalid.
type Context struct {
	d *contextData
}

type contextData struct {
	err       error
	kind      Kind
	key       string
	fqKey     string
	name      string
	hasName   bool
	anonymous bool
	attrs     []attr // custom attributes, sorted by name; never holds null
	private   []Ref
	multi     []Context // sorted by kind; len >= 2 for a multi-kind context
	// multiKinds[i] is multi[i]'s kind, so that finding a kind reads one
	// array instead of every individual context.
	multiKinds []Kind
}

func invalid(kind Kind, err error) Context {
	return Context{d: &contextData{kind: kind, err: err}}
}

// New returns a context of kind "user" with the given key. An empty key
// gives an invalid context.
func New(key string) Context {
	return NewWithKind(DefaultKind, key)
}

// NewWithKind returns a context of the given kind and key. An invalid kind
// or an empty key gives an invalid context.
func NewWithKind(kind Kind, key string) Context {
	var b Builder
	return b.Kind(kind).Key(key).Build()
}

// Err returns nil for a valid context, or an error saying why the context
// is invalid (wrapping one of the Err* sentinels of this package).
func (c Context) Err() error {
	if c.d == nil {
		return ErrUninitialized
	}
	return c.d.err
}

func (c Context) valid() bool { return c.d != nil && c.d.err == nil }

// Kind returns the context's kind; [MultiKind] for a multi-kind context, ""
// for the zero Context.
func (c Context) Kind() Kind {
	if c.d == nil {
		return ""
	}
	return c.d.kind
}

// Key returns the context's key; "" for a multi-kind context.
func (c Context) Key() string {
	if c.d == nil {
		return ""
	}
	return c.d.key
}

// Name returns the context's name and whether it has one. A multi-kind
// context has none.
func (c Context) Name() (string, bool) {
	if c.d == nil {
		return "", false
	}
	return c.d.name, c.d.hasName
}

// Anonymous reports whether the context is anonymous (false for a
// multi-kind context).
func (c Context) Anonymous() bool {
	return c.d != nil && c.d.anonymous
}

// Multiple reports whether c is a valid multi-kind context.
func (c Context) Multiple() bool {
	return c.valid() && len(c.d.multi) != 0
}

// FullyQualifiedKey returns the key that identifies the context across
// kinds: the key itself for a "user" context; kind + ":" + escaped key for
// other kinds; and for a multi-kind context each individual context's
// kind:escapedKey (user included), in kind order, joined with ":". The key
// is escaped by replacing '%' with "%25" and ':' with "%3A". It is computed
// when the context is built, so this call does not allocate. It is "" for
// an invalid context.
func (c Context) FullyQualifiedKey() string {
	if !c.valid() {
		return ""
	}
	return c.d.fqKey
}

// IndividualContextCount returns the number of individual contexts: the
// number of kinds of a multi-kind context, 1 for a single context, and 0
// for an invalid one.
func (c Context) IndividualContextCount() int {
	switch {
	case !c.valid():
		return 0
	case len(c.d.multi) != 0:
		return len(c.d.multi)
	}
	return 1
}

// IndividualContextByIndex returns individual context i, in kind order, or
// the zero (invalid) Context when i is out of range. For a single context,
// index 0 is the context itself.
func (c Context) IndividualContextByIndex(i int) Context {
	if !c.valid() {
		return Context{}
	}
	if len(c.d.multi) == 0 {
		if i == 0 {
			return c
		}
		return Context{}
	}
	if i < 0 || i >= len(c.d.multi) {
		return Context{}
	}
	return c.d.multi[i]
}

// IndividualContextByKind returns the individual context of kind k (k ""
// means "user"): c itself when c is a single context of that kind, or the
// one of that kind inside a multi-kind context. It does not allocate.
func (c Context) IndividualContextByKind(k Kind) (Context, bool) {
	if !c.valid() {
		return Context{}, false
	}
	if k == "" {
		k = DefaultKind
	}
	if len(c.d.multi) == 0 {
		if c.d.kind == k {
			return c, true
		}
		return Context{}, false
	}
	for i, ik := range c.d.multiKinds {
		if ik == k {
			return c.d.multi[i], true
		}
	}
	return Context{}, false
}

// GetValue returns the value of the attribute named exactly name (no path
// syntax), as [Context.GetValueForRef] does for NewLiteralRef(name).
func (c Context) GetValue(name string) (jsonvalue.Value, bool) {
	if !c.valid() {
		return jsonvalue.Value{}, false
	}
	return c.topLevel(name)
}

// GetValueForRef returns the value a reference points to, and whether it
// exists. It does not allocate.
//
// On a single context the first component names an attribute: "kind" and
// "key" (strings, always present), "name" (a string, absent when unset),
// "anonymous" (a boolean, always present), or a custom attribute. Each
// further component names a property of a JSON object; it never matches
// inside an array or a scalar. On a multi-kind context the only attribute is
// "kind", whose value is "multi"; look up the others on an individual
// context. An invalid reference or context has no values.
func (c Context) GetValueForRef(r Ref) (jsonvalue.Value, bool) {
	if r.first == "" || !c.valid() { // an invalid Ref has no first component
		return jsonvalue.Value{}, false
	}
	v, ok := c.topLevel(r.first)
	if r.x == nil && ok { // an attribute name: no path to follow
		return v, true
	}
	var rest []string
	if r.x != nil {
		rest = r.x.rest
	}
	for _, name := range rest {
		if !ok {
			break
		}
		v, ok = v.Get(name)
	}
	if !ok {
		return jsonvalue.Value{}, false
	}
	return v, true
}

func (c Context) topLevel(name string) (jsonvalue.Value, bool) {
	d := c.d
	if len(d.multi) != 0 {
		if name == "kind" {
			return jsonvalue.String(string(MultiKind)), true
		}
		return jsonvalue.Value{}, false
	}
	switch name {
	case "kind":
		return jsonvalue.String(string(d.kind)), true
	case "key":
		return jsonvalue.String(d.key), true
	case "name":
		if !d.hasName {
			return jsonvalue.Value{}, false
		}
		return jsonvalue.String(d.name), true
	case "anonymous":
		return jsonvalue.Bool(d.anonymous), true
	}
	return findAttr(d.attrs, name)
}

// PrivateAttributes returns a copy of the references marked private on a
// single context, in the order they were given; nil for a multi-kind or
// invalid context.
func (c Context) PrivateAttributes() []Ref {
	if !c.valid() || len(c.d.private) == 0 {
		return nil
	}
	return slices.Clone(c.d.private)
}

// PrivateAttributeCount returns the number of references marked private.
func (c Context) PrivateAttributeCount() int {
	if !c.valid() {
		return 0
	}
	return len(c.d.private)
}

// PrivateAttributeByIndex returns private reference i, or false when i is
// out of range. It does not allocate.
func (c Context) PrivateAttributeByIndex(i int) (Ref, bool) {
	if !c.valid() || i < 0 || i >= len(c.d.private) {
		return Ref{}, false
	}
	return c.d.private[i], true
}

// CustomAttributeNames returns the sorted names of the custom attributes of
// a single context (not kind, key, name or anonymous); nil for a multi-kind
// or invalid context.
func (c Context) CustomAttributeNames() []string {
	if !c.valid() || len(c.d.attrs) == 0 {
		return nil
	}
	names := make([]string, len(c.d.attrs))
	for i, a := range c.d.attrs {
		names[i] = a.name
	}
	return names
}

// Equal reports whether c and o describe the same context: same kind, key,
// name, anonymous flag, custom attributes (deeply) and private references
// (as a set); for multi-kind contexts, the same individual contexts. Two
// invalid contexts are equal when their errors read the same.
func (c Context) Equal(o Context) bool {
	if c.d == o.d {
		return true
	}
	if !c.valid() || !o.valid() {
		if c.valid() || o.valid() {
			return false
		}
		return c.Err().Error() == o.Err().Error()
	}
	a, b := c.d, o.d
	if a.kind != b.kind || len(a.multi) != len(b.multi) {
		return false
	}
	if len(a.multi) != 0 {
		for i := range a.multi { // both sorted by kind
			if !a.multi[i].Equal(b.multi[i]) {
				return false
			}
		}
		return true
	}
	if a.key != b.key || a.hasName != b.hasName || a.name != b.name || a.anonymous != b.anonymous ||
		len(a.attrs) != len(b.attrs) {
		return false
	}
	for i := range a.attrs { // both sorted by name
		if a.attrs[i].name != b.attrs[i].name || !a.attrs[i].value.Equal(b.attrs[i].value) {
			return false
		}
	}
	return samePrivate(a.private, b.private)
}

// samePrivate compares private references as sets of their string forms.
func samePrivate(a, b []Ref) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	set := func(refs []Ref) []string {
		s := make([]string, len(refs))
		for i, r := range refs {
			s[i] = r.raw
		}
		slices.Sort(s)
		return slices.Compact(s)
	}
	return slices.Equal(set(a), set(b))
}

// escapeKey escapes a key for a fully-qualified key.
func escapeKey(key string) string {
	if strings.IndexByte(key, '%') < 0 && strings.IndexByte(key, ':') < 0 {
		return key
	}
	return strings.ReplaceAll(strings.ReplaceAll(key, "%", "%25"), ":", "%3A")
}
