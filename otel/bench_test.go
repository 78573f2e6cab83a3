package otel

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
)

var (
	benchUser = evalctx.NewBuilder("user-1").SetString("email", "ann@example.com").Build()
	boolSink  bool
)

// BenchmarkHookNoRecordingSpanNoAlloc: the hook on BoolVariationCtx with no
// recording span in the context (OpenTelemetry's no-op tracer, or none)
// must not allocate.
func BenchmarkHookNoRecordingSpanNoAlloc(b *testing.B) {
	hook := NewHook(HookOptions{})
	c, _ := newClient(b, client.Config{Hooks: []client.Hook{hook}})
	hook.Bind(c)
	ctx, span := noop.NewTracerProvider().Tracer("bench").Start(context.Background(), "request")
	defer span.End()
	boolSink, _ = c.BoolVariationCtx(ctx, "fixed", benchUser, false) // warm the cache
	b.ReportAllocs()
	for b.Loop() {
		boolSink, _ = c.BoolVariationCtx(ctx, "fixed", benchUser, false)
	}
}

// BenchmarkHookOverhead compares BoolVariationCtx without the hook, with
// it and a no-op span, and with it and a recording SDK span (the event and
// its attributes are built and stored; the span is reused, so its event
// list grows up to the SDK's limit of 128 and then drops the oldest).
func BenchmarkHookOverhead(b *testing.B) {
	b.Run("no hook", func(b *testing.B) {
		c, _ := newClient(b, client.Config{})
		b.ReportAllocs()
		for b.Loop() {
			boolSink, _ = c.BoolVariationCtx(context.Background(), "fixed", benchUser, false)
		}
	})
	b.Run("hook, no-op tracer", func(b *testing.B) {
		hook := NewHook(HookOptions{})
		c, _ := newClient(b, client.Config{Hooks: []client.Hook{hook}})
		hook.Bind(c)
		ctx, span := noop.NewTracerProvider().Tracer("bench").Start(context.Background(), "request")
		defer span.End()
		b.ReportAllocs()
		for b.Loop() {
			boolSink, _ = c.BoolVariationCtx(ctx, "fixed", benchUser, false)
		}
	})
	b.Run("hook, SDK tracer, span event", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer tp.Shutdown(context.Background())
		hook := NewHook(HookOptions{})
		c, _ := newClient(b, client.Config{Hooks: []client.Hook{hook}})
		hook.Bind(c)
		ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
		defer span.End()
		b.ReportAllocs()
		for b.Loop() {
			boolSink, _ = c.BoolVariationCtx(ctx, "fixed", benchUser, false)
		}
	})
	b.Run("hook, SDK tracer, span per evaluation", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider()
		defer tp.Shutdown(context.Background())
		hook := NewHook(HookOptions{Spans: true, TracerProvider: tp})
		c, _ := newClient(b, client.Config{Hooks: []client.Hook{hook}})
		hook.Bind(c)
		ctx, span := tp.Tracer("bench").Start(context.Background(), "request")
		defer span.End()
		b.ReportAllocs()
		for b.Loop() {
			boolSink, _ = c.BoolVariationCtx(ctx, "fixed", benchUser, false)
		}
	})
}

// BenchmarkMetrics compares BoolVariation with the evaluation counters off
// and on (what the metrics read), and measures one collection of every
// metric with the SDK's manual reader.
func BenchmarkMetrics(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  client.StatsConfig
	}{{"evaluation, counters off", client.StatsConfig{Disabled: true}}, {"evaluation, counters on", client.StatsConfig{}}} {
		b.Run(tc.name, func(b *testing.B) {
			c, _ := newClient(b, client.Config{Stats: tc.cfg})
			b.ReportAllocs()
			for b.Loop() {
				boolSink, _ = c.BoolVariation("fixed", benchUser, false)
			}
		})
	}
	b.Run("collection", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		m, err := NewMetrics(MetricsOptions{MeterProvider: mp})
		if err != nil {
			b.Fatal(err)
		}
		c, _ := newClient(b, client.Config{})
		m.Observe(c)
		for _, k := range []string{"fixed", "split", "off", "number", "object", "long-string"} {
			c.BoolVariation(k, benchUser, false)
		}
		b.ReportAllocs()
		for b.Loop() {
			collect(&testing.T{}, reader)
		}
	})
}
