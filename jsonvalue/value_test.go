package jsonvalue

import (
	"encoding/json"
	"math"
	"testing"
)

func TestConstructorsAndGetters(t *testing.T) {
	tests := []struct {
		name    string
		v       Value
		typ     Type
		isInt   bool
		b       bool
		f       float64
		i       int
		s       string
		length  int
		jsonOut string
	}{
		{"zero", Value{}, NullType, false, false, 0, 0, "", 0, "null"},
		{"null", Null(), NullType, false, false, 0, 0, "", 0, "null"},
		{"true", Bool(true), BoolType, false, true, 0, 0, "", 0, "true"},
		{"false", Bool(false), BoolType, false, false, 0, 0, "", 0, "false"},
		{"int", Int(-42), NumberType, true, false, -42, -42, "", 0, "-42"},
		{"float", Float(2.5), NumberType, false, false, 2.5, 2, "", 0, "2.5"},
		{"negative fraction", Float(-2.5), NumberType, false, false, -2.5, -2, "", 0, "-2.5"},
		{"whole float", Float(3), NumberType, true, false, 3, 3, "", 0, "3"},
		{"huge", Float(1e300), NumberType, false, false, 1e300, math.MaxInt, "", 0, "1e+300"},
		{"nan", Float(math.NaN()), NumberType, false, false, math.NaN(), 0, "", 0, "null"},
		{"string", String("a<b"), StringType, false, false, 0, 0, "a<b", 0, `"a\u003cb"`},
		{"array", Array(Int(1), String("x")), ArrayType, false, false, 0, 0, "", 2, `[1,"x"]`},
		{"empty array", Array(), ArrayType, false, false, 0, 0, "", 0, `[]`},
		{"object", Object(map[string]Value{"b": Int(1), "a": Null()}), ObjectType, false, false, 0, 0, "", 2, `{"a":null,"b":1}`},
		{"empty object", Object(nil), ObjectType, false, false, 0, 0, "", 0, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := tt.v
			if v.Type() != tt.typ {
				t.Errorf("Type = %v, want %v", v.Type(), tt.typ)
			}
			if v.IsNull() != (tt.typ == NullType) || v.IsBool() != (tt.typ == BoolType) ||
				v.IsNumber() != (tt.typ == NumberType) || v.IsString() != (tt.typ == StringType) ||
				v.IsArray() != (tt.typ == ArrayType) || v.IsObject() != (tt.typ == ObjectType) {
				t.Errorf("Is* methods disagree with type %v", tt.typ)
			}
			if v.IsInt() != tt.isInt {
				t.Errorf("IsInt = %v, want %v", v.IsInt(), tt.isInt)
			}
			if v.Bool() != tt.b {
				t.Errorf("Bool = %v", v.Bool())
			}
			if f := v.Float64(); f != tt.f && !(math.IsNaN(f) && math.IsNaN(tt.f)) {
				t.Errorf("Float64 = %v, want %v", f, tt.f)
			}
			if v.Int() != tt.i {
				t.Errorf("Int = %v, want %v", v.Int(), tt.i)
			}
			if v.Str() != tt.s {
				t.Errorf("Str = %q, want %q", v.Str(), tt.s)
			}
			if v.Len() != tt.length {
				t.Errorf("Len = %d, want %d", v.Len(), tt.length)
			}
			if got := string(v.JSON()); got != tt.jsonOut {
				t.Errorf("JSON = %s, want %s", got, tt.jsonOut)
			}
			if v.String() != tt.jsonOut {
				t.Errorf("String = %s, want %s", v.String(), tt.jsonOut)
			}
			m, err := v.MarshalJSON()
			if err != nil || string(m) != tt.jsonOut {
				t.Errorf("MarshalJSON = %s, %v", m, err)
			}
		})
	}
}

func TestTypeString(t *testing.T) {
	want := map[Type]string{NullType: "null", BoolType: "boolean", NumberType: "number",
		StringType: "string", ArrayType: "array", ObjectType: "object", Type(99): "unknown"}
	for typ, s := range want {
		if typ.String() != s {
			t.Errorf("%d.String() = %q, want %q", typ, typ.String(), s)
		}
	}
}

