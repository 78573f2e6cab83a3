package relay

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// LaunchDarkly's service base URIs, the defaults of [ServiceEndpoints].
const (
	DefaultStreamingURI = "https://stream.launchdarkly.com"
	DefaultPollingURI   = "https://sdk.launchdarkly.com"
	DefaultEventsURI    = "https://events.launchdarkly.com"
)

// Defaults of [Options].
const (
	// DefaultPollInterval is the polling interval of a polling relay,
	// LaunchDarkly's SDKs' default.
	DefaultPollInterval = 30 * time.Second
	// MinPollInterval is the shortest polling interval: LaunchDarkly's
	// server-side SDKs raise a shorter one to it (LaunchDarkly's polling
	// service is not meant to be polled more often), and so does the relay.
	MinPollInterval = 30 * time.Second
	// DefaultRetryDelay is the first delay before a streaming relay
	// connects again, as in LaunchDarkly's SDKs.
	DefaultRetryDelay = time.Second
	// MaxRetryDelay is the longest delay between two attempts in the
	// normal retry regime.
	MaxRetryDelay = 30 * time.Second
	// DefaultExtendedRetryDelay is the first delay of the extended retry
	// regime (see [Options.KeepRetrying]), as in LaunchDarkly's RETRY
	// specification.
	DefaultExtendedRetryDelay = 5 * time.Minute
	// MaxExtendedRetryDelay is the longest delay of the extended regime.
	MaxExtendedRetryDelay = 30 * time.Minute
	// DefaultReadTimeout is how long a stream may stay silent
	// (LaunchDarkly sends a heartbeat comment every few minutes) before the
	// relay drops it and connects again.
	DefaultReadTimeout = 5 * time.Minute
	// DefaultMaxEventSize bounds one server-sent event (a "put" holds
	// the whole dataset) and one poll response, decompressed.
	DefaultMaxEventSize = 256 << 20
	// DefaultHealInterval is how often the relay checks that the store
	// still holds its dataset.
	DefaultHealInterval = time.Second
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

// minPollInterval is MinPollInterval; the package's tests lower it.
var minPollInterval = MinPollInterval

// ServiceEndpoints are the base URIs of LaunchDarkly's services, or of a
// LaunchDarkly Relay Proxy. An empty field is LaunchDarkly's own service
// ([DefaultStreamingURI], [DefaultPollingURI], [DefaultEventsURI]). The
// relay uses Streaming or Polling; Events is for components that send
// events, so that one value describes a whole deployment.
type ServiceEndpoints struct {
	Streaming string
	Polling   string
	Events    string
}

// RelayProxyEndpoints returns the endpoints of a LaunchDarkly Relay Proxy
// at baseURI: it serves all three services at the same base URI, as
// LaunchDarkly's SDKs' RelayProxyEndpoints configures them. A Relay Proxy
// serves server-side SDKs by streaming only, so relay from it with
// Polling false.
func RelayProxyEndpoints(baseURI string) ServiceEndpoints {
	return ServiceEndpoints{Streaming: baseURI, Polling: baseURI, Events: baseURI}
}

// Options configures [Run]. Only SDKKey is required; the zero value of
// every other field selects its documented default, which streams from
// LaunchDarkly.
type Options struct {
	// SDKKey is the LaunchDarkly environment's server-side SDK key, sent in
	// the Authorization header. Required. The relay never logs it or puts
	// it in an error.
	SDKKey string

	// Endpoints are the services' base URIs. Zero: LaunchDarkly's. For a
	// Relay Proxy use [RelayProxyEndpoints].
	Endpoints ServiceEndpoints

	// Polling selects the polling service (Endpoints.Polling +
	// "/sdk/latest-all", every PollInterval) instead of the stream
	// (Endpoints.Streaming + "/all"). False: streaming.
	Polling bool

	// Filter is the key of a payload filter of the environment: the
	// relay then asks for, and stores, only the flags and segments the
	// filter selects (the "filter" query parameter). Empty: everything.
	Filter string

	// PollInterval is the time between polls. Zero: [DefaultPollInterval]
	// (30 s); a value below [MinPollInterval] is raised to it, with a
	// warning.
	PollInterval time.Duration

	// InitialRetryDelay is the delay before a dropped or failed stream is
	// connected again. It doubles with each failed attempt up to
	// [MaxRetryDelay], and each delay is shortened by a random part of up
	// to a half (jitter), so that many relays do not reconnect at once. A
	// stream that stayed up for a minute starts again at
	// InitialRetryDelay. Zero: [DefaultRetryDelay] (1 s).
	InitialRetryDelay time.Duration

	// KeepRetrying selects LaunchDarkly's RETRY specification for statuses
	// that retrying may not fix (401, 403 and every 4xx other than 400, 408
	// and 429): the relay keeps trying in the extended regime, from
	// ExtendedRetryDelay doubling up to [MaxExtendedRetryDelay] with the
	// same jitter, logging an error each time, instead of returning.
	// False (the default): Run returns the *HTTPError at once, as
	// LaunchDarkly's SDKs did before that specification (and as a
	// command-line relay wants: a revoked key should fail loudly).
	KeepRetrying bool

	// ExtendedRetryDelay is the first delay of the extended regime. Zero:
	// [DefaultExtendedRetryDelay] (5 min). A polling relay waits at least
	// PollInterval.
	ExtendedRetryDelay time.Duration

	// ReadTimeout is how long a stream may go without a byte (events or
	// heartbeats) before the relay drops it and connects again. Zero:
	// [DefaultReadTimeout] (5 min).
	ReadTimeout time.Duration

	// MaxEventSize bounds one server-sent event and one poll response
	// (decompressed); a larger one counts as malformed data, refused as
	// soon as it passes the bound. The relay's memory for a dataset is
	// about one copy of it. Zero: [DefaultMaxEventSize] (256 MiB).
	MaxEventSize int

	// ApplicationID and ApplicationVersion are sent as LaunchDarkly's
	// application metadata (the X-LaunchDarkly-Tags header): ASCII letters,
	// digits, '.', '-' and '_', at most 64 characters each; an invalid
	// value is dropped with a warning. Empty: not sent.
	ApplicationID      string
	ApplicationVersion string

	// WrapperName and WrapperVersion fill the X-LaunchDarkly-Wrapper header
	// ("NAME/VERSION"), for a library that wraps daemonflag. Empty
	// WrapperName: no header.
	WrapperName    string
	WrapperVersion string

	// InstanceID is sent in X-LaunchDarkly-Instance-Id on every request,
	// as LaunchDarkly's SDKs identify one client instance. Empty: a new
	// random UUID for each Run.
	InstanceID string

	// CAFile is a PEM file of certificate authorities: when set, they are
	// the only ones trusted for the services' TLS certificates. Empty: the
	// system's.
	CAFile string

	// InsecureSkipVerify accepts any TLS certificate, which lets anyone on
	// the network path serve flags. Only for tests; Run logs a warning.
	InsecureSkipVerify bool

	// ProxyURL is an HTTP(S) proxy for every request ("http://host:port",
	// credentials allowed). Empty: the HTTPS_PROXY, HTTP_PROXY and NO_PROXY
	// environment variables (http.ProxyFromEnvironment).
	ProxyURL string

	// HTTPClient makes the requests, instead of the client built from
	// CAFile, InsecureSkipVerify and ProxyURL (which must then be empty).
	// Its Timeout must be zero for streaming, which holds one response
	// open for hours. Nil: a client with those options that waits at most
	// a minute for response headers.
	HTTPClient *http.Client

	// HealInterval is how often the relay checks that the store still
	// holds its dataset (the store's initialized marker), besides the
	// store's change notifications when it has them ([store.Notifier]).
	// When a store lost the dataset (a Redis restarted without
	// persistence), the relay writes its last complete dataset again at
	// once. Zero: [DefaultHealInterval] (1 s); negative: never.
	HealInterval time.Duration

	// Stats, when set, is kept up to date with the relay's counters and
	// connection state, for health checks and metrics.
	Stats *Stats

	// Logger receives what the relay does: datasets and items written,
	// connections, and every problem. Nil: slog.Default().
	Logger *slog.Logger

	// OnUpdate, when set, is called after every write to the store, on the
	// relay's goroutine (a slow OnUpdate delays the relay).
	OnUpdate func(Update)

	// OnFailure, when set, is called on the relay's goroutine after each
	// failed connection, dropped stream or failed poll, with why (a
	// *HTTPError for an error status), before the relay waits to try
	// again or returns.
	OnFailure func(error)
}

// normalized checks o and fills in defaults.
func (o Options) normalized(s store.Writer) (Options, error) {
	switch {
	case s == nil:
		return o, errors.New("relay: no store")
	case o.SDKKey == "":
		return o, errors.New("relay: no SDK key")
	case strings.ContainsFunc(o.SDKKey, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return o, errors.New("relay: the SDK key holds a line break or another control character")
	case o.PollInterval < 0 || o.InitialRetryDelay < 0 || o.ExtendedRetryDelay < 0 || o.ReadTimeout < 0 || o.MaxEventSize < 0:
		return o, errors.New("relay: negative interval, delay, timeout or size")
	case o.HTTPClient != nil && (o.CAFile != "" || o.InsecureSkipVerify || o.ProxyURL != ""):
		return o, errors.New("relay: give HTTPClient or CAFile/InsecureSkipVerify/ProxyURL, not both (configure TLS and the proxy on the client)")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Endpoints.Streaming == "" {
		o.Endpoints.Streaming = DefaultStreamingURI
	}
	if o.Endpoints.Polling == "" {
		o.Endpoints.Polling = DefaultPollingURI
	}
	if o.PollInterval == 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.PollInterval < minPollInterval {
		if o.Polling {
			o.Logger.Warn("relay: poll interval raised to the minimum", "asked", o.PollInterval, "minimum", minPollInterval)
		}
		o.PollInterval = minPollInterval
	}
	if o.InitialRetryDelay == 0 {
		o.InitialRetryDelay = DefaultRetryDelay
	}
	if o.ExtendedRetryDelay == 0 {
		o.ExtendedRetryDelay = DefaultExtendedRetryDelay
	}
	if o.ReadTimeout == 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.MaxEventSize == 0 {
		o.MaxEventSize = DefaultMaxEventSize
	}
	if o.HealInterval == 0 {
		o.HealInterval = DefaultHealInterval
	}
	return o, nil
}

// serviceURL joins a base URI and a path, checking that the base is an
// absolute http or https URI, and adds the payload filter.
func serviceURL(base, path, filter string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("relay: service URI %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("relay: service URI %q: want an http:// or https:// URI", u.Redacted())
	}
	if u.User != nil {
		return "", fmt.Errorf("relay: service URI %q: credentials do not belong in the URI", u.Redacted())
	}
	u.Path = strings.TrimRight(u.Path, "/") + path
	u.RawPath = ""
	if filter != "" {
		q := u.Query()
		q.Set("filter", filter)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}
