package events

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/internal/ldheaders"
)

// SDKKeyEnv is the environment variable read for the SDK key when
// Config.SDKKey is empty.
const SDKKeyEnv = "DAEMONFLAG_SDK_KEY"

// Defaults, equal to LaunchDarkly's SDKs'.
const (
	// DefaultCapacity is how many events wait in memory at most.
	DefaultCapacity = 10000
	// DefaultFlushInterval is how often a payload is built and sent.
	DefaultFlushInterval = 5 * time.Second
	// DefaultContextKeysCapacity is the size of the context-key dedup LRU.
	DefaultContextKeysCapacity = 1000
	// DefaultContextKeysFlushInterval is how often the dedup LRU is reset.
	DefaultContextKeysFlushInterval = 5 * time.Minute
	// DefaultSpoolMaxBytes bounds the spool directory when SpoolDir is set.
	DefaultSpoolMaxBytes = 64 << 20
)

// Config configures a [Processor]. It is a plain struct: every zero value
// is the documented default (LaunchDarkly's, where LaunchDarkly has one).
type Config struct {
	// Endpoint is the base URI of a LaunchDarkly-compatible events service,
	// usually the Relay Proxy ("http://relay:8030"); payloads are posted to
	// Endpoint + "/bulk". Empty: no events are produced at all (unless Sink
	// is set). There is no default host: nothing is ever sent anywhere not
	// configured here.
	Endpoint string

	// SDKKey is the server-side SDK key sent in the Authorization header.
	// Empty: the DAEMONFLAG_SDK_KEY environment variable. It is never
	// logged.
	SDKKey string

	// Sink, when not nil, receives every payload instead of an HTTP
	// endpoint (for a site where nothing may be sent; see [FileSink]).
	// Endpoint is then ignored.
	Sink Sink

	// Capacity is the most events held in memory (queued, or in a payload
	// not yet delivered); more are dropped and counted. Zero: 10,000.
	Capacity int

	// FlushInterval is how often a payload is built and delivered. Zero:
	// 5 s.
	FlushInterval time.Duration

	// ContextKeysCapacity is how many context keys the index-event dedup
	// remembers (least recently used forgotten first). Zero: 1,000.
	ContextKeysCapacity int

	// ContextKeysFlushInterval is how often the dedup is reset, so that each
	// context gets an index event again. Zero: 5 minutes.
	ContextKeysFlushInterval time.Duration

	// AllAttributesPrivate removes every attribute but kind, key and
	// anonymous from the contexts in events. Zero: only the private
	// attributes are removed.
	AllAttributesPrivate bool

	// PrivateAttributes are attribute references (LaunchDarkly's syntax:
	// "email", or "/address/street" for a nested property) removed from
	// every context in events, in addition to each context's own. Nil:
	// none.
	PrivateAttributes []string

	// HTTPClient sends payloads. Nil: a client with a 30 s timeout.
	HTTPClient *http.Client

	// Gzip compresses payloads (Content-Encoding: gzip; Relay Proxy 8.9
	// and later accept it). Zero: uncompressed, as LaunchDarkly's default.
	Gzip bool

	// Unsummarized sends every evaluation as a feature event with the
	// X-LaunchDarkly-Unsummarized header and no summary or index events,
	// so that the Relay Proxy summarizes (it looks the flags up in its own
	// store). Every evaluation then allocates. Zero: this SDK summarizes.
	Unsummarized bool

	// ApplicationID and ApplicationVersion are LaunchDarkly's application
	// metadata, sent in the X-LaunchDarkly-Tags header ("application-id/ID
	// application-version/VERSION"). LaunchDarkly accepts ASCII letters,
	// digits, '.', '-' and '_', at most 64; an invalid value is dropped with
	// a warning. Empty: not sent.
	ApplicationID, ApplicationVersion string

	// WrapperName and WrapperVersion name a library wrapping daemonflag
	// (X-LaunchDarkly-Wrapper). Empty WrapperName: no header.
	WrapperName, WrapperVersion string

	// InstanceID is sent as X-LaunchDarkly-Instance-Id, identifying one SDK
	// instance. Empty: not sent.
	InstanceID string

	// UserAgent is the User-Agent header. Empty: "daemonflag/<version>".
	UserAgent string

	// SpoolDir, when set, is a directory where payloads that could not be
	// delivered are written and from which they are resent, oldest first,
	// so that an outage or a restart of the endpoint loses nothing. It is
	// created if missing. Empty: undelivered payloads wait in memory
	// (bounded by Capacity).
	SpoolDir string

	// SpoolMaxBytes bounds the spool directory; a payload that does not fit
	// waits in memory instead. Zero: 64 MiB.
	SpoolMaxBytes int64

	// CloseTimeout bounds how long client.Close waits for the last flush
	// to be delivered. Zero: 5 s.
	CloseTimeout time.Duration

	// Logger receives the processor's log lines. Nil: slog.Default() (the
	// client passes its own logger).
	Logger *slog.Logger

	retryDelay time.Duration // tests only; zero: retryDelay
}

