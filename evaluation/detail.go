package evaluation

import (
	"strconv"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// NoVariation is the VariationIndex of a detail that carries no value: the
// caller's default applies.
const NoVariation = -1

// Detail is the outcome of evaluating one flag: the value, the index of the
// variation it came from, and why.
type Detail struct {
	// Value is the flag's value; null when VariationIndex is NoVariation
	// (the caller substitutes its default).
	Value jsonvalue.Value
	// VariationIndex is the index into the flag's variations, or
	// NoVariation (-1).
	VariationIndex int
	// Reason explains the result.
	Reason Reason
}

// IsDefaultValue reports whether the detail carries no value, so the
// caller's default applies (an error, or an off flag without off
// variation).
func (d Detail) IsDefaultValue() bool { return d.VariationIndex < 0 }

// MarshalJSON writes {"value":…,"variationIndex":…,"reason":…}, leaving
// out variationIndex when there is none.
func (d Detail) MarshalJSON() ([]byte, error) {
	b := append(make([]byte, 0, 96), `{"value":`...)
	b = d.Value.AppendJSON(b)
	if d.VariationIndex >= 0 {
		b = append(b, `,"variationIndex":`...)
		b = strconv.AppendInt(b, int64(d.VariationIndex), 10)
	}
	b = append(b, `,"reason":`...)
	b = d.Reason.AppendJSON(b)
	return append(b, '}'), nil
}

// Result is everything [Evaluator.Evaluate] returns.
type Result struct {
	// Detail is the value, variation index and reason.
	Detail Detail
	// IsExperiment is true when the evaluation counts as part of an
	// experiment: the reason says inExperiment, or (legacy experiments) the
	// flag falls through with trackEventsFallthrough or matches a rule with
	// trackEvents. Events for such evaluations carry the reason.
	IsExperiment bool
	// Prerequisites are the keys of the flag's direct prerequisites that
	// were evaluated, in order (evaluation stops at the first failure or at
	// one that does not exist, which is not listed). The slice is shared
	// with the flag: callers must not modify it.
	Prerequisites []string
}

// CheckType reports whether a flag value satisfies a typed variation call
// that wants the JSON type want, with LaunchDarkly's rule: the types must
// be equal, where integers and doubles are both [jsonvalue.NumberType]
// (an int variation of 1.5 passes the check and the caller truncates it
// toward zero, as LaunchDarkly does); want == [jsonvalue.NullType] means
// "any type" (a JSON variation) and always passes. A null flag value fails
// every check except "any".
func CheckType(v jsonvalue.Value, want jsonvalue.Type) bool {
	return want == jsonvalue.NullType || v.Type() == want
}

// TypedDetail turns an evaluation detail into what a typed variation call
// returns, exactly as LaunchDarkly's clients do: when the detail carries no
// value, the value becomes def (reason unchanged); when the value fails
// [CheckType] for want, the result is def with reason ERROR/WRONG_TYPE and
// no variation index. Pass want = def.Type() for the usual case and
// [jsonvalue.NullType] for a JSON (any-type) variation; LaunchDarkly also
// skips the check when def is null.
func TypedDetail(d Detail, def jsonvalue.Value, want jsonvalue.Type) Detail {
	if d.IsDefaultValue() {
		d.Value = def
		return d
	}
	if !CheckType(d.Value, want) {
		return Detail{Value: def, VariationIndex: NoVariation, Reason: ErrorReason(ErrorWrongType)}
	}
	return d
}
