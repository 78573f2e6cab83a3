package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// Processor records events and delivers them from one background
// goroutine. Create one with [New]; all methods are safe for concurrent use
// and never block on the network. A nil *Processor records nothing (every
// method is a no-op), which is what a client without events holds.
type Processor struct {
	s   *settings
	log *slog.Logger
	red redactor
	sum summarizer

	keys    *contextKeys
	keysGen atomic.Uint64

	mu       sync.Mutex
	queue    []queued
	held     int  // events in built payloads not yet delivered, in memory
	dropping bool // the last event offered was dropped

	lastServerTime atomic.Int64 // ms, from the Date header of responses
	disabled       atomic.Bool  // 401/403: sending stopped for good
	stats          statCounters

	flushCh  chan chan struct{}
	closeCh  chan struct{}
	done     chan struct{}
	closed   atomic.Bool
	runCtx   context.Context
	cancel   context.CancelFunc
	spool    *spool   // nil without SpoolDir
	pending  *payload // built, not delivered, in memory (goroutine-owned)
	spoolErr bool     // a spool write failure was logged
}

type statCounters struct {
	queued, dropped, delivered, rejected, restored atomic.Uint64
	flushes, payloads, retried, spooled            atomic.Uint64
	inSpool                                        atomic.Int64
	spoolBytes                                     atomic.Int64
}

// Stats are the processor's counters, for metrics. Event counts leave out
// summary events (which are built at each flush); at any quiet moment
// EventsQueued + EventsRestored = EventsDelivered + EventsInMemory +
// EventsInSpool + EventsRejected.
type Stats struct {
	// EventsQueued counts events accepted into the queue (index, feature,
	// debug, identify, custom and migration_op events).
	EventsQueued uint64
	// EventsDropped counts events refused because Capacity events were
	// already held in memory.
	EventsDropped uint64
	// EventsDelivered counts events in payloads the endpoint (or sink)
	// accepted.
	EventsDelivered uint64
	// EventsRejected counts events in payloads that can never be delivered
	// (413 Payload Too Large), and events discarded after the endpoint
	// answered 401 or 403.
	EventsRejected uint64
	// EventsRestored counts events found in the spool directory at start.
	EventsRestored uint64
	// EventsInMemory is the number of events queued or in undelivered
	// payloads held in memory now.
	EventsInMemory int
	// EventsInSpool is the number of events in spooled payloads now.
	EventsInSpool int
	// EventsSpooled counts events written to the spool.
	EventsSpooled uint64
	// SpoolBytes is the size of the spooled payloads now.
	SpoolBytes int64
	// Flushes counts flushes (periodic and requested).
	Flushes uint64
	// PayloadsDelivered counts payloads the endpoint (or sink) accepted.
	PayloadsDelivered uint64
	// Retries counts payload delivery retries.
	Retries uint64
	// Stopped is true after the endpoint answered 401 or 403: nothing is
	// sent any more.
	Stopped bool
}

