package client

import (
	"errors"
	"strconv"

	"github.com/daemonflag/daemonflag/evaluation"
)

// ErrNoStore is returned by [New] when Config.Store is nil and the client is
// not offline.
var ErrNoStore = errors.New("client: Config.Store is nil: open the store your writer fills " +
	"(for example with bolt.Open) and pass it; the client has no default store")

// Sentinel errors for the error reasons of a variation call. The error a
// variation returns is an [*EvaluationError] that matches exactly one of them
// with errors.Is, and may also match its cause (for example
// store.ErrUnavailable, or an evalctx error).
var (
	// ErrClientNotReady: the client is offline or closed
	// (CLIENT_NOT_READY).
	ErrClientNotReady = errors.New("client not ready")
	// ErrFlagNotFound: the store has no such flag, or it is deleted
	// (FLAG_NOT_FOUND).
	ErrFlagNotFound = errors.New("flag not found")
	// ErrInvalidContext: the evaluation context is invalid
	// (USER_NOT_SPECIFIED); the cause is the context's own error.
	ErrInvalidContext = errors.New("invalid context")
	// ErrWrongType: the flag's value does not have the type the variation
	// method returns (WRONG_TYPE).
	ErrWrongType = errors.New("flag value has the wrong type")
	// ErrMalformedFlag: the flag's data is inconsistent (a variation index
	// out of range, a prerequisite cycle, ...) or its stored JSON cannot be
	// decoded (then the cause also matches store.ErrMalformedItem)
	// (MALFORMED_FLAG).
	ErrMalformedFlag = errors.New("malformed flag")
	// ErrDataUnavailable: the flag could not be read: the store failed and
	// the cache holds no earlier value of it (the cause matches
	// store.ErrUnavailable), or ctx ended while waiting for the store
	// (EXCEPTION).
	ErrDataUnavailable = errors.New("flag data unavailable")
)

// EvaluationError is the error of a variation call whose reason is ERROR.
// errors.Is matches it to the sentinel of its Kind ([ErrFlagNotFound],
// ...) and to its cause, if any. An error without a cause is shared by the
// calls that return it for the same flag key and kind (so that those calls
// make no allocation): treat it as read-only.
type EvaluationError struct {
	// FlagKey is the key of the flag that was evaluated.
	FlagKey string
	// Kind is the reason's error kind.
	Kind evaluation.ErrorKind
	// Err is the underlying cause, or nil.
	Err error
}

// sentinel returns the sentinel error for an error kind.
func sentinel(k evaluation.ErrorKind) error {
	switch k {
	case evaluation.ErrorClientNotReady:
		return ErrClientNotReady
	case evaluation.ErrorFlagNotFound:
		return ErrFlagNotFound
	case evaluation.ErrorUserNotSpecified:
		return ErrInvalidContext
	case evaluation.ErrorWrongType:
		return ErrWrongType
	case evaluation.ErrorMalformedFlag:
		return ErrMalformedFlag
	default:
		return ErrDataUnavailable
	}
}

// Error implements error: `client: flag "my-flag": flag not found`.
func (e *EvaluationError) Error() string {
	s := "client: flag " + strconv.Quote(e.FlagKey) + ": " + sentinel(e.Kind).Error()
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is reports whether target is the sentinel error of e's Kind.
func (e *EvaluationError) Is(target error) bool { return target == sentinel(e.Kind) }

// Unwrap returns the cause.
func (e *EvaluationError) Unwrap() error { return e.Err }

func evalError(key string, kind evaluation.ErrorKind, cause error) error {
	return &EvaluationError{FlagKey: key, Kind: kind, Err: cause}
}
