package jsonvalue

import (
	"math"
	"testing"
	"unsafe"

	"github.com/daemonflag/daemonflag/internal/jsontok"
)

// TestValueSize: a Value is three words, whatever it holds.
func TestValueSize(t *testing.T) {
	if got, want := unsafe.Sizeof(Value{}), 3*unsafe.Sizeof(uintptr(0)); got != want {
		t.Fatalf("unsafe.Sizeof(Value{}) = %d, want %d", got, want)
	}
}

// TestValueRepresentation reads back every type through the compact
// representation, including the edges (empty strings, arrays and objects,
// -0, NaN bits, true and false).
func TestValueRepresentation(t *testing.T) {
	if v := String(""); !v.IsString() || v.Str() != "" || v.Len() != 0 {
		t.Errorf("String(\"\") = %v", v)
	}
	if v := String("héllo"); v.Str() != "héllo" || v.String() != `"héllo"` {
		t.Errorf("String = %q", v.Str())
	}
	if !Bool(true).Bool() || Bool(false).Bool() || !Bool(false).IsBool() || Bool(true).Equal(Bool(false)) {
		t.Error("Bool round trip")
	}
	if f := Float(math.Copysign(0, -1)).Float64(); f != 0 || !math.Signbit(f) {
		t.Errorf("Float(-0) = %v", f)
	}
	if !Float(0).Equal(Float(math.Copysign(0, -1))) {
		t.Error("0 and -0 must be equal JSON numbers")
	}
	if Float(math.NaN()).Int() != 0 || Int(-7).Int() != -7 || !Int(3).IsInt() || Float(1.5).IsInt() {
		t.Error("number accessors")
	}
	if v := Array(); !v.IsArray() || v.Len() != 0 || v.String() != "[]" || !v.Index(0).IsNull() {
		t.Errorf("Array() = %v", v)
	}
	elems := []Value{Int(1), String("x")}
	a := Array(elems...)
	elems[0] = Int(9) // Array copies its arguments
	if a.Len() != 2 || a.Index(0).Int() != 1 || a.Index(1).Str() != "x" || !a.Index(2).IsNull() || !a.Index(-1).IsNull() {
		t.Errorf("Array = %v", a)
	}
	if v := Object(nil); !v.IsObject() || v.Len() != 0 || v.String() != "{}" || v.Keys() == nil {
		t.Errorf("Object(nil) = %v (keys %v)", v, v.Keys())
	}
	m := map[string]Value{"b": Bool(true), "a": a}
	o := Object(m)
	delete(m, "a") // Object copies its argument
	if got, ok := o.Get("a"); !ok || !got.Equal(a) || o.Len() != 2 || o.String() != `{"a":[1,"x"],"b":true}` {
		t.Errorf("Object = %v", o)
	}
	if _, ok := String("a").Get("a"); ok {
		t.Error("Get on a string")
	}
}

// TestReadOwned: a value read with ReadOwned shares no memory with the
// document (here a buffer overwritten afterwards), Read's does.
func TestReadOwned(t *testing.T) {
	doc := []byte(`{"name":["abc",{"key":"value"}],"n":1}`)
	var sc jsontok.Scanner
	sc.Reset(unsafe.String(unsafe.SliceData(doc), len(doc)))
	owned := ReadOwned(&sc)
	sc.Reset(unsafe.String(unsafe.SliceData(doc), len(doc)))
	view := Read(&sc)
	want := owned.String()
	for i := range doc {
		if doc[i] >= 'a' && doc[i] <= 'z' {
			doc[i] = 'z'
		}
	}
	if got := owned.String(); got != want {
		t.Errorf("ReadOwned's value changed with the document: %s, want %s", got, want)
	}
	if got := view.String(); got == want {
		t.Errorf("Read's value did not change with the document (the test proves nothing): %s", got)
	}
}