func TestIsIntBounds(t *testing.T) {
	tests := []struct {
		f    float64
		want bool
	}{
		{0, true}, {math.Copysign(0, -1), true}, {1 << 53, true}, {-(1 << 63), true},
		{1 << 63, false}, {0.5, false}, {math.Inf(1), false}, {math.NaN(), false},
	}
	for _, tt := range tests {
		if got := Float(tt.f).IsInt(); got != tt.want {
			t.Errorf("Float(%v).IsInt() = %v, want %v", tt.f, got, tt.want)
		}
	}
	if Float(-1e300).Int() != math.MinInt {
		t.Error("Int of -1e300 should clamp to MinInt")
	}
}

func TestIndexAndGet(t *testing.T) {
	a := Array(Int(1), String("two"))
	if a.Index(1).Str() != "two" || !a.Index(2).IsNull() || !a.Index(-1).IsNull() {
		t.Error("Index misbehaves")
	}
	if !String("x").Index(0).IsNull() {
		t.Error("Index on a non-array must be null")
	}
	o := Object(map[string]Value{"k": Bool(true)})
	if v, ok := o.Get("k"); !ok || !v.Bool() {
		t.Error("Get k")
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("Get missing")
	}
	if _, ok := a.Get("k"); ok {
		t.Error("Get on array")
	}
	if keys := Object(map[string]Value{"b": Null(), "a": Null(), "c": Null()}).Keys(); len(keys) != 3 || keys[0] != "a" || keys[2] != "c" {
		t.Errorf("Keys = %v", keys)
	}
	if a.Keys() != nil {
		t.Error("Keys of an array must be nil")
	}
}

func TestImmutability(t *testing.T) {
	elems := []Value{Int(1), Int(2)}
	a := Array(elems...)
	elems[0] = Int(99)
	if a.Index(0).Int() != 1 {
		t.Error("Array must copy its input")
	}
	m := map[string]Value{"a": Int(1)}
	o := Object(m)
	m["a"] = Int(2)
	m["b"] = Int(3)
	if v, _ := o.Get("a"); v.Int() != 1 || o.Len() != 1 {
		t.Error("Object must copy its input")
	}
	x := o.Any().(map[string]any)
	x["a"] = "changed"
	if v, _ := o.Get("a"); v.Int() != 1 {
		t.Error("Any must return a copy")
	}
}

