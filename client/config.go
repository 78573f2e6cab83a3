package client

import (
	"log/slog"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// Config configures a [Client]. It is a plain struct: the zero value of every
// field is its documented default, and only Store is required.
type Config struct {
	// Store is where flags and segments are read, through the cache. It is
	// required unless Offline is set: New returns [ErrNoStore] when it is
	// nil. There is deliberately no default (such as a bbolt file in the
	// working directory): a client that silently reads an empty file of its
	// own making serves defaults everywhere and looks healthy, which is far
	// harder to notice than an error at startup. Open the store your writer
	// fills (for example with bolt.Open, redis.New or dynamodb.New) and pass
	// it here. The client never closes it: close it after [Client.Close].
	Store store.Reader

	// Cache configures the cache between the client and Store. The zero value
	// is the cache's default: a 15 s TTL (LaunchDarkly's default) with
	// refresh-ahead and jitter, last good values served while the store
	// fails, and change polling at the TTL while flag-change listeners are
	// registered. See [cache.Options]. When Cache.Logger is nil, Logger is
	// used.
	Cache cache.Options

	// Logger receives the client's log lines (and the cache's and big-segment
	// manager's, unless they are configured otherwise). Nil means
	// slog.Default(). Contexts and their attributes are never logged.
	Logger *slog.Logger

	// BigSegments configures big-segment membership lookups. With a nil
	// BigSegments.Store, big segments are not configured: segments with
	// "unbounded": true never match and reasons say NOT_CONFIGURED.
	BigSegments BigSegmentsConfig

	// Hooks run before and after every variation call, in order before and
	// in reverse order after (see [Hook]). Nil means no hooks, and a
	// variation call then makes no allocation.
	Hooks []Hook

	// Offline makes the client touch no store at all: every variation
	// returns its default with reason ERROR/CLIENT_NOT_READY, AllFlagsState
	// is invalid, and listeners are never called. Store may be nil. Zero:
	// the client reads its store.
	Offline bool

	// NotReadyWithoutData makes evaluations answer the default value with
	// reason ERROR/CLIENT_NOT_READY, and AllFlagsState invalid, until the
	// client has seen its store hold a dataset (the "$inited" marker a
	// writer sets): "not ready" rather than "no such flag". Once the store
	// was seen with a dataset the client evaluates normally, also while the
	// store later loses its data (it then serves its last good values).
	// Zero (false): as LaunchDarkly's daemon mode, a store without a dataset
	// is read as it is, so flags read as FLAG_NOT_FOUND and
	// [Client.DataStoreStatus] says NotInitialized.
	NotReadyWithoutData bool

	// Events configures analytics events (LaunchDarkly's event format,
	// posted to an in-network endpoint such as the Relay Proxy; see package
	// events). The zero value sends no events: an empty Events.Endpoint
	// (and no Events.Sink) turns them off, and there is no default host.
	// With events on, an evaluation that needs no full event is only
	// counted, without allocating. Events.Logger nil means Logger.
	Events events.Config

	// Stats configures the evaluation counters of [Client.Stats]. The zero
	// value counts every variation call by flag and reason kind.
	Stats StatsConfig

	// SecureModeKey is the key [Client.SecureModeHash] signs context keys
	// with (in LaunchDarkly, the environment's SDK key). Empty: SecureModeHash
	// returns "".
	SecureModeKey string
}

// BigSegmentsConfig configures big-segment lookups: a per-context membership
// cache in front of a big-segment store, and a poll of the store's
// synchronized-on time that gives the big-segment status. It is
// [bigsegments.Options]: zero values give LaunchDarkly's defaults (1000
// cached contexts, a 5 s membership TTL, a status poll every 5 s, stale
// after 120 s), a nil Store means big segments are not configured, and a nil
// Logger means Config.Logger. Store may be a different store from
// Config.Store, or the same value (every daemonflag backend implements
// both). The client never closes it.
type BigSegmentsConfig = bigsegments.Options
