package evalctx

import (
	"errors"
	"strings"
)

// Sentinel errors for the ways a Context or Ref can be invalid. The errors a
// Context reports wrap one of these (test with errors.Is) and add detail.
var (
	// ErrUninitialized is the error of the zero Context, which no
	// constructor or builder made.
	ErrUninitialized = errors.New("evalctx: uninitialized context")
	// ErrInvalidKind reports a kind that is "kind", "multi" (for a single
	// context), empty in JSON, or has characters outside [A-Za-z0-9._-].
	ErrInvalidKind = errors.New("evalctx: invalid context kind")
	// ErrEmptyKey reports an empty key; only the old user JSON format
	// allows one.
	ErrEmptyKey = errors.New("evalctx: context key must not be empty")
	// ErrMissingKey reports context JSON without a "key" property.
	ErrMissingKey = errors.New("evalctx: context JSON has no key")
	// ErrNoContexts reports a multi-kind context with no individual contexts.
	ErrNoContexts = errors.New("evalctx: multi-kind context has no individual contexts")
	// ErrDuplicateKind reports a multi-kind context with two contexts of one kind.
	ErrDuplicateKind = errors.New("evalctx: multi-kind context has more than one context of a kind")
	// ErrInvalidJSON reports context JSON that is malformed or has a
	// property of the wrong type.
	ErrInvalidJSON = errors.New("evalctx: invalid context JSON")
	// ErrInvalidRef reports an attribute reference that cannot be parsed.
	ErrInvalidRef = errors.New("evalctx: invalid attribute reference")
)

// multiError reports every problem of a multi-kind context at once while
// still matching each cause with errors.Is.
type multiError struct {
	errs []error
}

func (e *multiError) Error() string {
	var sb strings.Builder
	sb.WriteString("evalctx: invalid multi-kind context: ")
	for i, err := range e.errs {
		if i > 0 {
			sb.WriteString("; ")
		}
		sb.WriteString(strings.TrimPrefix(err.Error(), "evalctx: "))
	}
	return sb.String()
}

func (e *multiError) Unwrap() []error { return e.errs }