func TestIterators(t *testing.T) {
	o := Object(map[string]Value{"a": Int(1), "b": Int(2), "c": Int(3)})
	sum := 0
	for _, v := range o.Entries() {
		sum += v.Int()
	}
	if sum != 6 {
		t.Errorf("Entries sum = %d", sum)
	}
	n := 0
	for range o.Entries() {
		n++
		break
	}
	if n != 1 {
		t.Error("Entries must stop when asked")
	}
	a := Array(Int(1), Int(2), Int(3))
	idx := 0
	for i, v := range a.Elements() {
		if v.Int() != i+1 {
			t.Errorf("element %d = %v", i, v)
		}
		idx++
		if i == 1 {
			break
		}
	}
	if idx != 2 {
		t.Error("Elements must stop when asked")
	}
	for range a.Entries() {
		t.Error("Entries of an array must yield nothing")
	}
	for range o.Elements() {
		t.Error("Elements of an object must yield nothing")
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		name string
		a, b Value
		want bool
	}{
		{"nulls", Null(), Value{}, true},
		{"null vs false", Null(), Bool(false), false},
		{"bools", Bool(true), Bool(true), true},
		{"bools differ", Bool(true), Bool(false), false},
		{"int vs float", Int(1), Float(1.0), true},
		{"zero signs", Float(0), Float(math.Copysign(0, -1)), true},
		{"number vs string", Int(1), String("1"), false},
		{"bool vs number", Bool(true), Int(1), false},
		{"strings", String("a"), String("a"), true},
		{"arrays", Array(Int(1), Array(String("x"))), Array(Int(1), Array(String("x"))), true},
		{"arrays order", Array(Int(1), Int(2)), Array(Int(2), Int(1)), false},
		{"arrays length", Array(Int(1)), Array(Int(1), Int(1)), false},
		{"objects", Object(map[string]Value{"a": Array(Null())}), Object(map[string]Value{"a": Array(Null())}), true},
		{"objects differ", Object(map[string]Value{"a": Int(1)}), Object(map[string]Value{"a": Int(2)}), false},
		{"objects keys", Object(map[string]Value{"a": Int(1)}), Object(map[string]Value{"b": Int(1)}), false},
		{"empty array vs parsed", Array(), mustParse(t, "[]"), true},
		{"empty object vs parsed", Object(nil), mustParse(t, "{}"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.a.Equal(tt.b); got != tt.want {
				t.Errorf("Equal = %v, want %v", got, tt.want)
			}
			if got := tt.b.Equal(tt.a); got != tt.want {
				t.Errorf("reverse Equal = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFromAny(t *testing.T) {
	type tagged struct {
		A int    `json:"a"`
		B string `json:"b,omitempty"`
	}
	v := Int(7)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, "null"},
		{"bool", true, "true"},
		{"string", "s", `"s"`},
		{"float64", 1.5, "1.5"},
		{"float32", float32(0.5), "0.5"},
		{"int", 3, "3"},
		{"int8", int8(-3), "-3"},
		{"int16", int16(3), "3"},
		{"int32", int32(3), "3"},
		{"int64", int64(3), "3"},
		{"uint", uint(3), "3"},
		{"uint8", uint8(3), "3"},
		{"uint16", uint16(3), "3"},
		{"uint32", uint32(3), "3"},
		{"uint64", uint64(3), "3"},
		{"json.Number", json.Number("12.5"), "12.5"},
		{"raw", json.RawMessage(`{"x":[1]}`), `{"x":[1]}`},
		{"value", Int(7), "7"},
		{"value pointer", &v, "7"},
		{"nil value pointer", (*Value)(nil), "null"},
		{"[]Value", []Value{Int(1)}, "[1]"},
		{"map[string]Value", map[string]Value{"a": Int(1)}, `{"a":1}`},
		{"[]any", []any{1.0, "a", nil, map[string]any{"b": false}}, `[1,"a",null,{"b":false}]`},
		{"struct", tagged{A: 1}, `{"a":1}`},
		{"[]string", []string{"a", "b"}, `["a","b"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromAny(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got.JSON()) != tt.want {
				t.Errorf("got %s, want %s", got.JSON(), tt.want)
			}
		})
	}
	bad := []any{math.NaN(), math.Inf(1), float32(math.Inf(-1)), json.Number("x"), make(chan int),
		[]any{math.NaN()}, map[string]any{"a": math.Inf(1)}, json.RawMessage("{")}
	for _, b := range bad {
		if _, err := FromAny(b); err == nil {
			t.Errorf("FromAny(%#v) should fail", b)
		}
	}
}

func TestAnyMatchesEncodingJSON(t *testing.T) {
	doc := `{"a":[1,2.5,"x",null,true,{"b":{}}],"c":-0.000001,"d":1e21}`
	v := mustParse(t, doc)
	var want any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(v.Any())
	b, _ := json.Marshal(want)
	if string(a) != string(b) {
		t.Errorf("Any() = %s, encoding/json = %s", a, b)
	}
}

func TestReadsDoNotAllocate(t *testing.T) {
	v := mustParse(t, `{"a":[1,"s",true],"b":{"c":null}}`)
	other := mustParse(t, `{"b":{"c":null},"a":[1,"s",true]}`)
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		a, _ := v.Get("a")
		if a.Type() == ArrayType && a.Index(0).IsInt() && a.Index(2).Bool() {
			sink += a.Len() + len(a.Index(1).Str()) + int(a.Index(0).Float64())
		}
		if v.Equal(other) {
			sink++
		}
	})
	if allocs != 0 {
		t.Errorf("reads allocated %v times per run", allocs)
	}
	_ = sink
}

func mustParse(t testing.TB, s string) Value {
	t.Helper()
	v, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return v
}

func BenchmarkReadsNoAlloc(b *testing.B) {
	v := mustParse(b, `{"a":[1,"s",true],"b":{"c":null}}`)
	other := mustParse(b, `{"b":{"c":null},"a":[1,"s",true]}`)
	b.ReportAllocs()
	for b.Loop() {
		a, _ := v.Get("a")
		_ = a.Index(1).Str()
		_ = v.Equal(other)
	}
}
