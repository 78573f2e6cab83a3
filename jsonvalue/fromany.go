package jsonvalue

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/daemonflag/daemonflag/internal/jsontok"
)

// maxDepth bounds the nesting of arrays and objects, as for [Parse].
const maxDepth = jsontok.MaxNesting

var errTooDeep = errors.New("jsonvalue: exceeded max depth")

// FromAny converts a Go value to a Value. It understands the types
// encoding/json decodes into (nil, bool, float64, string, []any,
// map[string]any, json.Number), the other Go numeric types, Value itself,
// []Value, map[string]Value and json.RawMessage; any other value is encoded
// with encoding/json and the result parsed, so structs with json tags work
// too. It returns an error when x cannot be expressed as JSON.
func FromAny(x any) (Value, error) {
	return fromAny(x, 0)
}

func fromAny(x any, depth int) (Value, error) {
	if depth > maxDepth {
		return Value{}, errTooDeep
	}
	switch t := x.(type) {
	case nil:
		return Value{}, nil
	case Value:
		return t, nil
	case *Value:
		if t == nil {
			return Value{}, nil
		}
		return *t, nil
	case bool:
		return Bool(t), nil
	case string:
		return String(t), nil
	case float64:
		return finite(t)
	case float32:
		return finite(float64(t))
	case int:
		return Int(t), nil
	case int8:
		return Float(float64(t)), nil
	case int16:
		return Float(float64(t)), nil
	case int32:
		return Float(float64(t)), nil
	case int64:
		return Float(float64(t)), nil
	case uint:
		return Float(float64(t)), nil
	case uint8:
		return Float(float64(t)), nil
	case uint16:
		return Float(float64(t)), nil
	case uint32:
		return Float(float64(t)), nil
	case uint64:
		return Float(float64(t)), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return Value{}, fmt.Errorf("jsonvalue: invalid number %q", string(t))
		}
		return finite(f)
	case json.RawMessage:
		return Parse(t)
	case []Value:
		return Array(t...), nil
	case map[string]Value:
		return Object(t), nil
	case []any:
		arr := make([]Value, len(t))
		for i, e := range t {
			v, err := fromAny(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			arr[i] = v
		}
		return mkArray(arr), nil
	case map[string]any:
		obj := make(map[string]Value, len(t))
		for k, e := range t {
			v, err := fromAny(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			obj[k] = v
		}
		return mkObject(obj), nil
	}
	data, err := json.Marshal(x)
	if err != nil {
		return Value{}, fmt.Errorf("jsonvalue: cannot convert %T: %w", x, err)
	}
	return Parse(data)
}

func finite(f float64) (Value, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return Value{}, fmt.Errorf("jsonvalue: unsupported number %v", f)
	}
	return Float(f), nil
}
