package jsonvalue

import (
	"iter"
	"math"
	"slices"
)

// Value is an immutable JSON value. The zero Value is null.
type Value struct {
	typ Type
	b   bool
	n   float64
	s   string
	arr []Value
	obj map[string]Value
}

// Null returns the JSON null value (the same as the zero Value).
func Null() Value { return Value{} }

// Bool returns a JSON boolean.
func Bool(b bool) Value { return Value{typ: BoolType, b: b} }

// Int returns a JSON number holding n. Integers beyond ±2^53 lose precision,
// as they do in any JSON reader that uses float64.
func Int(n int) Value { return Value{typ: NumberType, n: float64(n)} }

// Float returns a JSON number holding f. JSON cannot express NaN or the
// infinities; such a Value encodes as null.
func Float(f float64) Value { return Value{typ: NumberType, n: f} }

// String returns a JSON string.
func String(s string) Value { return Value{typ: StringType, s: s} }

// Array returns a JSON array of the given elements. The slice is copied.
func Array(vs ...Value) Value {
	if len(vs) == 0 {
		return Value{typ: ArrayType}
	}
	return Value{typ: ArrayType, arr: slices.Clone(vs)}
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
	return Value{typ: ObjectType, obj: c}
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
	return v.typ == NumberType && v.n == math.Trunc(v.n) &&
		v.n >= math.MinInt && v.n < math.MaxInt
}

// IsString reports whether v is a string.
func (v Value) IsString() bool { return v.typ == StringType }

// IsArray reports whether v is an array.
func (v Value) IsArray() bool { return v.typ == ArrayType }

// IsObject reports whether v is an object.
func (v Value) IsObject() bool { return v.typ == ObjectType }

// Bool returns the boolean held by v, or false when v is not a boolean.
func (v Value) Bool() bool { return v.typ == BoolType && v.b }

// Float64 returns the number held by v, or 0 when v is not a number.
func (v Value) Float64() float64 {
	if v.typ != NumberType {
		return 0
	}
	return v.n
}

// Int returns the number held by v truncated toward zero and clamped to the
// range of int, or 0 when v is not a number (or is NaN).
func (v Value) Int() int {
	if v.typ != NumberType || math.IsNaN(v.n) {
		return 0
	}
	switch {
	case v.n >= math.MaxInt:
		return math.MaxInt
	case v.n <= math.MinInt:
		return math.MinInt
	}
	return int(v.n)
}

// Str returns the string held by v, or "" when v is not a string.
func (v Value) Str() string {
	if v.typ != StringType {
		return ""
	}
	return v.s
}

// Len returns the number of elements of an array or properties of an
// object, and 0 for other types.
func (v Value) Len() int {
	switch v.typ {
	case ArrayType:
		return len(v.arr)
	case ObjectType:
		return len(v.obj)
	}
	return 0
}

// Index returns element i of an array, or null when v is not an array or i
// is out of range.
func (v Value) Index(i int) Value {
	if v.typ != ArrayType || i < 0 || i >= len(v.arr) {
		return Value{}
	}
	return v.arr[i]
}

// Get returns the property key of an object and whether it exists. It
// returns null and false when v is not an object.
func (v Value) Get(key string) (Value, bool) {
	if v.typ != ObjectType {
		return Value{}, false
	}
	p, ok := v.obj[key]
	return p, ok
}

// Keys returns the property names of an object in sorted order, or nil when
// v is not an object. The caller owns the returned slice.
func (v Value) Keys() []string {
	if v.typ != ObjectType {
		return nil
	}
	keys := make([]string, 0, len(v.obj))
	for k := range v.obj {
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
		return v.b == o.b
	case NumberType:
		return v.n == o.n
	case StringType:
		return v.s == o.s
	case ArrayType:
		if len(v.arr) != len(o.arr) {
			return false
		}
		for i := range v.arr {
			if !v.arr[i].Equal(o.arr[i]) {
				return false
			}
		}
		return true
	case ObjectType:
		if len(v.obj) != len(o.obj) {
			return false
		}
		for k, x := range v.obj {
			y, ok := o.obj[k]
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
		return v.b
	case NumberType:
		return v.n
	case StringType:
		return v.s
	case ArrayType:
		a := make([]any, len(v.arr))
		for i, e := range v.arr {
			a[i] = e.Any()
		}
		return a
	case ObjectType:
		m := make(map[string]any, len(v.obj))
		for k, e := range v.obj {
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
		for k, e := range v.obj {
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
		for i, e := range v.arr {
			if !yield(i, e) {
				return
			}
		}
	}
}
