// Package jsonvalue provides Value, an immutable JSON value.
//
// A Value is a small struct, not an interface: the zero Value is JSON null,
// values are safe to copy and to share between goroutines, and nothing a
// caller does to a Value changes it. Constructors that take slices or maps
// copy them, and no method hands out the internal slice or map.
//
// Numbers are float64, as in JavaScript and in LaunchDarkly's data model;
// [Value.IsInt] reports a number with no fractional part that fits in an int.
//
// The read methods ([Value.Type], [Value.Bool], [Value.Float64], [Value.Str],
// [Value.Len], [Value.Index], [Value.Get], [Value.Equal] and the Is methods)
// never allocate, so an evaluator can inspect values on its hot path.
//
// [Parse] accepts any JSON document (RFC 8259, as encoding/json does), and
// [Value.JSON] writes the same bytes encoding/json would write for the
// equivalent Go value: object keys sorted, HTML characters escaped.
package jsonvalue