// Enabled reports whether cfg produces events: an Endpoint or a Sink is set.
func (cfg *Config) Enabled() bool { return cfg.Endpoint != "" || cfg.Sink != nil }

// ErrInvalidConfig is matched by the error of [New] for a configuration it
// cannot use.
var ErrInvalidConfig = errors.New("events: invalid configuration")

// settings is a validated Config with defaults applied.
type settings struct {
	Config
	bulkURL string
	private []evalctx.Ref
	meta    http.Header // identification headers (tags, wrapper, instance)
}

func (cfg Config) settle() (*settings, error) {
	s := &settings{Config: cfg}
	if s.Capacity < 0 || s.FlushInterval < 0 || s.ContextKeysCapacity < 0 ||
		s.ContextKeysFlushInterval < 0 || s.SpoolMaxBytes < 0 {
		return nil, fmt.Errorf("%w: a capacity, interval or size is negative", ErrInvalidConfig)
	}
	if s.Capacity == 0 {
		s.Capacity = DefaultCapacity
	}
	if s.FlushInterval == 0 {
		s.FlushInterval = DefaultFlushInterval
	}
	if s.ContextKeysCapacity == 0 {
		s.ContextKeysCapacity = DefaultContextKeysCapacity
	}
	if s.ContextKeysFlushInterval == 0 {
		s.ContextKeysFlushInterval = DefaultContextKeysFlushInterval
	}
	if s.retryDelay == 0 {
		s.retryDelay = retryDelay
	}
	if s.SpoolMaxBytes == 0 {
		s.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if s.SDKKey == "" {
		s.SDKKey = os.Getenv(SDKKeyEnv)
	}
	if s.HTTPClient == nil {
		s.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if s.UserAgent == "" {
		s.UserAgent = "daemonflag/" + version()
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.meta = ldheaders.Metadata{
		ApplicationID: s.ApplicationID, ApplicationVersion: s.ApplicationVersion,
		WrapperName: s.WrapperName, WrapperVersion: s.WrapperVersion, InstanceID: s.InstanceID,
	}.Headers(s.Logger)
	for _, p := range s.PrivateAttributes {
		r := evalctx.NewRef(p)
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("%w: PrivateAttributes: %w", ErrInvalidConfig, err)
		}
		s.private = append(s.private, r)
	}
	if s.Sink == nil {
		if s.Endpoint == "" {
			return nil, fmt.Errorf("%w: no Endpoint and no Sink", ErrInvalidConfig)
		}
		u, err := url.Parse(s.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			// The URI may carry credentials; say only what is wrong.
			return nil, fmt.Errorf("%w: Endpoint is not an http(s) URI with a host", ErrInvalidConfig)
		}
		s.bulkURL = strings.TrimRight(s.Endpoint, "/") + "/bulk"
	}
	return s, nil
}
