package client_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// testHook records every stage into a shared log and can fail or panic.
type testHook struct {
	name        string
	log         *callLog
	beforeErr   error
	afterErr    error
	beforePanic bool
}

type callLog struct {
	mu    sync.Mutex
	calls []string
	data  map[string]client.EvaluationSeriesData // hook name -> data its after stage received
	ctx   map[string]client.EvaluationSeriesContext
	det   map[string]evaluation.Detail
	vals  map[string]any
}

func newCallLog() *callLog {
	return &callLog{data: map[string]client.EvaluationSeriesData{}, ctx: map[string]client.EvaluationSeriesContext{},
		det: map[string]evaluation.Detail{}, vals: map[string]any{}}
}

type ctxKey struct{}

func (h *testHook) Metadata() client.HookMetadata { return client.HookMetadata{Name: h.name} }

func (h *testHook) BeforeEvaluation(ctx context.Context, s client.EvaluationSeriesContext, d client.EvaluationSeriesData) (client.EvaluationSeriesData, error) {
	h.log.mu.Lock()
	h.log.calls = append(h.log.calls, "before:"+h.name)
	h.log.vals[h.name+":ctx"] = ctx.Value(ctxKey{})
	h.log.vals[h.name+":before-len"] = d.Len()
	h.log.mu.Unlock()
	if h.beforePanic {
		panic("boom")
	}
	return d.With("from", h.name).With("flag", s.FlagKey), h.beforeErr
}

func (h *testHook) AfterEvaluation(_ context.Context, s client.EvaluationSeriesContext, d client.EvaluationSeriesData, det evaluation.Detail) (client.EvaluationSeriesData, error) {
	h.log.mu.Lock()
	defer h.log.mu.Unlock()
	h.log.calls = append(h.log.calls, "after:"+h.name)
	h.log.data[h.name] = d
	h.log.ctx[h.name] = s
	h.log.det[h.name] = det
	return d, h.afterErr
}

