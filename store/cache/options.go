package cache

import (
	"log/slog"
	"time"
)

// Defaults used when the corresponding [Options] field is zero.
const (
	// DefaultTTL is LaunchDarkly's default cache time-to-live.
	DefaultTTL = 15 * time.Second
	// DefaultJitter shortens each entry's life by up to 10%, at random, so
	// that processes sharing a store do not all refresh at the same moment.
	DefaultJitter = 0.1
	// DefaultProbeInterval is how often an unavailable or uninitialized store
	// is probed for recovery.
	DefaultProbeInterval = 500 * time.Millisecond
	// DefaultRefreshTimeout bounds every store call the cache makes.
	DefaultRefreshTimeout = 5 * time.Second
)

// Mode selects how long the cache keeps what it read.
type Mode int

const (
	// ModeTTL keeps each entry for at most [Options.TTL], refreshing it in
	// the background before it expires while it is read. The zero Mode.
	ModeTTL Mode = iota
	// ModeForever reads each item from the store once and keeps it for the
	// life of the cache. Keys the store does not have are still cached for
	// one TTL only, so a flag created later, or a store filled after the
	// cache started, is seen. Use it when the dataset never changes while the
	// process runs, or together with [Options.ChangePollInterval], which then
	// refreshes every cached entry.
	ModeForever
	// ModeOff disables caching: every read goes to the store and decodes the
	// item again. Status tracking and change detection still work, but with
	// nothing cached there is no last good value to serve when the store
	// fails or loses its data: reads return what the store returns.
	ModeOff
)

// String returns "ttl", "forever" or "off".
func (m Mode) String() string {
	switch m {
	case ModeTTL:
		return "ttl"
	case ModeForever:
		return "forever"
	case ModeOff:
		return "off"
	}
	return "Mode(?)"
}

// Options configures a [Cache]. The zero value gives the documented defaults:
// a 15 s TTL shortened by up to 10% of jitter, stale values served for as long as the store
// fails, a 500 ms recovery probe, a 5 s bound on store calls, and
// [slog.Default] for logging.
type Options struct {
	// Mode selects TTL caching (the zero value), caching forever, or no
	// caching. Unknown values mean ModeTTL.
	Mode Mode

	// TTL bounds the age of what the cache serves in ModeTTL (and of "not
	// found" answers in ModeTTL and ModeForever), counted from when the
	// store read began: a key read in the last fifth of its life is
	// refreshed in the background before it expires, and one read after
	// its TTL with no refresh reads the store (see the package
	// documentation). Zero or negative means DefaultTTL.
	TTL time.Duration

	// Jitter is the largest fraction by which each entry's life is randomly
	// shortened (0.1: lives between 90% and 100% of the TTL); it never
	// lengthens one. Zero means DefaultJitter; a negative value disables
	// jitter. Values above 0.9 are treated as 0.9.
	Jitter float64

	// MaxStale bounds how long after its expiry a value is still served
	// while the store cannot confirm it (the store is unavailable, or has
	// lost its data). A value staler than that is dropped: reads then return
	// the store's error (or "not found" when the store answers but no longer
	// has the item). Zero means no bound: the last good value is served for
	// as long as the store fails.
	MaxStale time.Duration

	// ProbeInterval is how often the cache probes an unavailable or
	// uninitialized store to notice its recovery (with [store.Pinger] when the
	// store implements it, then [store.Reader.Initialized]). Zero or negative
	// means DefaultProbeInterval.
	ProbeInterval time.Duration

	// RefreshTimeout bounds each store call the cache makes on its own
	// behalf: background refreshes, shared reads for cache misses, probes and
	// change polls. A call that times out counts as a store error. Reads for
	// misses and refreshes that start within an eighth of it of each other
	// share one deadline (no timer per read), so such a read is given
	// between 7/8 of RefreshTimeout and all of it. Zero or negative means
	// DefaultRefreshTimeout.
	RefreshTimeout time.Duration

	// ChangePollInterval is how often the cache reads every flag and segment
	// to detect changes, while at least one change listener is registered
	// (see [Cache.OnChange]). Zero means the TTL in ModeTTL and ModeOff, and
	// no polling in ModeForever; a negative value disables polling. The poll
	// also refreshes every cached entry, so what a listener is told about is
	// what the cache serves.
	ChangePollInterval time.Duration

	// Logger receives one line per status change (never one per failed
	// read). Nil means slog.Default().
	Logger *slog.Logger

	// ReadObserver, when not nil, is told of every store call the cache
	// makes, with its operation (one of [ReadOps]), duration and error, on
	// the goroutine that made it: for a latency histogram in a metrics
	// system (the otel module's Metrics.ObserveStoreRead). It must be fast
	// and safe for concurrent use. Nil: the calls are only counted in
	// [Cache.Stats].
	ReadObserver func(op string, d time.Duration, err error)
}

// normalized returns o with every zero field replaced by its default.
func (o Options) normalized() Options {
	if o.Mode < ModeTTL || o.Mode > ModeOff {
		o.Mode = ModeTTL
	}
	if o.TTL <= 0 {
		o.TTL = DefaultTTL
	}
	switch {
	case o.Jitter == 0:
		o.Jitter = DefaultJitter
	case o.Jitter < 0:
		o.Jitter = 0
	case o.Jitter > 0.9:
		o.Jitter = 0.9
	}
	if o.MaxStale < 0 {
		o.MaxStale = 0
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = DefaultProbeInterval
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = DefaultRefreshTimeout
	}
	if o.ChangePollInterval == 0 {
		if o.Mode == ModeForever {
			o.ChangePollInterval = -1
		} else {
			o.ChangePollInterval = o.TTL
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
