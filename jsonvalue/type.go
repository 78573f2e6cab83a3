package jsonvalue

// Type is the JSON type of a Value.
type Type uint8

// The JSON types. NullType is the zero Type, as the zero Value is null.
const (
	NullType Type = iota
	BoolType
	NumberType
	StringType
	ArrayType
	ObjectType
)

// String returns the JSON name of the type ("null", "boolean", "number",
// "string", "array" or "object").
func (t Type) String() string {
	switch t {
	case NullType:
		return "null"
	case BoolType:
		return "boolean"
	case NumberType:
		return "number"
	case StringType:
		return "string"
	case ArrayType:
		return "array"
	case ObjectType:
		return "object"
	default:
		return "unknown"
	}
}
