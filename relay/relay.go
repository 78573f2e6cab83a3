package relay

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/daemonflag/daemonflag/internal/ldheaders"
	"github.com/daemonflag/daemonflag/store"
)

// Update describes one write of [Run] to the store.
type Update struct {
	// Init is true when the whole dataset was replaced (a "put" event, or
	// a poll); Flags and Segments then count its items, tombstones
	// included. Otherwise one item was written: Kind, Key, Version and
	// Deleted describe it.
	Init            bool
	Flags, Segments int
	// Reseed is true for an Init that wrote the relay's last complete
	// dataset again because the store had lost it.
	Reseed bool

	Kind    store.Kind
	Key     string
	Version int
	Deleted bool
	// Applied reports whether the store took a single-item write; it is
	// false when the store already held that version or a newer one.
	Applied bool
}

// Run keeps a store filled from a LaunchDarkly streaming or polling
// service (LaunchDarkly itself, or a Relay Proxy) until ctx is done, and
// then returns nil. This is what a LaunchDarkly SDK or Relay Proxy does in
// front of a persistent store, so that clients in daemon mode read what
// LaunchDarkly serves.
//
// Streaming (the default): the relay reads the server-sent events at
// Endpoints.Streaming + "/all". A "put" event replaces the dataset with
// [store.Writer.Init], which also marks the store initialized; a "patch"
// upserts one flag or segment ({"path": "/flags/KEY" or "/segments/KEY",
// "data": item}); a "delete" writes a tombstone ({"path": ..., "version":
// N}). Stores keep the highest version of each item, so an update older
// than what the store holds changes nothing. Unknown event names and
// paths are ignored. Malformed data (an event that is not the JSON
// described, not valid UTF-8, or an item that is not a JSON object with a
// whole-number version) drops the connection without writing anything; so
// does a store error, since the next connection begins with a "put" that
// rewrites the dataset. An item with an empty key, which LaunchDarkly's
// service can send, is left out of the dataset with a warning. After a
// dropped connection, a stream the server ends or that stays silent for
// ReadTimeout, a network error or a status worth trying again (see
// [Recoverable]), the relay connects again after a delay (see
// [Options.InitialRetryDelay]). The store keeps its data meanwhile.
//
// Polling (Options.Polling): the relay reads Endpoints.Polling +
// "/sdk/latest-all" ({"flags": {...}, "segments": {...}}) every
// PollInterval, asking for gzip and sending the last ETag in
// If-None-Match, and replaces the dataset with each new answer. A failed
// poll is logged and the next one made at the next interval.
//
// Items are stored as the service sent them (compacted). The relay does
// not decode flags beyond their version: a flag this version of daemonflag
// cannot evaluate is the evaluator's MALFORMED_FLAG, not a reason to keep
// the rest of the dataset stale.
//
// The relay keeps its last complete dataset (the last "put" or poll, with
// the patches since) and, when the store is also a [store.Reader], watches
// its initialized marker (every HealInterval, and on each change
// notification of a [store.Notifier]): if the dataset disappears (a Redis
// restarted empty), it writes it again at once and logs it.
//
// Run returns an error at once for invalid options, and a *HTTPError when
// the service answers a status that retrying may not fix, such as 401
// (errors.Is(err, ErrSDKKeyRejected)), unless Options.KeepRetrying.
func Run(ctx context.Context, s store.Writer, opts Options) error {
	r, err := newRelay(s, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if rd, ok := s.(store.Reader); ok && r.o.HealInterval > 0 {
		wg.Go(func() { r.heal(ctx, rd) })
	}
	defer wg.Wait()
	defer cancel()
	if r.o.Polling {
		return r.runPoll(ctx)
	}
	return r.runStream(ctx)
}

// relay is the state of one Run call.
type relay struct {
	s       store.Writer
	o       Options
	log     *slog.Logger
	client  *http.Client
	headers http.Header // the identification headers of every request
	target  string      // the stream or poll URL
	stats   *Stats

	writeMu sync.Mutex // serializes store writes of the data source and the healer
	data    dataset    // the last complete dataset, guarded by writeMu
}

func newRelay(s store.Writer, o Options) (*relay, error) {
	o, err := o.normalized(s)
	if err != nil {
		return nil, err
	}
	r := &relay{s: s, o: o, log: o.Logger, stats: o.Stats}
	if r.stats == nil {
		r.stats = new(Stats)
	}
	if o.Polling {
		r.target, err = serviceURL(o.Endpoints.Polling, "/sdk/latest-all", o.Filter)
	} else {
		r.target, err = serviceURL(o.Endpoints.Streaming, "/all", o.Filter)
	}
	if err != nil {
		return nil, err
	}
	if r.client, err = newHTTPClient(o); err != nil {
		return nil, err
	}
	id := o.InstanceID
	if id == "" {
		id = ldheaders.NewInstanceID()
	}
	r.headers = ldheaders.Metadata{
		ApplicationID: o.ApplicationID, ApplicationVersion: o.ApplicationVersion,
		WrapperName: o.WrapperName, WrapperVersion: o.WrapperVersion,
		InstanceID: id,
	}.Headers(r.log)
	return r, nil
}

// apply writes a parsed change to the store, logs it and reports it.
func (r *relay) apply(ctx context.Context, ch change, source string) error {
	for _, what := range ch.skipped {
		r.stats.skipped.Add(1)
		r.log.Warn("relay: an item with an empty key was left out of the dataset (no SDK can evaluate it)",
			"source", source, "item", what)
	}
	up, err := r.write(ctx, ch, source)
	if err != nil {
		return err
	}
	r.report(up)
	return nil
}

// write makes the store write of apply.
func (r *relay) write(ctx context.Context, ch change, source string) (Update, error) {
	r.writeMu.Lock()
	defer r.writeMu.Unlock()
	if ch.all != nil {
		if err := r.s.Init(ctx, ch.all); err != nil {
			return Update{}, &storeError{err}
		}
		r.stats.writes.Add(1)
		r.data.replace(ch.all)
		up := Update{Init: true}
		up.Flags, up.Segments = counts(ch.all)
		if !r.stats.initialized.Swap(true) {
			r.log.Info("relay: store initialized with the first complete dataset",
				"source", source, "flags", up.Flags, "segments", up.Segments)
		} else {
			r.log.Info("relay: dataset replaced", "source", source, "flags", up.Flags, "segments", up.Segments)
		}
		return up, nil
	}
	applied, err := r.s.Upsert(ctx, ch.kind, ch.key, ch.item)
	if err != nil {
		return Update{}, &storeError{fmt.Errorf("%s %q: %w", ch.kind.Noun(), ch.key, err)}
	}
	r.stats.writes.Add(1)
	r.data.upsert(ch.kind, ch.key, ch.item)
	what := "relay: " + ch.kind.Noun() + " updated"
	if ch.item.Deleted {
		what = "relay: " + ch.kind.Noun() + " deleted"
	}
	if !applied {
		what += " (the store holds this version or a newer one: unchanged)"
	}
	r.log.Info(what, "key", ch.key, "version", ch.item.Version)
	return Update{Kind: ch.kind, Key: ch.key, Version: ch.item.Version, Deleted: ch.item.Deleted, Applied: applied}, nil
}

func counts(all []store.Collection) (flags, segments int) {
	for _, c := range all {
		if c.Kind == store.Features {
			flags = len(c.Items)
		} else {
			segments = len(c.Items)
		}
	}
	return flags, segments
}

func (r *relay) report(up Update) {
	if r.o.OnUpdate != nil {
		r.o.OnUpdate(up)
	}
}
