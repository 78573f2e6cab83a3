package otel

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gootel "go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otellog "go.opentelemetry.io/otel/log"
	logglobal "go.opentelemetry.io/otel/log/global"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// EventName is the name of the span event and log record event the hook
// emits (OpenTelemetry semantic conventions for feature flags).
const EventName = "feature_flag.evaluation"

// SpanName is the name of the span the hook starts per evaluation with
// HookOptions.Spans.
const SpanName = "feature_flag.evaluation"

// DefaultProviderName is feature_flag.provider.name when
// HookOptions.ProviderName is empty.
const DefaultProviderName = "daemonflag"

// DefaultMaxValueLength bounds feature_flag.result.value when
// HookOptions.MaxValueLength is zero.
const DefaultMaxValueLength = 256

// InstrumentationName is the instrumentation scope of the hook's tracer and
// logger, and of the metrics' meter.
const InstrumentationName = "github.com/daemonflag/daemonflag/otel"

// HookOptions configures a [Hook]. The zero value of every field is its
// documented default: span events on the active span, no value, the global
// tracer provider.
type HookOptions struct {
	// ProviderName is feature_flag.provider.name. Empty:
	// [DefaultProviderName].
	ProviderName string

	// SetID is feature_flag.set.id (the identifier of the flag set the
	// client reads, such as the store's prefix or the environment). Empty:
	// the attribute is left out.
	SetID string

	// IncludeValue adds feature_flag.result.value (an opt-in of the
	// conventions: values may be sensitive). Booleans and numbers are typed
	// attributes; strings, and objects and arrays as JSON, are cut to
	// MaxValueLength bytes (on a UTF-8 boundary, "…" appended). Zero: no
	// value.
	IncludeValue bool

	// MaxValueLength bounds feature_flag.result.value. Zero:
	// [DefaultMaxValueLength].
	MaxValueLength int

	// Logs emits each evaluation as a log record (event name
	// feature_flag.evaluation, the same attributes) through LoggerProvider
	// instead of as a span event. Zero: span events.
	Logs bool

	// Spans starts one span per evaluation (named [SpanName], a child of
	// the caller's span) and adds the event to it rather than to the
	// caller's span. Zero: no spans of the hook's own.
	Spans bool

	// TracerProvider starts the spans of Spans. Nil: the global one
	// (otel.GetTracerProvider()).
	TracerProvider trace.TracerProvider

	// LoggerProvider receives the log records of Logs. Nil: the global one
	// (go.opentelemetry.io/otel/log/global).
	LoggerProvider otellog.LoggerProvider
}

// Hook is a client.Hook that records every variation call as the
// feature_flag.evaluation event, with the attributes of OpenTelemetry's
// semantic conventions v1.40+: feature_flag.key, feature_flag.provider.name,
// feature_flag.result.variant (the variation index, when there is one),
// feature_flag.result.reason (lowercase standard reason, see
// client.StandardReason: "stale" while the store is unavailable and the
// last good value is served), feature_flag.context.id (the context's fully
// qualified key), feature_flag.version (after [Hook.Bind]),
// feature_flag.set.id (when configured), and on errors error.type (the
// lowercase standard error code) and feature_flag.error.message;
// feature_flag.result.value when opted in.
//
// By default the event goes on the span active in the variation's
// context.Context (use the ...Ctx variation methods to pass one); with no
// recording span it costs a few nanoseconds and no allocation. A Hook is
// safe for concurrent use.
type Hook struct {
	client.HookBase
	opts   HookOptions
	name   attribute.KeyValue
	setID  attribute.KeyValue
	max    int
	tracer trace.Tracer   // Spans only
	logger otellog.Logger // Logs only
	c      atomic.Pointer[client.Client]
}

// NewHook returns a hook configured by opts.
func NewHook(opts HookOptions) *Hook {
	h := &Hook{opts: opts, max: opts.MaxValueLength}
	if opts.ProviderName == "" {
		opts.ProviderName = DefaultProviderName
	}
	h.name = semconv.FeatureFlagProviderName(opts.ProviderName)
	if opts.SetID != "" {
		h.setID = semconv.FeatureFlagSetID(opts.SetID)
	}
	if h.max <= 0 {
		h.max = DefaultMaxValueLength
	}
	if opts.Spans {
		tp := opts.TracerProvider
		if tp == nil {
			tp = gootel.GetTracerProvider()
		}
		h.tracer = tp.Tracer(InstrumentationName)
	}
	if opts.Logs {
		lp := opts.LoggerProvider
		if lp == nil {
			lp = logglobal.GetLoggerProvider()
		}
		h.logger = lp.Logger(InstrumentationName)
	}
	return h
}

// Bind gives the hook the client it is configured in, from which it reads
// the evaluated flag's version (feature_flag.version), whether a rollout
// chose the variation (reason "split") and whether the store is unavailable
// (reason "stale"). Hooks are configured before the client exists, so call
// Bind after client.New; until then those facts are left out (and the
// reason is derived from LaunchDarkly's reason kind alone).
func (h *Hook) Bind(c *client.Client) { h.c.Store(c) }

