package evalctx

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

func TestKindValidation(t *testing.T) {
	tests := []struct {
		kind Kind
		want Kind // "" means invalid
	}{
		{"", DefaultKind},
		{"user", "user"},
		{"org", "org"},
		{"A-Z_a.z-09", "A-Z_a.z-09"},
		{"multi", ""},
		{"kind", ""},
		{"Kind", "Kind"},
		{"Multi", "Multi"},
		{"has space", ""},
		{"colon:kind", ""},
		{"slash/kind", ""},
		{"é", ""},
		{"tab\t", ""},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			c := NewWithKind(tt.kind, "key")
			if tt.want == "" {
				if c.Err() == nil || !errors.Is(c.Err(), ErrInvalidKind) {
					t.Fatalf("kind %q: want ErrInvalidKind, got %v", tt.kind, c.Err())
				}
				if !strings.Contains(c.Err().Error(), strconv.Quote(string(tt.kind))) {
					t.Errorf("error %q should name the kind", c.Err())
				}
				return
			}
			if c.Err() != nil {
				t.Fatalf("kind %q: %v", tt.kind, c.Err())
			}
			if c.Kind() != tt.want {
				t.Errorf("Kind() = %q, want %q", c.Kind(), tt.want)
			}
		})
	}
}

func TestKeyRequired(t *testing.T) {
	for _, c := range []Context{New(""), NewWithKind("org", ""), NewBuilder("").Build(), (&Builder{}).Build()} {
		if !errors.Is(c.Err(), ErrEmptyKey) {
			t.Errorf("want ErrEmptyKey, got %v", c.Err())
		}
	}
}

func TestZeroAndNilBuilders(t *testing.T) {
	var z Context
	if !errors.Is(z.Err(), ErrUninitialized) {
		t.Errorf("zero Context Err = %v", z.Err())
	}
	if z.Kind() != "" || z.Key() != "" || z.Anonymous() || z.Multiple() || z.FullyQualifiedKey() != "" ||
		z.IndividualContextCount() != 0 || z.PrivateAttributeCount() != 0 || z.PrivateAttributes() != nil ||
		z.CustomAttributeNames() != nil {
		t.Error("zero Context must look empty")
	}
	if _, ok := z.Name(); ok {
		t.Error("zero Context has no name")
	}
	if _, ok := z.GetValue("key"); ok {
		t.Error("zero Context has no values")
	}
	if _, ok := z.IndividualContextByKind("user"); ok {
		t.Error("zero Context has no individual contexts")
	}
	if _, err := z.MarshalJSON(); err == nil {
		t.Error("zero Context cannot be encoded")
	}
	var b *Builder
	if b.Kind("x").Key("k").Name("n").Anonymous(true).SetString("a", "b").Private("a").PrivateRef(NewRef("b")).ClearName() != nil {
		t.Error("nil builder methods return nil")
	}
	if b.TrySet("a", jsonvalue.Int(1)) {
		t.Error("TrySet on nil builder")
	}
	if c := b.Build(); c.Err() == nil {
		t.Error("nil builder builds an invalid context")
	}
	var m *MultiBuilder
	if m.Add(New("a")) != nil || m.Build().Err() == nil {
		t.Error("nil MultiBuilder")
	}
}

func TestBuilderAttributes(t *testing.T) {
	obj := jsonvalue.Object(map[string]jsonvalue.Value{"city": jsonvalue.String("Wellington")})
	c := NewBuilder("k").
		Kind("org").
		Name("Acme").
		Anonymous(true).
		SetString("s", "v").
		SetBool("b", true).
		SetInt("i", 3).
		SetFloat64("f", 1.5).
		Set("address", obj).
		Set("gone", jsonvalue.Int(1)).
		Set("gone", jsonvalue.Null()).
		Private("s", "/address/city").
		Build()
	if c.Err() != nil {
		t.Fatal(c.Err())
	}
	if c.Kind() != "org" || c.Key() != "k" || !c.Anonymous() || c.Multiple() || c.IndividualContextCount() != 1 {
		t.Errorf("basic getters wrong: %q %q %v", c.Kind(), c.Key(), c.Anonymous())
	}
	if n, ok := c.Name(); !ok || n != "Acme" {
		t.Errorf("Name = %q %v", n, ok)
	}
	if got := c.CustomAttributeNames(); !slices.Equal(got, []string{"address", "b", "f", "i", "s"}) {
		t.Errorf("CustomAttributeNames = %v", got)
	}
	priv := c.PrivateAttributes()
	if len(priv) != 2 || priv[0].String() != "s" || priv[1].String() != "/address/city" || c.PrivateAttributeCount() != 2 {
		t.Errorf("PrivateAttributes = %v", priv)
	}
	if r, ok := c.PrivateAttributeByIndex(1); !ok || r.Depth() != 2 {
		t.Error("PrivateAttributeByIndex(1)")
	}
	if _, ok := c.PrivateAttributeByIndex(2); ok {
		t.Error("PrivateAttributeByIndex out of range")
	}
	priv[0] = NewRef("changed")
	if c.PrivateAttributes()[0].String() != "s" {
		t.Error("PrivateAttributes must return a copy")
	}
}

