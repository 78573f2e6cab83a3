package bigsegments

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Defaults of [Options]: LaunchDarkly's SDKs use the same values.
const (
	DefaultCacheSize          = 1000
	DefaultCacheTTL           = 5 * time.Second
	DefaultStatusPollInterval = 5 * time.Second
	DefaultStaleAfter         = 2 * time.Minute
)

// statusPollTimeout bounds one read of the synchronized-on time, so a store
// that hangs shows up as unavailable rather than freezing the status.
const statusPollTimeout = 10 * time.Second

// Options configures a [Manager]. The zero value of every field but Store
// selects its documented default.
type Options struct {
	// Store is where memberships and the synchronized-on time are read. It
	// may be a different store from the one holding flags. Required. The
	// Manager does not close it.
	Store store.BigSegmentReader

	// CacheSize is how many context keys' memberships are cached; the least
	// recently used one is dropped to make room. Zero means 1000. A larger
	// cache saves store reads when many distinct contexts are evaluated
	// within CacheTTL, at the cost of memory for each membership.
	CacheSize int

	// CacheTTL is how long a cached membership (or the absence of one) is
	// used before the store is read again. Zero means 5 s. A longer TTL
	// means fewer reads and slower pickup of imported changes.
	CacheTTL time.Duration

	// StatusPollInterval is how often the store's synchronized-on time is
	// read to derive the [Status]. Zero means 5 s. A value above StaleAfter
	// is lowered to StaleAfter, so staleness is never noticed late by more
	// than one threshold.
	StatusPollInterval time.Duration

	// StaleAfter is how old the synchronized-on time may be before the data
	// counts as stale. Zero means 120 s. Stale data is still used; the
	// evaluation reason says STALE.
	StaleAfter time.Duration

	// Logger receives status changes (at Warn when the store becomes
	// unavailable or stale, or lookups start failing; at Info when it
	// recovers), one line per change, never one per lookup. Context keys are
	// never logged. Nil means slog.Default() (in a client: Config.Logger).
	Logger *slog.Logger
}

// withDefaults validates o and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	if o.Store == nil {
		return o, errors.New("bigsegments: Options.Store is required")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"CacheSize", int64(o.CacheSize)},
		{"CacheTTL", int64(o.CacheTTL)},
		{"StatusPollInterval", int64(o.StatusPollInterval)},
		{"StaleAfter", int64(o.StaleAfter)},
	} {
		if f.v < 0 {
			return o, fmt.Errorf("bigsegments: Options.%s must not be negative (zero selects the default)", f.name)
		}
	}
	if o.CacheSize == 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.CacheTTL == 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.StatusPollInterval == 0 {
		o.StatusPollInterval = DefaultStatusPollInterval
	}
	if o.StaleAfter == 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	o.StatusPollInterval = min(o.StatusPollInterval, o.StaleAfter)
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}