// New starts a processor. The configuration must enable events (an
// Endpoint or a Sink); see [Config.Enabled].
func New(cfg Config) (*Processor, error) {
	s, err := cfg.settle()
	if err != nil {
		return nil, err
	}
	p := &Processor{
		s:       s,
		log:     s.Logger,
		red:     redactor{all: s.AllAttributesPrivate, private: s.private},
		keys:    newContextKeys(s.ContextKeysCapacity),
		flushCh: make(chan chan struct{}, 16),
		closeCh: make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.SpoolDir != "" {
		if p.spool, err = openSpool(s.SpoolDir, s.SpoolMaxBytes); err != nil {
			return nil, err
		}
		n := p.spool.eventCount()
		p.stats.restored.Add(uint64(n))
		p.stats.inSpool.Store(int64(n))
		p.stats.spoolBytes.Store(p.spool.bytes)
	}
	p.runCtx, p.cancel = context.WithCancel(context.Background())
	go p.run()
	return p, nil
}

// nowMs is the time events are stamped with, in Unix milliseconds.
func nowMs() int64 { return time.Now().UnixMilli() }

// Evaluation is one flag evaluation as a variation call returned it.
type Evaluation struct {
	// FlagKey is the key evaluated.
	FlagKey string
	// Flag is the flag evaluated; nil when it was not found.
	Flag *model.Flag
	// Context is the evaluation context (valid).
	Context evalctx.Context
	// Detail is the result returned, the default substituted where it has
	// no variation index.
	Detail evaluation.Detail
	// Default is the caller's default value (null for a prerequisite).
	Default jsonvalue.Value
	// WithReason is true when the caller asked for the detail: full events
	// then carry the reason.
	WithReason bool
	// IsExperiment is the evaluation result's IsExperiment: it forces a
	// full event with its reason.
	IsExperiment bool
	// PrereqOf is the key of the flag this is a prerequisite of, or "".
	PrereqOf string
}

// RecordEvaluation records one evaluation: it is counted in the summary
// (unless the flag has excludeFromSummaries), gives an index event for a
// context not seen within the dedup window, a feature event when the flag
// or the evaluation asks for one (trackEvents, an experiment; sampled by the
// flag's samplingRatio), and a debug event while the flag's
// debugEventsUntilDate is later than both now and the last time the
// endpoint reported. With a flag that asks for no full event it does not
// allocate (after the flag version's first evaluation).
func (p *Processor) RecordEvaluation(e *Evaluation) {
	if p == nil || p.disabled.Load() || p.closed.Load() || e.Context.Err() != nil {
		return
	}
	f := e.Flag
	if p.s.Unsummarized {
		p.recordUnsummarized(e, nowMs())
		return
	}
	notice := true
	if f == nil || !f.ExcludeFromSummaries {
		notice = p.sum.count(f, e.FlagKey, e.Context, e.Detail.VariationIndex, e.Default, p.keysGen.Load())
	}
	// The clock costs as much as the counting: read it only for events.
	if notice {
		p.noticeContext(e.Context, 0)
	}
	if f == nil || !(f.TrackEvents || e.IsExperiment || f.DebugEventsUntilDate != nil) {
		return
	}
	now := nowMs()
	if (f.TrackEvents || e.IsExperiment) && sample(f.SamplingRatio) {
		q := featureEvent(e, now)
		q.kind = kindFeature
		p.enqueue(&q)
	}
	if f.DebugEventsUntilDate != nil {
		until := *f.DebugEventsUntilDate
		if until > now && until > p.lastServerTime.Load() {
			q := featureEvent(e, now)
			q.kind = kindDebug
			p.enqueue(&q)
		}
	}
}

func featureEvent(e *Evaluation, now int64) queued {
	q := queued{
		created:    now,
		ctx:        e.Context,
		key:        e.FlagKey,
		variation:  e.Detail.VariationIndex,
		value:      e.Detail.Value,
		def:        e.Default,
		reason:     e.Detail.Reason,
		withReason: e.WithReason || e.IsExperiment,
		prereqOf:   e.PrereqOf,
	}
	if f := e.Flag; f != nil {
		q.version, q.hasVersion = f.Version, true
		if f.SamplingRatio != nil {
			q.samplingRatio = *f.SamplingRatio
		}
	}
	return q
}

func (p *Processor) recordUnsummarized(e *Evaluation, now int64) {
	q := featureEvent(e, now)
	q.kind = kindFeature
	if f := e.Flag; f != nil {
		q.trackEvents = f.TrackEvents || e.IsExperiment
		if f.DebugEventsUntilDate != nil {
			q.debugUntil = *f.DebugEventsUntilDate
		}
	}
	p.enqueue(&q)
}

// sample keeps one event in ratio (LaunchDarkly's samplingRatio): nil or 1
// keeps every event, 0 or less none.
func sample(ratio *int) bool {
	if ratio == nil || *ratio == 1 {
		return true
	}
	if *ratio <= 0 {
		return false
	}
	return rand.IntN(*ratio) == 0
}

// noticeContext queues an index event for a context not seen within the
// dedup window. now zero means "read the clock".
func (p *Processor) noticeContext(ec evalctx.Context, now int64) {
	if p.s.Unsummarized || p.keys.add(ec.FullyQualifiedKey()) {
		return
	}
	if now == 0 {
		now = nowMs()
	}
	p.enqueue(&queued{kind: kindIndex, created: now, ctx: ec})
}

// RecordIdentify records an identify event with the full (redacted)
// context. It also marks the context as seen, so it needs no index event.
func (p *Processor) RecordIdentify(ec evalctx.Context) {
	if p == nil || p.disabled.Load() || ec.Err() != nil {
		return
	}
	if !p.s.Unsummarized {
		p.keys.add(ec.FullyQualifiedKey())
	}
	p.enqueue(&queued{kind: kindIdentify, created: nowMs(), ctx: ec})
}

// Custom is a custom event (LaunchDarkly's TrackEvent, TrackData and
// TrackMetric).
type Custom struct {
	// Key is the event key (the metric's event key in LaunchDarkly).
	Key string
	// Context is who the event is about (valid).
	Context evalctx.Context
	// Data is optional data attached to the event; null is left out.
	Data jsonvalue.Value
	// MetricValue is the numeric value for a numeric metric; nil is left
	// out.
	MetricValue *float64
}

// RecordCustom records a custom event (and an index event for a context not
// seen within the dedup window).
func (p *Processor) RecordCustom(c Custom) {
	if p == nil || p.disabled.Load() || c.Context.Err() != nil {
		return
	}
	now := nowMs()
	p.noticeContext(c.Context, now)
	q := queued{kind: kindCustom, created: now, ctx: c.Context, key: c.Key, data: c.Data}
	if c.MetricValue != nil {
		q.metric, q.hasMetric = *c.MetricValue, true
	}
	p.enqueue(&q)
}

// RecordRaw queues an event already encoded as one JSON object (used for
// migration_op events). When ec is valid, its context (redacted, anonymous
// contexts as in feature events) is added as the object's first property
// "context" when the payload is written. raw must not be modified
// afterwards.
func (p *Processor) RecordRaw(raw []byte, ec evalctx.Context) {
	if p == nil || p.disabled.Load() {
		return
	}
	p.enqueue(&queued{kind: kindRaw, raw: raw, ctx: ec})
}

// enqueue adds an event unless Capacity events are held; drops are counted
// and logged once per change of state.
func (p *Processor) enqueue(q *queued) {
	if p.closed.Load() {
		return
	}
	p.mu.Lock()
	if len(p.queue)+p.held >= p.s.Capacity {
		first := !p.dropping
		p.dropping = true
		p.mu.Unlock()
		p.stats.dropped.Add(1)
		if first {
			p.log.Warn("event capacity reached; dropping events until the queue drains (raise Events.Capacity or check the events endpoint)",
				"capacity", p.s.Capacity)
		}
		return
	}
	p.queue = append(p.queue, *q)
	recovered := p.dropping
	p.dropping = false
	p.mu.Unlock()
	p.stats.queued.Add(1)
	if recovered {
		p.log.Info("events are accepted again after dropping", "dropped_total", p.stats.dropped.Load())
	}
}

// Flush asks for a payload to be built and delivered now, without
// waiting.
func (p *Processor) Flush() {
	if p == nil || p.closed.Load() {
		return
	}
	select {
	case p.flushCh <- nil:
	default: // flushes are already pending
	}
}

// FlushAndWait flushes and waits until that flush's payload (and any older
// undelivered one) has been delivered, spooled or given up on, or until
// timeout. It reports whether the flush finished in time.
func (p *Processor) FlushAndWait(timeout time.Duration) bool {
	if p == nil || p.closed.Load() {
		return false
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	w := make(chan struct{})
	select {
	case p.flushCh <- w:
	case <-t.C:
		return false
	case <-p.done:
		return false
	}
	select {
	case <-w:
		return true
	case <-t.C:
		return false
	case <-p.done:
		return false
	}
}

// Close delivers what is queued (one last flush) and stops the goroutine.
// ctx bounds the wait: when it ends, a delivery in progress is abandoned
// (its events are spooled if a spool is configured, else lost) and Close
// returns ctx's error. Later calls return nil at once; events recorded
// after Close are ignored.
func (p *Processor) Close(ctx context.Context) error {
	if p == nil || !p.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(p.closeCh)
	select {
	case <-p.done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-p.done
		return fmt.Errorf("events: closing: %w", ctx.Err())
	}
}

// Stats returns the processor's counters.
func (p *Processor) Stats() Stats {
	if p == nil {
		return Stats{}
	}
	p.mu.Lock()
	inMem := len(p.queue) + p.held
	p.mu.Unlock()
	return Stats{
		EventsQueued:      p.stats.queued.Load(),
		EventsDropped:     p.stats.dropped.Load(),
		EventsDelivered:   p.stats.delivered.Load(),
		EventsRejected:    p.stats.rejected.Load(),
		EventsRestored:    p.stats.restored.Load(),
		EventsInMemory:    inMem,
		EventsInSpool:     int(p.stats.inSpool.Load()),
		EventsSpooled:     p.stats.spooled.Load(),
		SpoolBytes:        p.stats.spoolBytes.Load(),
		Flushes:           p.stats.flushes.Load(),
		PayloadsDelivered: p.stats.payloads.Load(),
		Retries:           p.stats.retried.Load(),
		Stopped:           p.disabled.Load(),
	}
}

func (p *Processor) run() {
	defer close(p.done)
	flushT := time.NewTicker(p.s.FlushInterval)
	defer flushT.Stop()
	keysT := time.NewTicker(p.s.ContextKeysFlushInterval)
	defer keysT.Stop()
	for {
		select {
		case <-flushT.C:
			p.flush(p.runCtx)
		case w := <-p.flushCh:
			p.flush(p.runCtx)
			if w != nil {
				close(w)
			}
		case <-keysT.C:
			p.keys.reset()
			p.keysGen.Add(1)
		case <-p.closeCh:
			p.flush(p.runCtx)
			for { // release FlushAndWait callers
				select {
				case w := <-p.flushCh:
					if w != nil {
						close(w)
					}
				default:
					if p.pending != nil && p.spool != nil && p.spool.put(p.pending) == nil {
						p.spooledPayload(p.pending)
						p.pending = nil
					}
					return
				}
			}
		}
	}
}

// build takes the queue and the summary into a payload; nil when there is
// nothing to send.
func (p *Processor) build() *payload {
	p.mu.Lock()
	q := p.queue
	p.queue = nil
	p.held += len(q)
	p.mu.Unlock()
	var sum summary
	if !p.s.Unsummarized {
		sum = p.sum.take()
	}
	if len(q) == 0 && len(sum.flags) == 0 {
		return nil
	}
	body := make([]byte, 0, 256*len(q)+256*len(sum.flags)+2)
	body = append(body, '[')
	for i := range q {
		if i > 0 {
			body = append(body, ',')
		}
		body = p.red.appendEvent(body, &q[i], p.s.Unsummarized)
	}
	count := len(q)
	if len(sum.flags) > 0 {
		if len(q) > 0 {
			body = append(body, ',')
		}
		body = appendSummary(body, &sum)
		count++
	}
	body = append(body, ']')
	return &payload{id: newUUID(), body: body, events: len(q), count: count}
}

// flush builds a payload and delivers, in order: spooled payloads, the
// payload held in memory from an earlier failed delivery, then the new one.
// While a payload waits in memory no new one is built, so events keep
// waiting in the queue (bounded by Capacity) and summaries keep counting.
func (p *Processor) flush(ctx context.Context) {
	p.stats.flushes.Add(1)
	if p.disabled.Load() {
		p.discardAll()
		return
	}
	for round := 0; round < 2; round++ {
		if p.pending == nil {
			if p.pending = p.build(); p.pending == nil {
				return
			}
		}
		if p.spool != nil && !p.drainSpool(ctx) {
			p.spoolPending()
			return
		}
		out, err := p.deliver(ctx, p.pending)
		switch out {
		case delivered:
			p.finished(p.pending, delivered)
			p.pending = nil
		case rejected:
			p.log.Warn("the events service refused a payload as too large; its events are dropped",
				"events", p.pending.count, "bytes", len(p.pending.body))
			p.finished(p.pending, rejected)
			p.pending = nil
		case stopped:
			p.stop(err)
			return
		case failed:
			p.log.Warn("events not delivered; they wait and are sent again at the next flush", "err", err,
				"events", p.pending.count)
			p.spoolPending()
			return
		}
	}
}

// drainSpool delivers spooled payloads oldest first; false when one could
// not be delivered (it stays in the spool).
func (p *Processor) drainSpool(ctx context.Context) bool {
	for {
		sp, ok, err := p.spool.oldest()
		if errors.Is(err, errCorruptSpool) {
			p.log.Error("skipping a damaged spooled payload", "err", err, "events", sp.events)
			p.stats.inSpool.Add(-int64(sp.events))
			p.stats.rejected.Add(uint64(sp.events))
			p.stats.spoolBytes.Store(p.spool.bytes)
			continue
		}
		if err != nil {
			p.log.Error("reading the event spool", "err", err)
			return false
		}
		if !ok {
			return true
		}
		out, err := p.deliver(ctx, sp)
		switch out {
		case failed:
			return false
		case stopped:
			p.stop(err)
			return false
		}
		if err := p.spool.removeOldest(); err != nil {
			p.log.Error("removing a delivered payload from the event spool", "err", err)
		}
		p.stats.inSpool.Add(-int64(sp.events))
		p.stats.spoolBytes.Store(p.spool.bytes)
		if out == delivered {
			p.stats.delivered.Add(uint64(sp.events))
			p.stats.payloads.Add(1)
		} else {
			p.stats.rejected.Add(uint64(sp.events))
		}
	}
}

// spoolPending moves the in-memory payload to the spool, if there is one
// and it has room; otherwise the payload stays in memory.
func (p *Processor) spoolPending() {
	if p.spool == nil || p.pending == nil {
		return
	}
	if err := p.spool.put(p.pending); err != nil {
		if !errors.Is(err, errSpoolFull) && !p.spoolErr {
			p.spoolErr = true
			p.log.Error("writing to the event spool; payloads wait in memory", "err", err)
		}
		return
	}
	p.spoolErr = false
	p.spooledPayload(p.pending)
	p.pending = nil
}

func (p *Processor) spooledPayload(pl *payload) {
	p.mu.Lock()
	p.held -= pl.events
	p.mu.Unlock()
	p.stats.spooled.Add(uint64(pl.events))
	p.stats.inSpool.Add(int64(pl.events))
	p.stats.spoolBytes.Store(p.spool.bytes)
}

func (p *Processor) finished(pl *payload, out outcome) {
	p.mu.Lock()
	p.held -= pl.events
	p.mu.Unlock()
	if out == delivered {
		p.stats.delivered.Add(uint64(pl.events))
		p.stats.payloads.Add(1)
	} else {
		p.stats.rejected.Add(uint64(pl.events))
	}
}

// stop disables sending for good after an unrecoverable answer (one log
// line).
func (p *Processor) stop(err error) {
	if p.disabled.Swap(true) {
		return
	}
	p.log.Error("the events service refused the SDK key or the request; event sending is stopped for good (check Events.SDKKey)",
		"err", err)
	p.discardAll()
}

// discardAll drops everything held in memory (after a stop).
func (p *Processor) discardAll() {
	p.mu.Lock()
	n := len(p.queue)
	p.queue = nil
	if p.pending != nil {
		n += p.pending.events
		p.held -= p.pending.events
		p.pending = nil
	}
	p.mu.Unlock()
	p.stats.rejected.Add(uint64(n))
	p.sum.take()
}
