package model

import (
	"errors"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// ErrEmptyAttribute is what [Clause.AttributeErr] returns for a clause
// (other than segmentMatch) whose attribute is empty or absent; LaunchDarkly
// treats such a flag as malformed.
var ErrEmptyAttribute = errors.New("clause has no attribute")

// Clause is one condition of a flag rule or segment rule. Segment
// references are clauses whose Op is [OpSegmentMatch] and whose Values are
// segment keys.
type Clause struct {
	// The fields an evaluation reads come first (the first 64 bytes hold
	// all it needs for most operators): in a mix of many flags each cache
	// line of a clause is a miss.

	// Negate inverts the result (but a missing attribute never matches).
	Negate bool

	// Set by preprocessing (see preprocess.go), in the word of Negate.
	prepared bool
	op       opcode
	kindAttr bool // the attribute is exactly "kind"
	nameAttr bool // the attribute is a valid top-level name
	attrOK   bool // the attribute can be evaluated (AttributeErr is nil)

	// ContextKind selects which context of a multi-kind context is tested;
	// empty means "user".
	ContextKind evalctx.Kind
	// Values are compared with the attribute's value; the clause matches
	// when any of them does.
	Values []jsonvalue.Value
	// Attribute is the attribute tested: a literal name when ContextKind is
	// empty, otherwise a parsed reference. See [Clause.HasAttribute].
	Attribute evalctx.Ref
	// Op is the operator.
	Op Operator

	prep *clausePrep // only for parsed values or unknown properties
}

// extra returns the clause's unknown properties.
func (c *Clause) extra() []rawField {
	if c.prep == nil {
		return nil
	}
	return c.prep.extra.list()
}

// HasAttribute reports whether the clause names an attribute. An empty or
// absent attribute is allowed only for segmentMatch clauses.
func (c *Clause) HasAttribute() bool {
	return refDefined(c.Attribute)
}

// AttributeErr returns nil when the clause's attribute can be evaluated,
// [ErrEmptyAttribute] when it is missing, or the reference's error when it
// is an invalid reference. Either error makes the flag malformed.
func (c *Clause) AttributeErr() error {
	if c.prepared && c.attrOK {
		return nil
	}
	if !c.HasAttribute() {
		return ErrEmptyAttribute
	}
	return c.Attribute.Err()
}

// AttributeName returns the attribute's name when the attribute is a plain
// top-level attribute (a reference of depth 1), so that it can be looked up
// with [evalctx.Context.GetValue] without path handling.
func (c *Clause) AttributeName() (string, bool) {
	if c.prepared {
		if c.nameAttr {
			return c.Attribute.Component(0), true
		}
		return "", false
	}
	if c.Attribute.Err() == nil && c.Attribute.Depth() == 1 {
		return c.Attribute.Component(0), true
	}
	return "", false
}

// IsSegmentMatch reports whether the clause's operator is segmentMatch
// (for a preprocessed clause, without reading the operator's string).
func (c *Clause) IsSegmentMatch() bool {
	if c.prepared {
		return c.op == opSegmentMatch
	}
	return c.Op == OpSegmentMatch
}

// IsKindAttribute reports whether the clause tests the context kinds (its
// attribute is exactly "kind") instead of an attribute value.
func (c *Clause) IsKindAttribute() bool {
	if c.prepared {
		return c.kindAttr
	}
	return isKindRef(c.Attribute)
}

func isKindRef(r evalctx.Ref) bool {
	return r.String() == "kind" && r.Depth() == 1
}

// refDefined reports whether a reference was built from a non-empty string.
func refDefined(r evalctx.Ref) bool {
	return r.String() != ""
}

// attributeString returns the attribute as LaunchDarkly writes it: the
// literal name (no context kind) or the reference text, which for a decoded
// clause is the original text (see makeRef).
func attributeString(r evalctx.Ref, kind evalctx.Kind) string {
	if !refDefined(r) {
		return ""
	}
	if kind == "" && r.Depth() == 1 {
		return r.Component(0)
	}
	return r.String()
}

// makeRef applies LaunchDarkly's attribute-reference rule: with no context
// kind the text is a literal attribute name, otherwise a reference.
func makeRef(s string, kind evalctx.Kind) evalctx.Ref {
	switch {
	case s == "":
		return evalctx.Ref{}
	case kind == "":
		return evalctx.NewLiteralRef(s)
	default:
		return evalctx.NewRef(s)
	}
}

// The decoders read an attribute before they may know the object's context
// kind, and keep no copy of the text: rawRef holds the text as a literal
// reference (whose Component(0) is the text itself), and finishRef applies
// makeRef's rule once the object is read.

func rawRef(s string) evalctx.Ref { return makeRef(s, "") }

func finishRef(r evalctx.Ref, kind evalctx.Kind) evalctx.Ref {
	if kind == "" || !refDefined(r) {
		return r
	}
	return evalctx.NewRef(r.Component(0))
}
