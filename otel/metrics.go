package otel

import (
	"context"
	"errors"
	"sync"
	"time"

	gootel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store/cache"
)

// Prefix starts the name of every metric this package defines.
const Prefix = "daemonflag."

// The metrics, all under [Prefix]. Counters are cumulative from the
// client's creation (asynchronous instruments fed by client.Stats at each
// collection); gauges are current values. See the README for each one's
// meaning and example queries.
const (
	MetricEvaluations       = Prefix + "evaluations"              // counter {evaluation}: feature_flag.key, daemonflag.reason (LaunchDarkly's reason kind)
	MetricEvaluationErrors  = Prefix + "evaluation.errors"        // counter {evaluation}: daemonflag.error_kind
	MetricBigSegmentEvals   = Prefix + "big_segments.evaluations" // counter {evaluation}: daemonflag.big_segments.status
	MetricBigSegmentStore   = Prefix + "big_segments.store.state" // gauge {state}: 1 for the store's state (available, unavailable, stale, not_configured)
	MetricCacheLookups      = Prefix + "cache.lookups"            // counter {lookup}: daemonflag.item_kind (flags, segments), daemonflag.cache.result (hit, miss)
	MetricCacheRefreshes    = Prefix + "cache.refreshes"          // counter {refresh}: daemonflag.item_kind
	MetricStoreReads        = Prefix + "store.reads"              // counter {read}: daemonflag.store.operation
	MetricStoreReadErrors   = Prefix + "store.read.errors"        // counter {read}: daemonflag.store.operation
	MetricStoreReadDuration = Prefix + "store.read.duration"      // histogram s: daemonflag.store.operation (needs ObserveStoreRead)
	MetricStoreState        = Prefix + "store.state"              // gauge {state}: daemonflag.store.state; 1 for the current state, 0 for the others
	MetricStoreStale        = Prefix + "store.stale"              // gauge {bool}: 1 while last good values are served that the store cannot confirm
	MetricStoreStateTime    = Prefix + "store.state.time"         // counter s: daemonflag.store.state; total time in each state
	MetricDataAge           = Prefix + "data.age"                 // gauge s: time since the store last answered
	MetricWriteAge          = Prefix + "data.write_age"           // gauge s: time since the writer last wrote (when the store records it)
	MetricNotifications     = Prefix + "store.notifications"      // counter {change}: changes the store's notifications named
	MetricEventsQueued      = Prefix + "events.queued"            // counter {event}
	MetricEventsDropped     = Prefix + "events.dropped"           // counter {event}
	MetricEventsDelivered   = Prefix + "events.delivered"         // counter {event}
	MetricEventsInMemory    = Prefix + "events.in_memory"         // gauge {event}
	MetricEventsFlushes     = Prefix + "events.flushes"           // counter {flush}
)

// Attribute keys of the metrics (feature_flag.key is the semantic
// conventions' own).
const (
	AttrReason           = attribute.Key("daemonflag.reason")
	AttrErrorKind        = attribute.Key("daemonflag.error_kind")
	AttrBigSegmentStatus = attribute.Key("daemonflag.big_segments.status")
	AttrItemKind         = attribute.Key("daemonflag.item_kind")
	AttrCacheResult      = attribute.Key("daemonflag.cache.result")
	AttrOperation        = attribute.Key("daemonflag.store.operation")
	AttrState            = attribute.Key("daemonflag.store.state")
)

// MetricsOptions configures [NewMetrics]. The zero value uses the global
// meter provider.
type MetricsOptions struct {
	// MeterProvider creates the meter. Nil: otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
}

// Metrics reports a client's stats through the OpenTelemetry metrics API.
// Create it with [NewMetrics], pass [Metrics.ObserveStoreRead] as
// cache.Options.ReadObserver (for the latency histogram), create the
// client, then call [Metrics.Observe].
type Metrics struct {
	meter    metric.Meter
	duration metric.Float64Histogram
	opAttrs  map[string]metric.RecordOption

	evaluations, evalErrors, bigEvals, lookups, refreshes, reads, readErrors,
	notifications, evQueued, evDropped, evDelivered, evFlushes metric.Int64ObservableCounter
	stateTimeF                         metric.Float64ObservableCounter
	state, stale, bigState, evInMemory metric.Int64ObservableGauge
	dataAge, writeAge                  metric.Float64ObservableGauge

	mu   sync.Mutex
	regs []metric.Registration
}

