package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Defaults of [Options].
const (
	maxRetryDelay = 30 * time.Second

	// DefaultPollInterval is the polling interval of a polling relay,
	// LaunchDarkly's SDKs' default (and the shortest interval
	// LaunchDarkly's own polling service allows).
	DefaultPollInterval = 30 * time.Second
	// DefaultRetryDelay is the first delay before a streaming relay
	// connects again, as in LaunchDarkly's SDKs.
	DefaultRetryDelay = time.Second
	// DefaultReadTimeout is how long a stream may stay silent
	// (LaunchDarkly sends a heartbeat comment every few minutes) before the
	// relay drops it and connects again.
	DefaultReadTimeout = 5 * time.Minute
	// DefaultMaxEventSize bounds one server-sent event (a "put" holds
	// the whole dataset).
	DefaultMaxEventSize = 256 << 20
)

const (
	// healthyAfter is how long a stream must have stayed up for the
	// next reconnection to start again at the first retry delay.
	healthyAfter = time.Minute
	// requestTimeout bounds a poll request and, for a stream, the
	// wait for the response headers.
	requestTimeout = time.Minute
	// userAgent identifies the relay to the service.
	userAgent = "daemonflag-relay"
)

// Options configures [Run]. Exactly one of StreamURI and PollURI is
// required; the zero value of every other field selects its documented
// default.
type Options struct {
	// SDKKey is the LaunchDarkly environment's server-side SDK key, sent in
	// the Authorization header. Required. The relay never logs it or puts
	// it in an error.
	SDKKey string

	// StreamURI is the base URI of a streaming service: LaunchDarkly's
	// ("https://stream.launchdarkly.com") or a Relay Proxy's. The relay
	// reads the server-sent events at StreamURI + "/all".
	StreamURI string

	// PollURI is the base URI of a polling service: LaunchDarkly's
	// ("https://sdk.launchdarkly.com") or a Relay Proxy's. The relay reads
	// PollURI + "/sdk/latest-all" every PollInterval.
	PollURI string

	// PollInterval is the time between polls. Zero:
	// [DefaultPollInterval] (30 s).
	PollInterval time.Duration

	// InitialRetryDelay is the delay before a dropped or failed stream is
	// connected again. It doubles with each failed attempt up to 30 s, and
	// each delay is shortened by a random part of up to a half (jitter), so
	// that many relays do not reconnect at once. A stream that stayed up
	// for a minute starts again at InitialRetryDelay. Zero:
	// [DefaultRetryDelay] (1 s).
	InitialRetryDelay time.Duration

	// ReadTimeout is how long a stream may go without a byte (events or
	// heartbeats) before the relay drops it and connects again. Zero:
	// [DefaultReadTimeout] (5 min).
	ReadTimeout time.Duration

	// MaxEventSize bounds one server-sent event; a larger one counts as
	// malformed data. Zero: [DefaultMaxEventSize] (256 MiB).
	MaxEventSize int

	// HTTPClient makes the requests. Its Timeout must be zero for
	// streaming, which holds one response open for hours. Nil: a client
	// like http.DefaultClient (with its proxy settings from the
	// environment) that waits at most a minute for response headers.
	HTTPClient *http.Client

	// Logger receives what the relay does: datasets and items written,
	// connections, and every problem. Nil: slog.Default().
	Logger *slog.Logger

	// OnUpdate, when set, is called after every write to the store, on the
	// relay's goroutine (a slow OnUpdate delays the relay).
	OnUpdate func(Update)
}

// Update describes one write of [Run] to the store.
type Update struct {
	// Init is true when the whole dataset was replaced (a "put" event, or
	// a poll); Flags and Segments then count its items, tombstones
	// included. Otherwise one item was written: Kind, Key, Version and
	// Deleted describe it.
	Init            bool
	Flags, Segments int

	Kind    store.Kind
	Key     string
	Version int
	Deleted bool
	// Applied reports whether the store took a single-item write; it is
	// false when the store already held that version or a newer one.
	Applied bool
}

