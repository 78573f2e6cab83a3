package relay

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// ErrSDKKeyRejected is matched (with errors.Is) by the error [Run]
// returns when the service answers 401 Unauthorized or 403 Forbidden: the
// SDK key is wrong, or was revoked.
var ErrSDKKeyRejected = errors.New("the service rejected the SDK key")

// HTTPError is the error [Run] returns when the service answers with a
// status that retrying may not fix (see [Recoverable]) and
// [Options.KeepRetrying] is false.
type HTTPError struct {
	// URL is the URL requested.
	URL string
	// StatusCode is the HTTP status of the response.
	StatusCode int
}

// Error implements error. It says what to do for the common cases: a
// rejected key, and a 404 from a polling request (a Relay Proxy serves
// server-side SDKs by streaming only).
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("relay: GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		msg += ": the service rejected the SDK key (is it the server-side SDK key of the right environment?)"
	case e.StatusCode == http.StatusNotFound && e.polling():
		msg += ": no polling service there; a LaunchDarkly Relay Proxy serves server-side SDKs by streaming only, so stream from it instead"
	case e.StatusCode == http.StatusNotFound:
		msg += ": no streaming service there (is the base URI right?)"
	}
	return msg
}

func (e *HTTPError) polling() bool {
	path, _, _ := strings.Cut(e.URL, "?")
	return strings.HasSuffix(path, "/sdk/latest-all")
}

// Is reports whether target is [ErrSDKKeyRejected] and the status is 401
// or 403.
func (e *HTTPError) Is(target error) bool {
	return target == ErrSDKKeyRejected &&
		(e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// Recoverable reports whether a request that got status may succeed when
// tried again, by LaunchDarkly's rule: every status below 400 or from 500
// on, and 400, 408 and 429. Every other 4xx (401, 403, 404, 405, ...) is
// not: a LaunchDarkly SDK stops, or, under its RETRY specification, retries
// in the extended regime ([Options.KeepRetrying]).
func Recoverable(status int) bool {
	if status < 400 || status >= 500 {
		return true
	}
	switch status {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// malformedError is malformed data from the service.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return "malformed data: " + e.msg }

func malformedf(format string, args ...any) error {
	return &malformedError{msg: fmt.Sprintf(format, args...)}
}

// storeError is a failed store write.
type storeError struct{ err error }

func (e *storeError) Error() string { return "store write failed: " + e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }
