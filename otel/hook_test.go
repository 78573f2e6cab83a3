package otel

import (
	"context"
	"os"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store/cache"
)

// tracing returns a real SDK tracer provider recording into a span recorder.
func tracing(t testing.TB) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { tp.Shutdown(context.Background()) })
	return tp, sr
}

// evaluateInSpan runs eval inside a span of tp and returns the attributes
// of the one feature_flag.evaluation event that span received.
func evaluateInSpan(t *testing.T, tp trace.TracerProvider, sr *tracetest.SpanRecorder, eval func(ctx context.Context)) map[attribute.Key]attribute.Value {
	t.Helper()
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	eval(ctx)
	span.End()
	ended := sr.Ended()
	got := ended[len(ended)-1]
	if got.Name() != "request" {
		t.Fatalf("last span %q", got.Name())
	}
	evs := got.Events()
	if len(evs) != 1 || evs[0].Name != EventName {
		t.Fatalf("events %+v, want one %s", evs, EventName)
	}
	return attrMap(evs[0].Attributes)
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// str is the string attribute map form of want, for comparison.
func assertAttrs(t *testing.T, got map[attribute.Key]attribute.Value, want map[string]any) {
	t.Helper()
	for k, w := range want {
		v, ok := got[attribute.Key(k)]
		if w == nil {
			if ok {
				t.Errorf("%s = %v, want it absent", k, v.Emit())
			}
			continue
		}
		if !ok || !reflect.DeepEqual(v.AsInterface(), w) {
			t.Errorf("%s = %v (present %v), want %v", k, v.AsInterface(), ok, w)
		}
	}
	for k := range got {
		if _, ok := want[string(k)]; !ok {
			t.Errorf("unexpected attribute %s = %v", k, got[k].Emit())
		}
	}
}

func TestHookSpanEvent(t *testing.T) {
	tp, sr := tracing(t)
	hook := NewHook(HookOptions{SetID: "prod"})
	c, _ := newClient(t, client.Config{Hooks: []client.Hook{hook}})
	hook.Bind(c)
	u := evalctx.New("user-1")
	for _, tc := range []struct {
		name string
		eval func(ctx context.Context)
		want map[string]any
	}{
		{"fixed fallthrough", func(ctx context.Context) { c.BoolVariationCtx(ctx, "fixed", u, false) }, map[string]any{
			"feature_flag.key": "fixed", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "user-1", "feature_flag.version": "3", "feature_flag.result.variant": "1",
			"feature_flag.result.reason": "default"}},
		{"individual target", func(ctx context.Context) { c.BoolVariationCtx(ctx, "fixed", evalctx.New("targeted"), true) }, map[string]any{
			"feature_flag.key": "fixed", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "targeted", "feature_flag.version": "3", "feature_flag.result.variant": "0",
			"feature_flag.result.reason": "targeting_match"}},
		{"rollout", func(ctx context.Context) { c.StringVariationCtx(ctx, "split", u, "") }, map[string]any{
			"feature_flag.key": "split", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "user-1", "feature_flag.version": "4", "feature_flag.result.variant": "1",
			"feature_flag.result.reason": "split"}},
		{"off", func(ctx context.Context) { c.BoolVariationCtx(ctx, "off", u, true) }, map[string]any{
			"feature_flag.key": "off", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "user-1", "feature_flag.version": "5", "feature_flag.result.variant": "0",
			"feature_flag.result.reason": "disabled"}},
		{"flag not found", func(ctx context.Context) { c.BoolVariationCtx(ctx, "missing", u, true) }, map[string]any{
			"feature_flag.key": "missing", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "user-1", "feature_flag.result.reason": "error",
			"error.type": "flag_not_found", "feature_flag.error.message": "flag not found (FLAG_NOT_FOUND)"}},
		{"wrong type", func(ctx context.Context) { c.IntVariationCtx(ctx, "fixed", u, 7) }, map[string]any{
			"feature_flag.key": "fixed", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.context.id": "user-1", "feature_flag.version": "3", "feature_flag.result.reason": "error",
			"error.type": "type_mismatch", "feature_flag.error.message": "flag value has the wrong type (WRONG_TYPE)"}},
		{"invalid context", func(ctx context.Context) { c.BoolVariationCtx(ctx, "fixed", evalctx.New(""), true) }, map[string]any{
			"feature_flag.key": "fixed", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
			"feature_flag.result.reason": "error", "feature_flag.version": "3",
			"error.type": "invalid_context", "feature_flag.error.message": "invalid context (USER_NOT_SPECIFIED)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertAttrs(t, evaluateInSpan(t, tp, sr, tc.eval), tc.want)
		})
	}
}

func TestHookNoRecordingSpan(t *testing.T) {
	tp, sr := tracing(t)
	hook := NewHook(HookOptions{TracerProvider: tp})
	c, _ := newClient(t, client.Config{Hooks: []client.Hook{hook}})
	c.BoolVariation("fixed", evalctx.New("u"), false) // no span in context.Background()
	if n := len(sr.Ended()) + len(sr.Started()); n != 0 {
		t.Errorf("%d spans without Spans set", n)
	}
}

func TestHookValue(t *testing.T) {
	tp, sr := tracing(t)
	hook := NewHook(HookOptions{IncludeValue: true, MaxValueLength: 9, ProviderName: "flags-eu"})
	c, _ := newClient(t, client.Config{Hooks: []client.Hook{hook}})
	u := evalctx.New("u")
	for _, tc := range []struct {
		name string
		eval func(ctx context.Context)
		want any
	}{
		{"bool", func(ctx context.Context) { c.BoolVariationCtx(ctx, "fixed", u, false) }, true},
		{"number", func(ctx context.Context) { c.Float64VariationCtx(ctx, "number", u, 0) }, 2.5},
		{"string cut on a rune boundary", func(ctx context.Context) { c.StringVariationCtx(ctx, "long-string", u, "") }, "éééé…"},
		{"object as JSON", func(ctx context.Context) { c.JSONVariationCtx(ctx, "object", u, jsonvalue.Null()) }, `{"a":[1,2…`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := evaluateInSpan(t, tp, sr, tc.eval)
			if v := got["feature_flag.result.value"]; v.AsInterface() != tc.want {
				t.Errorf("value = %#v, want %#v", v.AsInterface(), tc.want)
			}
			if v := got["feature_flag.provider.name"]; v.AsString() != "flags-eu" {
				t.Errorf("provider name %q", v.AsString())
			}
			if _, ok := got["feature_flag.version"]; ok {
				t.Error("a version without Bind")
			}
		})
	}
	// No value on an error (there is no variant).
	got := evaluateInSpan(t, tp, sr, func(ctx context.Context) { c.BoolVariationCtx(ctx, "missing", u, true) })
	if _, ok := got["feature_flag.result.value"]; ok {
		t.Error("value on an error")
	}
}

// TestHookStale: while the store is unavailable, last good values are
// reported with reason "stale".
func TestHookStale(t *testing.T) {
	tp, sr := tracing(t)
	hook := NewHook(HookOptions{})
	c, path := newClient(t, client.Config{Hooks: []client.Hook{hook},
		Cache: cache.Options{TTL: 20 * time.Millisecond, ProbeInterval: 10 * time.Millisecond}})
	hook.Bind(c)
	u := evalctx.New("u")
	c.BoolVariation("fixed", u, false)
	if err := os.WriteFile(path, []byte("not a bbolt file"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !c.DataStoreStatus().Stale {
		if time.Now().After(deadline) {
			t.Fatalf("store never reported stale: %+v", c.DataStoreStatus())
		}
		c.BoolVariation("fixed", u, false)
	}
	got := evaluateInSpan(t, tp, sr, func(ctx context.Context) { c.BoolVariationCtx(ctx, "fixed", u, false) })
	if r := got["feature_flag.result.reason"].AsString(); r != "stale" {
		t.Errorf("reason %q, want stale", r)
	}
	if v := got["feature_flag.result.variant"].AsString(); v != "1" {
		t.Errorf("variant %q: the last good value is served", v)
	}
}

func TestHookSpanPerEvaluation(t *testing.T) {
	tp, sr := tracing(t)
	hook := NewHook(HookOptions{Spans: true, TracerProvider: tp})
	c, _ := newClient(t, client.Config{Hooks: []client.Hook{hook}})
	hook.Bind(c)
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	c.StringVariationCtx(ctx, "split", evalctx.New("user-1"), "")
	parent.End()
	var eval sdktrace.ReadOnlySpan
	for _, s := range sr.Ended() {
		if s.Name() == SpanName {
			eval = s
		}
	}
	if eval == nil {
		t.Fatalf("no %s span among %d", SpanName, len(sr.Ended()))
	}
	if eval.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the evaluation span is not a child of the caller's")
	}
	attrs := attrMap(eval.Attributes())
	if attrs["feature_flag.key"].AsString() != "split" || attrs["feature_flag.result.reason"].AsString() != "split" {
		t.Errorf("span attributes %v", eval.Attributes())
	}
	if evs := eval.Events(); len(evs) != 1 || evs[0].Name != EventName {
		t.Errorf("span events %+v", evs)
	}
}

// memExporter is an sdk/log exporter keeping records in memory.
type memExporter struct{ records []sdklog.Record }

func (e *memExporter) Export(_ context.Context, rs []sdklog.Record) error {
	for _, r := range rs {
		e.records = append(e.records, r.Clone())
	}
	return nil
}
func (e *memExporter) Shutdown(context.Context) error   { return nil }
func (e *memExporter) ForceFlush(context.Context) error { return nil }

func TestHookLogRecords(t *testing.T) {
	exp := &memExporter{}
	lp := sdklog.NewLoggerProvider(sdklog.WithProcessor(sdklog.NewSimpleProcessor(exp)))
	defer lp.Shutdown(context.Background())
	hook := NewHook(HookOptions{Logs: true, LoggerProvider: lp, SetID: "prod"})
	c, _ := newClient(t, client.Config{Hooks: []client.Hook{hook}})
	hook.Bind(c)
	c.BoolVariation("missing", evalctx.New("user-1"), true)
	if len(exp.records) != 1 {
		t.Fatalf("%d log records", len(exp.records))
	}
	r := exp.records[0]
	if r.EventName() != EventName {
		t.Errorf("event name %q", r.EventName())
	}
	got := map[attribute.Key]attribute.Value{}
	r.WalkAttributes(func(kv attribute.KeyValue) bool { got[kv.Key] = kv.Value; return true })
	assertAttrs(t, got, map[string]any{
		"feature_flag.key": "missing", "feature_flag.provider.name": "daemonflag", "feature_flag.set.id": "prod",
		"feature_flag.context.id": "user-1", "feature_flag.result.reason": "error",
		"error.type": "flag_not_found", "feature_flag.error.message": "flag not found (FLAG_NOT_FOUND)"})
}
