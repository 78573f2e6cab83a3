package otel

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
)

// collect reads every metric through the SDK's manual reader.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != InstrumentationName {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// point returns the value of the data point of m whose attributes include
// attrs (ints and floats as float64), and whether there is one.
func point(m metricdata.Metrics, attrs ...attribute.KeyValue) (float64, bool) {
	match := func(set attribute.Set) bool {
		for _, a := range attrs {
			if v, ok := set.Value(a.Key); !ok || v != a.Value {
				return false
			}
		}
		return true
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return float64(p.Value), true
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return p.Value, true
			}
		}
	case metricdata.Gauge[int64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return float64(p.Value), true
			}
		}
	case metricdata.Gauge[float64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return p.Value, true
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if match(p.Attributes) {
				return float64(p.Count), true
			}
		}
	}
	return 0, false
}

func TestMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	m, err := NewMetrics(MetricsOptions{MeterProvider: mp})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var cfg client.Config
	cfg.Cache.ReadObserver = m.ObserveStoreRead
	c, _ := newClient(t, cfg)
	if err := m.Observe(c); err != nil {
		t.Fatal(err)
	}
	u := evalctx.New("u")
	for range 3 {
		c.BoolVariation("fixed", u, false)
	}
	c.BoolVariation("off", u, false)
	c.BoolVariation("missing", u, false)
	got := collect(t, reader)

	units := map[string]string{
		MetricEvaluations: "{evaluation}", MetricEvaluationErrors: "{evaluation}", MetricBigSegmentEvals: "{evaluation}",
		MetricBigSegmentStore: "{state}", MetricCacheLookups: "{lookup}", MetricCacheRefreshes: "{refresh}",
		MetricStoreReads: "{read}", MetricStoreReadErrors: "{read}", MetricStoreReadDuration: "s",
		MetricStoreState: "{state}", MetricStoreStale: "{bool}", MetricStoreStateTime: "s", MetricDataAge: "s",
		MetricNotifications: "{change}",
	}
	for name, unit := range units {
		mt, ok := got[name]
		if !ok {
			t.Errorf("metric %s missing", name)
			continue
		}
		if mt.Unit != unit || mt.Description == "" {
			t.Errorf("%s: unit %q, description %q", name, mt.Unit, mt.Description)
		}
	}
	for _, want := range []struct {
		metric string
		attrs  []attribute.KeyValue
		value  float64
	}{
		{MetricEvaluations, []attribute.KeyValue{attribute.String("feature_flag.key", "fixed"), AttrReason.String("FALLTHROUGH")}, 3},
		{MetricEvaluations, []attribute.KeyValue{attribute.String("feature_flag.key", "off"), AttrReason.String("OFF")}, 1},
		{MetricEvaluations, []attribute.KeyValue{attribute.String("feature_flag.key", "missing"), AttrReason.String("ERROR")}, 1},
		{MetricEvaluationErrors, []attribute.KeyValue{AttrErrorKind.String("FLAG_NOT_FOUND")}, 1},
		{MetricEvaluationErrors, []attribute.KeyValue{AttrErrorKind.String("WRONG_TYPE")}, 0},
		{MetricCacheLookups, []attribute.KeyValue{AttrItemKind.String("flags"), AttrCacheResult.String("miss")}, 3},
		{MetricCacheLookups, []attribute.KeyValue{AttrItemKind.String("flags"), AttrCacheResult.String("hit")}, 2},
		{MetricStoreReadErrors, []attribute.KeyValue{AttrOperation.String("get")}, 0},
		{MetricStoreState, []attribute.KeyValue{AttrState.String("available")}, 1},
		{MetricStoreState, []attribute.KeyValue{AttrState.String("unavailable")}, 0},
		{MetricStoreStale, nil, 0},
		{MetricBigSegmentStore, []attribute.KeyValue{AttrState.String("not_configured")}, 1},
	} {
		v, ok := point(got[want.metric], want.attrs...)
		if !ok || v != want.value {
			t.Errorf("%s%v = %v (found %v), want %v", want.metric, want.attrs, v, ok, want.value)
		}
	}
	// The three misses read the store; a notification of the writer's
	// rename may make the cache read them once more in the background.
	for _, name := range []string{MetricStoreReads, MetricStoreReadDuration} {
		if v, ok := point(got[name], AttrOperation.String("get")); !ok || v < 3 {
			t.Errorf("%s{get} = %v (found %v), want at least 3", name, v, ok)
		}
	}
	if v, ok := point(got[MetricStoreStateTime], AttrState.String("available")); !ok || v <= 0 {
		t.Errorf("time available %v, %v", v, ok)
	}
	if v, ok := point(got[MetricDataAge]); !ok || v < 0 || v > 60 {
		t.Errorf("data age %v, %v", v, ok)
	}
	if h, ok := got[MetricStoreReadDuration].Data.(metricdata.Histogram[float64]); !ok || len(h.DataPoints[0].Bounds) != 15 {
		t.Errorf("histogram bounds: %+v", got[MetricStoreReadDuration].Data)
	}
	// Counters are cumulative: more evaluations, higher values.
	c.BoolVariation("fixed", u, false)
	if v, _ := point(collect(t, reader)[MetricEvaluations], attribute.String("feature_flag.key", "fixed")); v != 4 {
		t.Errorf("after one more evaluation: %v", v)
	}
	// After Close nothing is reported for the client.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := collect(t, reader)[MetricEvaluations]; ok {
		t.Error("evaluations reported after Close")
	}
}