// ErrSDKKeyRejected is matched (with errors.Is) by the error [Run]
// returns when the service answers 401 Unauthorized or 403 Forbidden: the
// SDK key is wrong, or was revoked.
var ErrSDKKeyRejected = errors.New("the service rejected the SDK key")

// HTTPError is the error [Run] returns when the service answers
// with a status that trying again cannot fix: 401 and 403 (which also
// match [ErrSDKKeyRejected]) and every other 4xx status except 400, 408
// and 429, as LaunchDarkly's SDKs decide.
type HTTPError struct {
	// URL is the URL requested.
	URL string
	// StatusCode is the HTTP status of the response.
	StatusCode int
}

// Error implements error.
func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("relay: GET %s: %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
	if e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden {
		msg += ": the service rejected the SDK key (is it the server-side SDK key of the right environment?)"
	}
	return msg
}

// Is reports whether target is [ErrSDKKeyRejected] and the status is 401
// or 403.
func (e *HTTPError) Is(target error) bool {
	return target == ErrSDKKeyRejected &&
		(e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden)
}

// recoverableStatus reports whether a request that got status may succeed
// when tried again.
func recoverableStatus(status int) bool {
	if status < 400 || status >= 500 {
		return true
	}
	switch status {
	case http.StatusBadRequest, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return true
	}
	return false
}

// Relay keeps a store filled from a LaunchDarkly streaming or polling
// service (LaunchDarkly itself, or a Relay Proxy) until ctx is done, and
// then returns nil. This is what a LaunchDarkly SDK or Relay Proxy does in
// front of a persistent store, so that clients in daemon mode read what
// LaunchDarkly serves.
//
// Streaming (StreamURI): the relay reads the server-sent events at
// StreamURI + "/all". A "put" event replaces the dataset with
// [store.Writer.Init], which also marks the store initialized; a "patch"
// upserts one flag or segment ({"path": "/flags/KEY" or "/segments/KEY",
// "data": item}); a "delete" writes a tombstone ({"path": ..., "version":
// N}). Stores keep the highest version of each item, so an update older
// than what the store holds changes nothing. Unknown event names and
// paths are ignored. Malformed data (an event that is not the JSON
// described, or an item that is not a JSON object with a whole-number
// version) drops the connection without writing anything; so does a store
// error, since the next connection begins with a "put" that rewrites the
// dataset. After a dropped connection, a stream the server ends, a network
// error or a status worth trying again, the relay connects again after a
// delay (see [Options.InitialRetryDelay]). The store keeps its data
// meanwhile.
//
// Polling (PollURI): the relay reads PollURI + "/sdk/latest-all" ({"flags":
// {...}, "segments": {...}}) every PollInterval, sending the last ETag in
// If-None-Match, and replaces the dataset with each new answer. A failed
// poll is logged and the next one tried at the next interval.
//
// Items are stored as the service sent them. The relay does not decode
// flags beyond their version: a flag this version of daemonflag cannot
// evaluate is the evaluator's MALFORMED_FLAG, not a reason to keep the
// rest of the dataset stale.
//
// Relay returns an error at once for invalid options, and a
// *HTTPError when the service answers a status that retrying cannot
// fix, such as 401 (errors.Is(err, ErrSDKKeyRejected)).
func Run(ctx context.Context, s store.Writer, opts Options) error {
	r, err := newRelay(s, opts)
	if err != nil {
		return err
	}
	if r.stream != "" {
		return r.runStream(ctx)
	}
	return r.runPoll(ctx)
}

// relay is the state of one Relay call.
type relay struct {
	s      store.Writer
	o      Options
	log    *slog.Logger
	client *http.Client
	stream string // the stream URL, or ""
	poll   string // the poll URL, or ""
	inited bool   // a dataset has been written
}