func TestBuilderSetBuiltins(t *testing.T) {
	tests := []struct {
		name  string
		attr  string
		value jsonvalue.Value
		taken bool
		check func(Context) bool
	}{
		{"kind string", "kind", jsonvalue.String("org"), true, func(c Context) bool { return c.Kind() == "org" }},
		{"kind number", "kind", jsonvalue.Int(1), false, func(c Context) bool { return c.Kind() == "user" }},
		{"key string", "key", jsonvalue.String("k2"), true, func(c Context) bool { return c.Key() == "k2" }},
		{"key bool", "key", jsonvalue.Bool(true), false, func(c Context) bool { return c.Key() == "k" }},
		{"name string", "name", jsonvalue.String("n"), true, func(c Context) bool { n, ok := c.Name(); return ok && n == "n" }},
		{"name null", "name", jsonvalue.Null(), true, func(c Context) bool { _, ok := c.Name(); return !ok }},
		{"name number", "name", jsonvalue.Int(1), false, func(c Context) bool { n, _ := c.Name(); return n == "old" }},
		{"anonymous bool", "anonymous", jsonvalue.Bool(true), true, func(c Context) bool { return c.Anonymous() }},
		{"anonymous string", "anonymous", jsonvalue.String("true"), false, func(c Context) bool { return !c.Anonymous() }},
		{"_meta", "_meta", jsonvalue.Object(nil), false, func(c Context) bool { return c.CustomAttributeNames() == nil }},
		{"custom array", "tags", jsonvalue.Array(jsonvalue.String("a")), true, func(c Context) bool {
			v, ok := c.GetValue("tags")
			return ok && v.Len() == 1
		}},
		{"custom null", "tags", jsonvalue.Null(), true, func(c Context) bool { return c.CustomAttributeNames() == nil }},
		{"empty name", "", jsonvalue.Int(1), true, func(c Context) bool { v, ok := c.GetValue(""); return ok && v.Int() == 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder("k").Name("old")
			if got := b.TrySet(tt.attr, tt.value); got != tt.taken {
				t.Errorf("TrySet = %v, want %v", got, tt.taken)
			}
			c := b.Build()
			if c.Err() != nil {
				t.Fatal(c.Err())
			}
			if !tt.check(c) {
				t.Error("unexpected result")
			}
		})
	}
}

func TestBuilderReuseDoesNotChangeBuiltContexts(t *testing.T) {
	b := NewBuilder("k").SetString("a", "1").Private("a")
	c1 := b.Build()
	b.SetString("a", "2").SetString("b", "3").Private("b").Name("n").Key("k2")
	c2 := b.Build()
	b.Set("a", jsonvalue.Null())
	if v, _ := c1.GetValue("a"); v.Str() != "1" {
		t.Error("c1 changed after builder reuse")
	}
	if _, ok := c1.GetValue("b"); ok || c1.PrivateAttributeCount() != 1 || c1.Key() != "k" {
		t.Error("c1 changed after builder reuse")
	}
	if v, _ := c2.GetValue("a"); v.Str() != "2" || c2.PrivateAttributeCount() != 2 {
		t.Error("c2 changed after builder reuse")
	}
	c3 := NewBuilderFromContext(c2).SetString("c", "4").Private("c").Build()
	if _, ok := c2.GetValue("c"); ok || c2.PrivateAttributeCount() != 2 {
		t.Error("NewBuilderFromContext changed its source")
	}
	if c3.PrivateAttributeCount() != 3 || c3.Key() != "k2" {
		t.Error("NewBuilderFromContext lost properties")
	}
	if NewBuilderFromContext(NewMulti(New("a"), NewWithKind("org", "b"))).Build().Err() == nil {
		t.Error("a builder from a multi-kind context starts empty (and has no key)")
	}
}