// NewMetrics creates the instruments.
func NewMetrics(opts MetricsOptions) (*Metrics, error) {
	mp := opts.MeterProvider
	if mp == nil {
		mp = gootel.GetMeterProvider()
	}
	m := &Metrics{meter: mp.Meter(InstrumentationName), opAttrs: map[string]metric.RecordOption{}}
	for _, op := range cache.ReadOps {
		m.opAttrs[op] = metric.WithAttributeSet(attribute.NewSet(AttrOperation.String(op)))
	}
	bounds := make([]float64, len(cache.LatencyBounds))
	for i, b := range cache.LatencyBounds {
		bounds[i] = b.Seconds()
	}
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.meter.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.meter.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	fgauge := func(name, unit, desc string) metric.Float64ObservableGauge {
		g, err := m.meter.Float64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	var err error
	m.duration, err = m.meter.Float64Histogram(MetricStoreReadDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the store calls the client's cache makes."),
		metric.WithExplicitBucketBoundaries(bounds...))
	errs = append(errs, err)
	m.evaluations = counter(MetricEvaluations, "{evaluation}", "Variation calls, by flag and LaunchDarkly reason kind.")
	m.evalErrors = counter(MetricEvaluationErrors, "{evaluation}", "Variation calls with reason ERROR, by LaunchDarkly error kind.")
	m.bigEvals = counter(MetricBigSegmentEvals, "{evaluation}", "Variation calls that consulted a big segment, by big-segment status.")
	m.bigState = gauge(MetricBigSegmentStore, "{state}", "The big-segment store's state: 1 for the current one.")
	m.lookups = counter(MetricCacheLookups, "{lookup}", "Cache lookups, by item kind and result (hit: no store read waited for).")
	m.refreshes = counter(MetricCacheRefreshes, "{refresh}", "Background refresh-ahead reads of cache entries.")
	m.reads = counter(MetricStoreReads, "{read}", "Store calls, by operation.")
	m.readErrors = counter(MetricStoreReadErrors, "{read}", "Store calls that failed, by operation.")
	m.state = gauge(MetricStoreState, "{state}", "The flag store's state: 1 for the current one, 0 for the others.")
	m.stale = gauge(MetricStoreStale, "{bool}", "1 while the client serves last good values the store cannot confirm.")
	m.stateTimeF, err = m.meter.Float64ObservableCounter(MetricStoreStateTime, metric.WithUnit("s"),
		metric.WithDescription("Total time the flag store spent in each state."))
	errs = append(errs, err)
	m.dataAge = fgauge(MetricDataAge, "s", "Time since the store last answered the client (a read, a check, a notification).")
	m.writeAge = fgauge(MetricWriteAge, "s", "Time since the writer last wrote the dataset, where the store records it.")
	m.notifications = counter(MetricNotifications, "{change}", "Changes named by the store's change notifications.")
	m.evQueued = counter(MetricEventsQueued, "{event}", "Analytics events accepted into the queue.")
	m.evDropped = counter(MetricEventsDropped, "{event}", "Analytics events dropped because the queue was full.")
	m.evDelivered = counter(MetricEventsDelivered, "{event}", "Analytics events delivered.")
	m.evInMemory = gauge(MetricEventsInMemory, "{event}", "Analytics events held in memory now.")
	m.evFlushes = counter(MetricEventsFlushes, "{flush}", "Analytics event flushes.")
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

// ObserveStoreRead records one store call in the store.read.duration
// histogram. Pass it as the client's cache.Options.ReadObserver.
func (m *Metrics) ObserveStoreRead(op string, d time.Duration, _ error) {
	opt, ok := m.opAttrs[op]
	if !ok {
		opt = metric.WithAttributes(AttrOperation.String(op))
	}
	m.duration.Record(context.Background(), d.Seconds(), opt)
}

// Observe registers the callback that reports c's stats at each collection
// (one client.Stats call per collection for all instruments). Several
// clients may be observed; [Metrics.Close] unregisters them all.
func (m *Metrics) Observe(c *client.Client) error {
	reg, err := m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		m.report(o, c.Stats(), time.Now())
		return nil
	}, m.evaluations, m.evalErrors, m.bigEvals, m.bigState, m.lookups, m.refreshes, m.reads, m.readErrors,
		m.state, m.stale, m.stateTimeF, m.dataAge, m.writeAge, m.notifications,
		m.evQueued, m.evDropped, m.evDelivered, m.evInMemory, m.evFlushes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.regs = append(m.regs, reg)
	m.mu.Unlock()
	return nil
}

// Close unregisters every callback Observe registered.
func (m *Metrics) Close() error {
	m.mu.Lock()
	regs := m.regs
	m.regs = nil
	m.mu.Unlock()
	var errs []error
	for _, r := range regs {
		errs = append(errs, r.Unregister())
	}
	return errors.Join(errs...)
}

var stateNames = [...]string{cache.Available: "available", cache.Unavailable: "unavailable", cache.NotInitialized: "not_initialized"}

func (m *Metrics) report(o metric.Observer, st client.Stats, now time.Time) {
	for _, f := range st.Evaluations {
		key := attribute.String("feature_flag.key", f.Key)
		for i, n := range f.ByReason {
			if n > 0 {
				o.ObserveInt64(m.evaluations, int64(n), metric.WithAttributes(key, AttrReason.String(string(client.ReasonKinds[i]))))
			}
		}
	}
	for i, n := range st.Errors {
		o.ObserveInt64(m.evalErrors, int64(n), metric.WithAttributes(AttrErrorKind.String(string(client.ErrorKinds[i]))))
	}
	for i, n := range st.BigSegments {
		o.ObserveInt64(m.bigEvals, int64(n), metric.WithAttributes(AttrBigSegmentStatus.String(string(client.BigSegmentStatuses[i]))))
	}
	bs := st.BigSegmentStore
	for _, s := range []struct {
		name string
		on   bool
	}{
		{"available", bs.Configured && bs.Available && !bs.Stale},
		{"stale", bs.Configured && bs.Available && bs.Stale},
		{"unavailable", bs.Configured && !bs.Available},
		{"not_configured", !bs.Configured},
	} {
		o.ObserveInt64(m.bigState, b2i(s.on), metric.WithAttributes(AttrState.String(s.name)))
	}
	for _, k := range []struct {
		name string
		s    cache.KindStats
	}{{"flags", st.Cache.Flags}, {"segments", st.Cache.Segments}} {
		kind := AttrItemKind.String(k.name)
		o.ObserveInt64(m.lookups, int64(k.s.Hits), metric.WithAttributes(kind, AttrCacheResult.String("hit")))
		o.ObserveInt64(m.lookups, int64(k.s.Misses), metric.WithAttributes(kind, AttrCacheResult.String("miss")))
		o.ObserveInt64(m.refreshes, int64(k.s.Refreshes), metric.WithAttributes(kind))
	}
	for _, r := range st.Cache.Reads {
		op := metric.WithAttributes(AttrOperation.String(r.Op))
		o.ObserveInt64(m.reads, int64(r.Count), op)
		o.ObserveInt64(m.readErrors, int64(r.Errors), op)
	}
	o.ObserveInt64(m.notifications, int64(st.Cache.Notifications))
	for s, name := range stateNames {
		attr := metric.WithAttributes(AttrState.String(name))
		o.ObserveInt64(m.state, b2i(st.Status.State == cache.State(s)), attr)
		o.ObserveFloat64(m.stateTimeF, st.TimeInState[s].Seconds(), attr)
	}
	o.ObserveInt64(m.stale, b2i(st.Status.Stale))
	if !st.Status.LastConfirmed.IsZero() {
		o.ObserveFloat64(m.dataAge, now.Sub(st.Status.LastConfirmed).Seconds())
	}
	if !st.Status.LastWrite.IsZero() {
		o.ObserveFloat64(m.writeAge, now.Sub(st.Status.LastWrite).Seconds())
	}
	if st.EventsEnabled {
		e := st.Events
		o.ObserveInt64(m.evQueued, int64(e.EventsQueued))
		o.ObserveInt64(m.evDropped, int64(e.EventsDropped))
		o.ObserveInt64(m.evDelivered, int64(e.EventsDelivered))
		o.ObserveInt64(m.evInMemory, int64(e.EventsInMemory))
		o.ObserveInt64(m.evFlushes, int64(e.Flushes))
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