// Metadata names the hook "daemonflag-otel" in the client's log lines.
func (h *Hook) Metadata() client.HookMetadata { return client.HookMetadata{Name: "daemonflag-otel"} }

const spanKey = "daemonflag-otel.span"

// BeforeEvaluation starts the evaluation's span when HookOptions.Spans is
// set.
func (h *Hook) BeforeEvaluation(ctx context.Context, series client.EvaluationSeriesContext, data client.EvaluationSeriesData) (client.EvaluationSeriesData, error) {
	if h.tracer == nil {
		return data, nil
	}
	_, span := h.tracer.Start(ctx, SpanName, trace.WithAttributes(semconv.FeatureFlagKey(series.FlagKey)))
	return data.With(spanKey, span), nil
}

// AfterEvaluation records the event.
func (h *Hook) AfterEvaluation(ctx context.Context, series client.EvaluationSeriesContext, data client.EvaluationSeriesData, d evaluation.Detail) (client.EvaluationSeriesData, error) {
	switch {
	case h.logger != nil:
		if h.logger.Enabled(ctx, otellog.EnabledParameters{EventName: EventName, Severity: otellog.SeverityInfo}) {
			h.emitLog(ctx, series, d)
		}
	case h.tracer != nil:
		v, _ := data.Get(spanKey)
		span, ok := v.(trace.Span)
		if !ok {
			return data, nil
		}
		if span.IsRecording() {
			attrs := h.attributes(ctx, series, d)
			span.AddEvent(EventName, trace.WithAttributes(attrs...))
			span.SetAttributes(attrs[1:]...) // the key is set at the start
		}
		span.End()
	default:
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return data, nil
		}
		span.AddEvent(EventName, trace.WithAttributes(h.attributes(ctx, series, d)...))
	}
	return data, nil
}

// attributes builds the event's attributes; the key comes first.
func (h *Hook) attributes(ctx context.Context, series client.EvaluationSeriesContext, d evaluation.Detail) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 10)
	attrs = append(attrs, semconv.FeatureFlagKey(series.FlagKey), h.name)
	if h.setID.Valid() {
		attrs = append(attrs, h.setID)
	}
	if err := series.Context.Err(); err == nil {
		attrs = append(attrs, semconv.FeatureFlagContextID(series.Context.FullyQualifiedKey()))
	}
	var split, stale bool
	if c := h.c.Load(); c != nil {
		if info, ok := c.FlagInfo(ctx, series.FlagKey, d.Reason); ok {
			split = info.Split
			attrs = append(attrs, semconv.FeatureFlagVersion(strconv.Itoa(info.Version)))
		}
		stale = c.DataStoreStatus().Stale
	}
	if d.VariationIndex >= 0 {
		attrs = append(attrs, semconv.FeatureFlagResultVariant(strconv.Itoa(d.VariationIndex)))
		if h.opts.IncludeValue {
			attrs = append(attrs, h.value(d.Value))
		}
	}
	reason := client.StandardReason(d.Reason, split)
	if stale && d.Reason.Kind != evaluation.ReasonError {
		reason = client.StandardStale
	}
	attrs = append(attrs, semconv.FeatureFlagResultReasonKey.String(strings.ToLower(reason)))
	if d.Reason.Kind == evaluation.ReasonError {
		attrs = append(attrs,
			semconv.ErrorTypeKey.String(strings.ToLower(client.StandardErrorCode(d.Reason.ErrorKind))),
			semconv.FeatureFlagErrorMessage(client.ErrorMessage(d.Reason.ErrorKind)+" ("+string(d.Reason.ErrorKind)+")"))
	}
	return attrs
}

// value is feature_flag.result.value, bounded.
func (h *Hook) value(v jsonvalue.Value) attribute.KeyValue {
	k := semconv.FeatureFlagResultValueKey
	switch {
	case v.IsBool():
		return k.Bool(v.Bool())
	case v.IsInt():
		return k.Int(v.Int())
	case v.IsNumber():
		return k.Float64(v.Float64())
	case v.IsString():
		return k.String(truncate(v.Str(), h.max))
	}
	return k.String(truncate(string(v.JSON()), h.max))
}

// truncate cuts s to at most max bytes on a rune boundary, marking the cut.
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func (h *Hook) emitLog(ctx context.Context, series client.EvaluationSeriesContext, d evaluation.Detail) {
	attrs := h.attributes(ctx, series, d)
	var r otellog.Record
	r.SetEventName(EventName)
	now := time.Now()
	r.SetTimestamp(now)
	r.SetObservedTimestamp(now)
	r.SetSeverity(otellog.SeverityInfo)
	r.AddAttributes(attrs...)
	h.logger.Emit(ctx, r)
}