func TestHooks(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)

	t.Run("order, series context, data and detail", func(t *testing.T) {
		log := newCallLog()
		c := e.client(client.Config{Hooks: []client.Hook{
			&testHook{name: "A", log: log}, &testHook{name: "B", log: log}, &testHook{name: "C", log: log},
		}})
		ctx := context.WithValue(bg, ctxKey{}, "caller's")
		ec := evalctx.New("u")
		v, d, err := c.StringVariationDetailCtx(ctx, "string-flag", ec, "def")
		if v != "a" || err != nil {
			t.Fatalf("%q, %v", v, err)
		}
		if want := []string{"before:A", "before:B", "before:C", "after:C", "after:B", "after:A"}; !slices.Equal(log.calls, want) {
			t.Errorf("calls = %v, want %v", log.calls, want)
		}
		for _, name := range []string{"A", "B", "C"} {
			data := log.data[name]
			if from, _ := data.Get("from"); from != name || data.Len() != 2 {
				t.Errorf("%s's after stage got data %v, want its own", name, data.AsMap())
			}
			s := log.ctx[name]
			if s.FlagKey != "string-flag" || !s.Context.Equal(ec) || !s.DefaultValue.Equal(jsonvalue.String("def")) ||
				s.Method != "Client.StringVariationDetailCtx" {
				t.Errorf("%s: series context %+v", name, s)
			}
			if det := log.det[name]; det.VariationIndex != d.VariationIndex || !det.Value.Equal(jsonvalue.String("a")) || det.Reason != d.Reason {
				t.Errorf("%s: detail %+v, want %+v", name, det, d)
			}
			if log.vals[name+":ctx"] != "caller's" || log.vals[name+":before-len"] != 0 {
				t.Errorf("%s: before stage got ctx value %v and %v entries", name, log.vals[name+":ctx"], log.vals[name+":before-len"])
			}
		}
	})

	t.Run("method names and default values", func(t *testing.T) {
		log := newCallLog()
		c := e.client(client.Config{Hooks: []client.Hook{&testHook{name: "A", log: log}}})
		u := evalctx.New("u")
		check := func(method string, def jsonvalue.Value, wantValue jsonvalue.Value) {
			t.Helper()
			s, det := log.ctx["A"], log.det["A"]
			if s.Method != method || !s.DefaultValue.Equal(def) || !det.Value.Equal(wantValue) {
				t.Errorf("%s: series %+v, detail %+v", method, s, det)
			}
		}
		c.BoolVariation("bool-flag", u, false)
		check("Client.BoolVariation", jsonvalue.Bool(false), jsonvalue.Bool(true))
		c.IntVariationCtx(bg, "int-flag", u, 3)
		check("Client.IntVariationCtx", jsonvalue.Int(3), jsonvalue.Float(2.7))
		c.Float64VariationDetail("missing", u, 1.5)
		check("Client.Float64VariationDetail", jsonvalue.Float(1.5), jsonvalue.Float(1.5))
		c.JSONVariationDetailCtx(bg, "json-flag", u, jsonvalue.Null())
		check("Client.JSONVariationDetailCtx", jsonvalue.Null(), mustParse(t, `{"x":1}`))
		c.StringVariation("bool-flag", u, "wrong type")
		check("Client.StringVariation", jsonvalue.String("wrong type"), jsonvalue.String("wrong type"))
		if det := log.det["A"]; det.Reason.ErrorKind != evaluation.ErrorWrongType {
			t.Errorf("after stage detail for a wrong type: %+v", det)
		}
	})

	t.Run("errors and panics are logged and change nothing", func(t *testing.T) {
		log := newCallLog()
		logs, logger := newLogBuffer()
		c := e.client(client.Config{Logger: logger, Hooks: []client.Hook{
			&testHook{name: "fails-before", log: log, beforeErr: errors.New("before broke")},
			&testHook{name: "panics-before", log: log, beforePanic: true},
			&testHook{name: "fails-after", log: log, afterErr: errors.New("after broke")},
		}})
		for range 3 {
			v, d, err := c.BoolVariationDetail("bool-flag", evalctx.New("u"), false)
			if !v || err != nil || d.Reason.Kind != evaluation.ReasonFallthrough {
				t.Fatalf("%v, %+v, %v", v, d, err)
			}
		}
		want := []string{"before:fails-before", "before:panics-before", "before:fails-after",
			"after:fails-after", "after:panics-before", "after:fails-before"}
		if !slices.Equal(log.calls[:6], want) {
			t.Errorf("calls = %v, want %v", log.calls[:6], want)
		}
		// A failed before stage passes on the data it received: empty.
		for _, name := range []string{"fails-before", "panics-before"} {
			if n := log.data[name].Len(); n != 0 {
				t.Errorf("%s's after stage got %v, want empty data", name, log.data[name].AsMap())
			}
		}
		if from, _ := log.data["fails-after"].Get("from"); from != "fails-after" {
			t.Errorf("fails-after's after stage got %v", log.data["fails-after"].AsMap())
		}
		// Each hook and stage is logged once (the next line would come only
		// after hookErrorLogInterval), naming hook, stage and flag.
		for _, want := range []string{
			"hook=fails-before stage=beforeEvaluation flag=bool-flag err=\"before broke\"",
			"hook=panics-before stage=beforeEvaluation flag=bool-flag err=\"panic: boom\"",
			"hook=fails-after stage=afterEvaluation flag=bool-flag err=\"after broke\"",
		} {
			if n := len(logs.lines(want)); n != 1 {
				t.Errorf("%d log lines with %q, want 1; log:\n%s", n, want, logs)
			}
		}
		if strings.Contains(logs.String(), "user=") || strings.Contains(logs.String(), `"u"`) {
			t.Errorf("a context appears in the log:\n%s", logs)
		}
	})

	t.Run("HookBase", func(t *testing.T) {
		c := e.client(client.Config{Hooks: []client.Hook{namedBase{name: "base"}}})
		if v, err := c.BoolVariation("bool-flag", evalctx.New("u"), false); !v || err != nil {
			t.Errorf("%v, %v", v, err)
		}
	})
}

// namedBase is a hook that implements only Metadata.
type namedBase struct {
	client.HookBase
	name string
}

func (n namedBase) Metadata() client.HookMetadata { return client.HookMetadata{Name: n.name} }

func TestEvaluationSeriesData(t *testing.T) {
	var d client.EvaluationSeriesData
	if d.Len() != 0 || len(client.EmptyEvaluationSeriesData().Keys()) != 0 {
		t.Fatal("zero data is not empty")
	}
	d1 := d.With("b", 2).With("a", 1)
	d2 := d1.With("a", "changed")
	if v, _ := d1.Get("a"); v != 1 {
		t.Errorf("With changed the original: a = %v", v)
	}
	if v, _ := d2.Get("a"); v != "changed" {
		t.Errorf("a = %v", v)
	}
	if got := fmt.Sprint(d1.Keys()); got != "[a b]" {
		t.Errorf("Keys = %s", got)
	}
	m := d1.AsMap()
	m["a"] = 99
	if v, _ := d1.Get("a"); v != 1 {
		t.Error("AsMap is not a copy")
	}
}