func newRelay(s store.Writer, o Options) (*relay, error) {
	switch {
	case s == nil:
		return nil, errors.New("relay: no store")
	case o.SDKKey == "":
		return nil, errors.New("relay: no SDK key")
	case strings.ContainsAny(o.SDKKey, "\r\n"):
		return nil, errors.New("relay: the SDK key holds a line break")
	case o.StreamURI == "" && o.PollURI == "":
		return nil, errors.New("relay: give a stream URI or a poll URI")
	case o.StreamURI != "" && o.PollURI != "":
		return nil, errors.New("relay: give a stream URI or a poll URI, not both")
	case o.PollInterval < 0 || o.InitialRetryDelay < 0 || o.ReadTimeout < 0 || o.MaxEventSize < 0:
		return nil, errors.New("relay: negative interval, delay, timeout or size")
	}
	r := &relay{s: s, o: o, log: o.Logger, client: o.HTTPClient}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.client == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = requestTimeout
		r.client = &http.Client{Transport: t}
	}
	if r.o.PollInterval == 0 {
		r.o.PollInterval = DefaultPollInterval
	}
	if r.o.InitialRetryDelay == 0 {
		r.o.InitialRetryDelay = DefaultRetryDelay
	}
	if r.o.ReadTimeout == 0 {
		r.o.ReadTimeout = DefaultReadTimeout
	}
	if r.o.MaxEventSize == 0 {
		r.o.MaxEventSize = DefaultMaxEventSize
	}
	var err error
	if o.StreamURI != "" {
		r.stream, err = serviceURL(o.StreamURI, "/all")
	} else {
		r.poll, err = serviceURL(o.PollURI, "/sdk/latest-all")
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// serviceURL joins a base URI and a path, checking that the base is an
// absolute http or https URI.
func serviceURL(base, path string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("relay: service URI %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("relay: service URI %q: want an http:// or https:// URI", base)
	}
	if u.User != nil {
		return "", fmt.Errorf("relay: service URI %q: credentials do not belong in the URI", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	return u.String(), nil
}

// newRequest builds a GET request with the relay's headers.
func (r *relay) newRequest(ctx context.Context, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	req.Header.Set("Authorization", r.o.SDKKey)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// retryDelay returns the delay before attempt n (0 for the first retry):
// InitialRetryDelay doubled n times, at most maxRetryDelay, less a random
// part of up to a half.
func (r *relay) retryDelay(n int) time.Duration {
	d := r.o.InitialRetryDelay
	for i := 0; i < n && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, max(maxRetryDelay, r.o.InitialRetryDelay))
	return d/2 + rand.N(d/2+1)
}

// sleep waits for d or until ctx is done, and reports whether ctx is still
// going.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
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

// apply writes a parsed change to the store, logs it and reports it.
func (r *relay) apply(ctx context.Context, ch change, source string) error {
	if ch.all != nil {
		if err := r.s.Init(ctx, ch.all); err != nil {
			return &storeError{err}
		}
		up := Update{Init: true}
		for _, c := range ch.all {
			if c.Kind == store.Features {
				up.Flags = len(c.Items)
			} else {
				up.Segments = len(c.Items)
			}
		}
		if !r.inited {
			r.inited = true
			r.log.Info("relay: store initialized with the first complete dataset",
				"source", source, "flags", up.Flags, "segments", up.Segments)
		} else {
			r.log.Info("relay: dataset replaced", "source", source, "flags", up.Flags, "segments", up.Segments)
		}
		r.report(up)
		return nil
	}
	applied, err := r.s.Upsert(ctx, ch.kind, ch.key, ch.item)
	if err != nil {
		return &storeError{fmt.Errorf("%s %q: %w", ch.kind.Noun(), ch.key, err)}
	}
	what := "relay: " + ch.kind.Noun() + " updated"
	if ch.item.Deleted {
		what = "relay: " + ch.kind.Noun() + " deleted"
	}
	if !applied {
		what += " (the store holds this version or a newer one: unchanged)"
	}
	r.log.Info(what, "key", ch.key, "version", ch.item.Version)
	r.report(Update{Kind: ch.kind, Key: ch.key, Version: ch.item.Version, Deleted: ch.item.Deleted, Applied: applied})
	return nil
}

func (r *relay) report(up Update) {
	if r.o.OnUpdate != nil {
		r.o.OnUpdate(up)
	}
}