func TestGetValueForRef(t *testing.T) {
	address := jsonvalue.Object(map[string]jsonvalue.Value{
		"street": jsonvalue.Object(map[string]jsonvalue.Value{"line1": jsonvalue.String("1 Main St")}),
		"city":   jsonvalue.String("Wellington"),
		"a/b":    jsonvalue.String("slash"),
		"0":      jsonvalue.String("zero"),
	})
	single := NewBuilder("user-key").
		Name("Ann").
		SetString("a/b", "literal").
		SetString("/lead", "leading slash").
		Set("address", address).
		Set("list", jsonvalue.Array(jsonvalue.String("x"), jsonvalue.String("y"))).
		Set("emptyStr", jsonvalue.String("")).
		Build()
	noName := NewWithKind("org", "org-key")
	multi := NewMulti(single, noName)

	type want struct {
		v  string // JSON of the value; "" means absent
		ok bool
	}
	tests := []struct {
		name string
		c    Context
		ref  Ref
		want want
	}{
		{"kind", single, NewRef("kind"), want{`"user"`, true}},
		{"kind path", single, NewRef("/kind"), want{`"user"`, true}},
		{"key", single, NewRef("key"), want{`"user-key"`, true}},
		{"name", single, NewRef("name"), want{`"Ann"`, true}},
		{"name unset", noName, NewRef("name"), want{"", false}},
		{"anonymous default", single, NewRef("anonymous"), want{`false`, true}},
		{"org kind", noName, NewRef("kind"), want{`"org"`, true}},
		{"custom string", single, NewRef("emptyStr"), want{`""`, true}},
		{"custom object", single, NewRef("/address/city"), want{`"Wellington"`, true}},
		{"nested object", single, NewRef("/address/street/line1"), want{`"1 Main St"`, true}},
		{"escaped component", single, NewRef("/address/a~1b"), want{`"slash"`, true}},
		{"numeric property name", single, NewRef("/address/0"), want{`"zero"`, true}},
		{"missing nested", single, NewRef("/address/zip"), want{"", false}},
		{"into a string", single, NewRef("/address/city/x"), want{"", false}},
		{"into a built-in string", single, NewRef("/key/x"), want{"", false}},
		{"array index never matches", single, NewRef("/list/0"), want{"", false}},
		{"whole array", single, NewRef("list"), want{`["x","y"]`, true}},
		{"literal slash name", single, NewRef("a/b"), want{`"literal"`, true}},
		{"escaped slash name", single, NewRef("/a~1b"), want{`"literal"`, true}},
		{"literal ref leading slash", single, NewLiteralRef("/lead"), want{`"leading slash"`, true}},
		{"path for leading slash", single, NewRef("/lead"), want{"", false}},
		{"missing attribute", single, NewRef("nope"), want{"", false}},
		{"invalid ref", single, NewRef("//"), want{"", false}},
		{"zero ref", single, Ref{}, want{"", false}},
		{"multi kind", multi, NewRef("kind"), want{`"multi"`, true}},
		{"multi kind path", multi, NewRef("/kind"), want{`"multi"`, true}},
		{"multi kind deeper", multi, NewRef("/kind/x"), want{"", false}},
		{"multi key", multi, NewRef("key"), want{"", false}},
		{"multi name", multi, NewRef("name"), want{"", false}},
		{"multi anonymous", multi, NewRef("anonymous"), want{"", false}},
		{"multi custom", multi, NewRef("address"), want{"", false}},
		{"invalid context", New(""), NewRef("key"), want{"", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := tt.c.GetValueForRef(tt.ref)
			if ok != tt.want.ok {
				t.Fatalf("ok = %v, want %v (value %s)", ok, tt.want.ok, v)
			}
			if !ok {
				if !v.IsNull() {
					t.Errorf("absent value should be null, got %s", v)
				}
				return
			}
			if v.String() != tt.want.v {
				t.Errorf("value = %s, want %s", v, tt.want.v)
			}
			// GetValue agrees for depth-1 references.
			if tt.ref.Depth() == 1 {
				gv, gok := tt.c.GetValue(tt.ref.Component(0))
				if gok != ok || !gv.Equal(v) {
					t.Errorf("GetValue(%q) = %s %v", tt.ref.Component(0), gv, gok)
				}
			}
		})
	}
	if v, ok := NewBuilder("k").Anonymous(true).Build().GetValue("anonymous"); !ok || !v.Bool() {
		t.Error("anonymous true")
	}
}

func TestFullyQualifiedKey(t *testing.T) {
	tests := []struct {
		name string
		c    Context
		want string
	}{
		{"user", New("abc"), "abc"},
		{"user keeps colons", New("a:b%c"), "a:b%c"},
		{"org", NewWithKind("org", "abc"), "org:abc"},
		{"org escaped", NewWithKind("org", "a:b%c"), "org:a%3Ab%25c"},
		{"org other chars untouched", NewWithKind("org", "a b/é?"), "org:a b/é?"},
		{"multi sorted", NewMulti(NewWithKind("org", "o:1"), New("u%1"), NewWithKind("device", "d")),
			"device:d:org:o%3A1:user:u%251"},
		{"multi of one", NewMulti(NewWithKind("org", "x")), "org:x"},
		{"invalid", NewWithKind("multi", "x"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.FullyQualifiedKey(); got != tt.want {
				t.Errorf("FullyQualifiedKey = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIndividualContexts(t *testing.T) {
	u, o := New("u"), NewWithKind("org", "o")
	if c, ok := u.IndividualContextByKind(""); !ok || c.Key() != "u" {
		t.Error("kind \"\" means user")
	}
	if _, ok := u.IndividualContextByKind("org"); ok {
		t.Error("user context has no org")
	}
	if u.IndividualContextByIndex(0).Key() != "u" || u.IndividualContextByIndex(1).Err() == nil {
		t.Error("single IndividualContextByIndex")
	}
	m := NewMulti(o, u)
	if !m.Multiple() || m.Kind() != MultiKind || m.IndividualContextCount() != 2 || m.Key() != "" || m.Anonymous() {
		t.Error("multi getters")
	}
	if _, ok := m.Name(); ok {
		t.Error("multi has no name")
	}
	if m.IndividualContextByIndex(0).Kind() != "org" || m.IndividualContextByIndex(1).Kind() != "user" {
		t.Error("individual contexts must be sorted by kind")
	}
	if m.IndividualContextByIndex(2).Err() == nil || m.IndividualContextByIndex(-1).Err() == nil {
		t.Error("out of range index")
	}
	if c, ok := m.IndividualContextByKind("org"); !ok || c.Key() != "o" {
		t.Error("ByKind org")
	}
	if c, ok := m.IndividualContextByKind(""); !ok || c.Key() != "u" {
		t.Error("ByKind default")
	}
	if _, ok := m.IndividualContextByKind("device"); ok {
		t.Error("ByKind missing")
	}
	if m.PrivateAttributes() != nil || m.CustomAttributeNames() != nil {
		t.Error("a multi-kind context has no attributes of its own")
	}
}

func TestEqual(t *testing.T) {
	base := func() *Builder {
		return NewBuilder("k").Kind("org").Name("n").SetInt("a", 1).
			Set("o", jsonvalue.Object(map[string]jsonvalue.Value{"x": jsonvalue.Array(jsonvalue.Int(1))})).
			Private("a", "/o/x")
	}
	c := base().Build()
	tests := []struct {
		name  string
		other Context
		want  bool
	}{
		{"same", base().Build(), true},
		{"private order", NewBuilder("k").Kind("org").Name("n").SetInt("a", 1).
			Set("o", jsonvalue.Object(map[string]jsonvalue.Value{"x": jsonvalue.Array(jsonvalue.Float(1.0))})).
			Private("/o/x", "a").Build(), true},
		{"private duplicated", base().Private("a").Build(), true},
		{"kind", base().Kind("team").Build(), false},
		{"key", base().Key("k2").Build(), false},
		{"name", base().Name("m").Build(), false},
		{"no name", base().ClearName().Build(), false},
		{"anonymous", base().Anonymous(true).Build(), false},
		{"attr value", base().SetInt("a", 2).Build(), false},
		{"attr type", base().SetString("a", "1").Build(), false},
		{"extra attr", base().SetInt("b", 1).Build(), false},
		{"nested attr", base().Set("o", jsonvalue.Object(nil)).Build(), false},
		{"extra private", base().Private("o").Build(), false},
		{"multi", NewMulti(c, New("u")), false},
		{"invalid", New(""), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Equal(tt.other); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := tt.other.Equal(c); got != tt.want {
				t.Errorf("reverse Equal = %v, want %v", got, tt.want)
			}
		})
	}
	m1 := NewMulti(New("u"), NewWithKind("org", "o"))
	m2 := NewMulti(NewWithKind("org", "o"), New("u"))
	if !m1.Equal(m2) {
		t.Error("multi-kind contexts are equal whatever the order they were added in")
	}
	if m1.Equal(NewMulti(New("u"), NewWithKind("org", "o2"))) {
		t.Error("multi-kind contexts differ when an individual context differs")
	}
	if m1.Equal(NewMulti(New("u"), NewWithKind("team", "o"))) {
		t.Error("multi-kind contexts differ when kinds differ")
	}
	if !(Context{}).Equal(Context{}) || !New("").Equal(New("")) || New("").Equal(NewWithKind("kind", "x")) {
		t.Error("invalid contexts compare by error")
	}
}
