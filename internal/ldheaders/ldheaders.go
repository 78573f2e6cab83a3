// Package ldheaders builds the identification headers LaunchDarkly's SDKs
// send on every request to LaunchDarkly (streaming, polling and events), so
// that every daemonflag component that talks to LaunchDarkly (the relay, the
// events sender) sends the same ones, validated the same way:
//
//   - X-LaunchDarkly-Tags: application metadata, "application-id/ID" and
//     "application-version/VERSION" joined by a space. LaunchDarkly accepts
//     only ASCII letters, digits, '.', '-' and '_' in a value, at most 64 of
//     them; an invalid value is dropped (with a warning), as LaunchDarkly's
//     SDKs drop it.
//   - X-LaunchDarkly-Wrapper: "NAME" or "NAME/VERSION", when a wrapper name
//     is configured (a version without a name is not sent).
//   - X-LaunchDarkly-Instance-Id: a random UUID (version 4) that identifies
//     one SDK client instance for as long as it lives, the same on every
//     request of that instance and different between instances, as
//     LaunchDarkly's server-side SDKs send it.
//
// Use it as: h := ldheaders.Metadata{...}.Headers(logger) once, then
// ldheaders.Apply(req.Header, h) on each request.
package ldheaders

import (
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
)

// Header names.
const (
	HeaderTags       = "X-LaunchDarkly-Tags"
	HeaderWrapper    = "X-LaunchDarkly-Wrapper"
	HeaderInstanceID = "X-LaunchDarkly-Instance-Id"
)

// MaxTagValueLength is the longest application ID or version LaunchDarkly
// accepts.
const MaxTagValueLength = 64

// Metadata is what a component tells LaunchDarkly about itself. The zero
// value sends no tags and no wrapper header, and no instance ID.
type Metadata struct {
	// ApplicationID and ApplicationVersion identify the application (see
	// [ValidateTagValue] for what LaunchDarkly accepts). Empty: not sent.
	ApplicationID      string
	ApplicationVersion string

	// WrapperName and WrapperVersion name a library that wraps daemonflag.
	// Empty WrapperName: no wrapper header.
	WrapperName    string
	WrapperVersion string

	// InstanceID is sent as X-LaunchDarkly-Instance-Id. Empty: not sent
	// (callers normally fill it with [NewInstanceID]).
	InstanceID string
}

// ValidateTagValue reports why LaunchDarkly would refuse v as a tag value
// (application ID or version), or nil. The empty string is valid (it means
// "not set").
func ValidateTagValue(v string) error {
	if len(v) > MaxTagValueLength {
		return fmt.Errorf("longer than %d characters (%d)", MaxTagValueLength, len(v))
	}
	for i := 0; i < len(v); i++ {
		if !tagChar(v[i]) {
			return fmt.Errorf("character %q at byte %d is not one of A-Z a-z 0-9 . - _", v[i], i)
		}
	}
	return nil
}

func tagChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_'
}

// Tags returns the X-LaunchDarkly-Tags value for an application ID and
// version ("" when neither is set or valid). Invalid values are left out;
// each one is logged once as a warning on logger (nil: slog.Default()),
// naming the field but not repeating the value's offending bytes beyond the
// first.
func Tags(appID, appVersion string, logger *slog.Logger) string {
	if logger == nil {
		logger = slog.Default()
	}
	var parts []string
	for _, t := range []struct{ name, field, value string }{
		{"application-id", "ApplicationID", appID},
		{"application-version", "ApplicationVersion", appVersion},
	} {
		if t.value == "" {
			continue
		}
		if err := ValidateTagValue(t.value); err != nil {
			logger.Warn("application metadata value dropped: LaunchDarkly would refuse it",
				"field", t.field, "why", err.Error())
			continue
		}
		parts = append(parts, t.name+"/"+t.value)
	}
	return strings.Join(parts, " ")
}

// Wrapper returns the X-LaunchDarkly-Wrapper value: "NAME/VERSION", "NAME",
// or "" without a name.
func Wrapper(name, version string) string {
	switch {
	case name == "":
		return ""
	case version == "":
		return name
	}
	return name + "/" + version
}

// Headers validates m and returns the headers to add to every request
// (invalid tag values dropped with a warning on logger, nil meaning
// slog.Default()). A value holding a control character (which would split
// a header) is dropped the same way.
func (m Metadata) Headers(logger *slog.Logger) http.Header {
	if logger == nil {
		logger = slog.Default()
	}
	h := http.Header{}
	if v := Tags(m.ApplicationID, m.ApplicationVersion, logger); v != "" {
		h.Set(HeaderTags, v)
	}
	if v := Wrapper(m.WrapperName, m.WrapperVersion); v != "" {
		if headerSafe(v) {
			h.Set(HeaderWrapper, v)
		} else {
			logger.Warn("wrapper name or version dropped: it holds a control character")
		}
	}
	if m.InstanceID != "" {
		if headerSafe(m.InstanceID) {
			h.Set(HeaderInstanceID, m.InstanceID)
		} else {
			logger.Warn("instance ID dropped: it holds a control character")
		}
	}
	return h
}

func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}

// Apply sets each header of h on dst (replacing what dst had under that
// name).
func Apply(dst, h http.Header) {
	for k, v := range h {
		dst[k] = v
	}
}

// NewInstanceID returns a new random UUID, version 4 (RFC 9562), in its
// canonical lower-case form.
func NewInstanceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
