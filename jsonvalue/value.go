package jsonvalue

import (
	"iter"
	"math"
	"slices"
	"unsafe"
)

// Value is an immutable JSON value. The zero Value is null.
//
// A Value is three words (24 bytes on 64-bit platforms), whatever its type:
// flags hold many of them (variations, clause values) and contexts hold one
// per attribute, and every evaluation passes them around.
type Value struct {
	_ [0]func() // not comparable with ==: use [Value.Equal]
	// p points at a string's bytes, an array's first element or an
	// object's map; nil for other types and empty strings and arrays.
	p unsafe.Pointer
	// n is a string's or array's length, a number's float64 bits, or 1 for
	// true.
	n   uint64
	typ Type
}

// mkString, mkNumber, mkArray and mkObject build Values; str, num, arr and
// obj read them back (for a Value of the matching type only).

func mkString(s string) Value {
	if len(s) == 0 {
		return Value{typ: StringType}
	}
	return Value{typ: StringType, p: unsafe.Pointer(unsafe.StringData(s)), n: uint64(len(s))}
}

func mkNumber(f float64) Value { return Value{typ: NumberType, n: math.Float64bits(f)} }

// mkArray keeps elems (which nobody may change afterwards).
func mkArray(elems []Value) Value {
	if len(elems) == 0 {
		return Value{typ: ArrayType}
	}
	return Value{typ: ArrayType, p: unsafe.Pointer(unsafe.SliceData(elems)), n: uint64(len(elems))}
}

// mkObject keeps m (which nobody may change afterwards).
func mkObject(m map[string]Value) Value {
	if len(m) == 0 {
		return Value{typ: ObjectType}
	}
	// A map value is one pointer to the runtime's map.
	return Value{typ: ObjectType, p: *(*unsafe.Pointer)(unsafe.Pointer(&m))}
}

func (v *Value) str() string { return unsafe.String((*byte)(v.p), int(v.n)) }

func (v *Value) num() float64 { return math.Float64frombits(v.n) }

func (v *Value) arr() []Value { return unsafe.Slice((*Value)(v.p), int(v.n)) }

func (v *Value) obj() map[string]Value {
	if v.p == nil {
		return nil
	}
	return *(*map[string]Value)(unsafe.Pointer(&v.p))
}

// Null returns the JSON null value (the same as the zero Value).
func Null() Value { return Value{} }

// Bool returns a JSON boolean.
func Bool(b bool) Value {
	if b {
		return Value{typ: BoolType, n: 1}
	}
	return Value{typ: BoolType}
}

// Int returns a JSON number holding n. Integers beyond ±2^53 lose precision,
// as they do in any JSON reader that uses float64.
func Int(n int) Value { return mkNumber(float64(n)) }

// Float returns a JSON number holding f. JSON cannot express NaN or the
// infinities; such a Value encodes as null.
func Float(f float64) Value { return mkNumber(f) }

// String returns a JSON string.
func String(s string) Value { return mkString(s) }

// Array returns a JSON array of the given elements. The slice is copied.
func Array(vs ...Value) Value {
	if len(vs) == 0 {
		return Value{typ: ArrayType}
	}
	return mkArray(slices.Clone(vs))
}

// Object returns a JSON object with the given properties. The map is copied;
// a nil map gives an empty object.
func Object(m map[string]Value) Value {
	if len(m) == 0 {
		return Value{typ: ObjectType}
	}
	c := make(map[string]Value, len(m))
	for k, v := range m {
		c[k] = v
	}
	return mkObject(c)
}

// Type returns the JSON type of v.
func (v Value) Type() Type { return v.typ }

// IsNull reports whether v is null.
func (v Value) IsNull() bool { return v.typ == NullType }

// IsBool reports whether v is a boolean.
func (v Value) IsBool() bool { return v.typ == BoolType }

// IsNumber reports whether v is a number.
func (v Value) IsNumber() bool { return v.typ == NumberType }

// IsInt reports whether v is a number with no fractional part that is within
// the range of int, the same test LaunchDarkly's SDKs apply (for example when
// bucketing by an attribute).
func (v Value) IsInt() bool {
	if v.typ != NumberType {
		return false
	}
	f := v.num()
	return f == math.Trunc(f) && f >= math.MinInt && f < math.MaxInt
}

// IsString reports whether v is a string.
func (v Value) IsString() bool { return v.typ == StringType }

// IsArray reports whether v is an array.
func (v Value) IsArray() bool { return v.typ == ArrayType }

// IsObject reports whether v is an object.
func (v Value) IsObject() bool { return v.typ == ObjectType }

// Bool returns the boolean held by v, or false when v is not a boolean.
func (v Value) Bool() bool { return v.typ == BoolType && v.n != 0 }

// Float64 returns the number held by v, or 0 when v is not a number.
func (v Value) Float64() float64 {
	if v.typ != NumberType {
		return 0
	}
	return v.num()
}

// Int returns the number held by v truncated toward zero and clamped to the
// range of int, or 0 when v is not a number (or is NaN).
func (v Value) Int() int {
	f := v.num()
	if v.typ != NumberType || math.IsNaN(f) {
		return 0
	}
	switch {
	case f >= math.MaxInt:
		return math.MaxInt
	case f <= math.MinInt:
		return math.MinInt
	}
	return int(f)
}

// Str returns the string held by v, or "" when v is not a string.
func (v Value) Str() string {
	if v.typ != StringType {
		return ""
	}
	return v.str()
}

// Len returns the number of elements of an array or properties of an
// object, and 0 for other types.
func (v Value) Len() int {
	switch v.typ {
	case ArrayType:
		return int(v.n)
	case ObjectType:
		return len(v.obj())
	}
	return 0
}

// Index returns element i of an array, or null when v is not an array or i
// is out of range.
func (v Value) Index(i int) Value {
	if v.typ != ArrayType || i < 0 || i >= int(v.n) {
		return Value{}
	}
	return v.arr()[i]
}

// Get returns the property key of an object and whether it exists. It
// returns null and false when v is not an object.
func (v Value) Get(key string) (Value, bool) {
	if v.typ != ObjectType {
		return Value{}, false
	}
	p, ok := v.obj()[key]
	return p, ok
}

// Keys returns the property names of an object in sorted order, or nil when
// v is not an object. The caller owns the returned slice.
func (v Value) Keys() []string {
	if v.typ != ObjectType {
		return nil
	}
	obj := v.obj()
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Equal reports whether v and o are the same JSON value: same type, numbers
// equal by value, and arrays and objects equal element by element.
func (v Value) Equal(o Value) bool {
	if v.typ != o.typ {
		return false
	}
	switch v.typ {
	case NullType:
		return true
	case BoolType:
		return v.n == o.n
	case NumberType:
		return v.num() == o.num()
	case StringType:
		return v.str() == o.str()
	case ArrayType:
		if v.n != o.n {
			return false
		}
		va, oa := v.arr(), o.arr()
		for i := range va {
			if !va[i].Equal(oa[i]) {
				return false
			}
		}
		return true
	case ObjectType:
		vo, oo := v.obj(), o.obj()
		if len(vo) != len(oo) {
			return false
		}
		for k, x := range vo {
			y, ok := oo[k]
			if !ok || !x.Equal(y) {
				return false
			}
		}
		return true
	}
	return false
}

// Any returns v as the Go value encoding/json would decode it into: nil,
// bool, float64, string, []any or map[string]any. The result is a fresh copy
// the caller may change.
func (v Value) Any() any {
	switch v.typ {
	case BoolType:
		return v.n != 0
	case NumberType:
		return v.num()
	case StringType:
		return v.str()
	case ArrayType:
		a := make([]any, v.n)
		for i, e := range v.arr() {
			a[i] = e.Any()
		}
		return a
	case ObjectType:
		obj := v.obj()
		m := make(map[string]any, len(obj))
		for k, e := range obj {
			m[k] = e.Any()
		}
		return m
	}
	return nil
}

// Entries iterates over the properties of an object in unspecified order;
// it yields nothing when v is not an object. Use [Value.Keys] for sorted
// order.
func (v Value) Entries() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if v.typ != ObjectType {
			return
		}
		for k, e := range v.obj() {
			if !yield(k, e) {
				return
			}
		}
	}
}

// Elements iterates over the elements of an array with their indexes; it
// yields nothing when v is not an array.
func (v Value) Elements() iter.Seq2[int, Value] {
	return func(yield func(int, Value) bool) {
		if v.typ != ArrayType {
			return
		}
		for i, e := range v.arr() {
			if !yield(i, e) {
				return
			}
		}
	}
}
