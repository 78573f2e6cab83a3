package openfeature

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// The tests named Test_N_M_... check the OpenFeature specification's
// requirement N.M (spec v0.9.0) through the real SDK.

var user = of.NewEvaluationContext("user-1", map[string]any{"email": "ann@example.com"})

// recordingHook records the hook context of each evaluation.
type recordingHook struct {
	of.UnimplementedHook
	mu     sync.Mutex
	before []of.HookContext
	after  []of.InterfaceEvaluationDetails
}

func (h *recordingHook) Before(_ context.Context, hc of.HookContext, _ of.HookHints) (*of.EvaluationContext, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.before = append(h.before, hc)
	return nil, nil
}

func (h *recordingHook) After(_ context.Context, _ of.HookContext, d of.InterfaceEvaluationDetails, _ of.HookHints) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.after = append(h.after, d)
	return nil
}

func Test_2_1_1_MetadataHasName(t *testing.T) {
	for _, tc := range []struct{ opt, want string }{{"", DefaultName}, {"flags-eu", "flags-eu"}} {
		f := newFixture(t, Options{Name: tc.opt}, "testdata/evaluation-flags.json")
		f.start(t)
		h := &recordingHook{}
		if _, err := f.client.BooleanValue(context.Background(), "boolean-flag", false, user, of.WithHooks(h)); err != nil {
			t.Fatal(err)
		}
		if got := h.before[0].ProviderMetadata().Name; got != tc.want {
			t.Errorf("provider name seen by hooks = %q, want %q", got, tc.want)
		}
	}
}

func Test_2_2_1_TypedResolutionThroughTheSDK(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	ctx := context.Background()
	if v, err := f.client.BooleanValue(ctx, "boolean-flag", false, user); err != nil || v != true {
		t.Errorf("BooleanValue = %v, %v", v, err)
	}
	if v, err := f.client.StringValue(ctx, "string-flag", "bye", user); err != nil || v != "hi" {
		t.Errorf("StringValue = %v, %v", v, err)
	}
	if v, err := f.client.IntValue(ctx, "integer-flag", 1, user); err != nil || v != 10 {
		t.Errorf("IntValue = %v, %v", v, err)
	}
	if v, err := f.client.FloatValue(ctx, "float-flag", 0.1, user); err != nil || v != 0.5 {
		t.Errorf("FloatValue = %v, %v", v, err)
	}
	v, err := f.client.ObjectValue(ctx, "object-flag", nil, user)
	m, ok := v.(map[string]any)
	if err != nil || !ok || m["title"] != "Check out these pics!" || m["imagesPerPage"] != float64(100) {
		t.Errorf("ObjectValue = %#v, %v", v, err)
	}
}

func Test_2_2_3_to_2_2_6_NormalExecution(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	d, err := f.client.StringValueDetails(context.Background(), "context-aware", "none", of.NewEvaluationContext("123",
		map[string]any{"fn": "Sulisław", "ln": "Świętopełk", "age": 29, "customer": false}))
	if err != nil {
		t.Fatal(err)
	}
	if d.Value != "INTERNAL" { // 2.2.3: the value
		t.Errorf("value = %q", d.Value)
	}
	if d.Variant != "0" { // 2.2.4: the variant
		t.Errorf("variant = %q", d.Variant)
	}
	if d.Reason != of.TargetingMatchReason { // 2.2.5: the reason
		t.Errorf("reason = %q", d.Reason)
	}
	if d.ErrorCode != "" || d.ErrorMessage != "" { // 2.2.6: no error code
		t.Errorf("error code %q, message %q", d.ErrorCode, d.ErrorMessage)
	}
}

func Test_2_2_7_AbnormalExecution(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		eval func() (of.EvaluationDetails, error)
		code of.ErrorCode
	}{
		{"flag not found", func() (of.EvaluationDetails, error) {
			d, err := f.client.BooleanValueDetails(ctx, "missing", true, user)
			return d.EvaluationDetails, err
		}, of.FlagNotFoundCode},
		{"type mismatch", func() (of.EvaluationDetails, error) {
			d, err := f.client.FloatValueDetails(ctx, "string-flag", 1, user)
			return d.EvaluationDetails, err
		}, of.TypeMismatchCode},
		{"no targeting key", func() (of.EvaluationDetails, error) {
			d, err := f.client.BooleanValueDetails(ctx, "boolean-flag", true, of.NewTargetlessEvaluationContext(nil))
			return d.EvaluationDetails, err
		}, of.TargetingKeyMissingCode},
		{"invalid context", func() (of.EvaluationDetails, error) {
			d, err := f.client.BooleanValueDetails(ctx, "boolean-flag", true, of.NewEvaluationContext("k", map[string]any{"anonymous": "yes"}))
			return d.EvaluationDetails, err
		}, of.InvalidContextCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.eval()
			var re of.ResolutionError
			if !errors.As(err, &re) && err == nil {
				t.Fatalf("err = %v, want an error", err)
			}
			if d.ErrorCode != tc.code || d.ErrorMessage == "" || d.Reason != of.ErrorReason {
				t.Errorf("code %q message %q reason %q, want %q with a message and ERROR", d.ErrorCode, d.ErrorMessage, d.Reason, tc.code)
			}
		})
	}
}

func Test_2_2_9_and_2_2_10_FlagMetadata(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	d, err := f.client.StringValueDetails(context.Background(), "context-aware", "none", of.NewEvaluationContext("123",
		map[string]any{"kind": "user", "fn": "Sulisław", "ln": "Świętopełk", "age": 29, "customer": false}))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		MetaReasonKind: "RULE_MATCH", MetaVariationIndex: int64(0), MetaRuleIndex: int64(0), MetaRuleID: "internal",
		MetaFlagVersion: int64(1), MetaContextID: "123",
	}
	for k, w := range want {
		if got := d.FlagMetadata[k]; got != w {
			t.Errorf("metadata[%q] = %#v, want %#v", k, got, w)
		}
	}
	for k, v := range d.FlagMetadata { // 2.2.10: string keys, bool, string or number values
		switch v.(type) {
		case bool, string, int64, float64:
		default:
			t.Errorf("metadata[%q] has type %T", k, v)
		}
	}
	// Multi-kind contexts have a qualified context ID.
	d2, _ := f.client.BooleanValueDetails(context.Background(), "boolean-flag", false, of.NewTargetlessEvaluationContext(map[string]any{
		"kind": "multi", "user": map[string]any{"key": "u1"}, "organization": map[string]any{"key": "o:1"}}))
	if got := d2.FlagMetadata[MetaContextID]; got != "organization:o%3A1:user:u1" {
		t.Errorf("multi-kind contextId = %v", got)
	}
}

func Test_2_3_1_ProviderHooks(t *testing.T) {
	h := &recordingHook{}
	f := newFixture(t, Options{Hooks: []of.Hook{h}}, "testdata/evaluation-flags.json")
	f.start(t)
	if _, err := f.client.BooleanValue(context.Background(), "boolean-flag", false, user); err != nil {
		t.Fatal(err)
	}
	if len(h.before) != 1 || len(h.after) != 1 || h.after[0].Value != true || h.after[0].Variant != "0" {
		t.Errorf("provider hook saw before %d, after %v", len(h.before), h.after)
	}
}

func Test_2_4_1_and_5_3_1_InitializationWaitsForTheDataset(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	ev := watchEvents(f.api, of.ProviderReady, of.ProviderError)
	f.start(t)
	ev.waitFor(t, of.ProviderReady, nil)
	if f.client.State() != of.ReadyState {
		t.Errorf("state = %s", f.client.State())
	}
}

// Test_2_4_2_and_5_1_4_and_5_3_2_InitializationFailsWithoutDataset also covers 2.8:
// the provider cannot be ready while the store holds no dataset, and says
// so itself once a writer fills the store.
func Test_2_4_2_and_5_1_4_and_5_3_2_InitializationFailsWithoutDataset(t *testing.T) {
	f := newFixture(t, Options{InitTimeout: 300 * time.Millisecond})
	ev := watchEvents(f.api, of.ProviderReady, of.ProviderError)
	err := f.api.SetProviderAndWait(context.Background(), f.p)
	var ie *of.ProviderInitError
	if !errors.As(err, &ie) || ie.ErrorCode != of.ProviderNotReadyCode {
		t.Fatalf("SetProviderAndWait = %v, want a ProviderInitError with PROVIDER_NOT_READY", err)
	}
	e := ev.waitFor(t, of.ProviderError, nil) // 5.3.2
	if e.Message == "" {                      // 5.1.4
		t.Error("PROVIDER_ERROR without a message")
	}
	c := f.api.NewClient()
	if c.State() != of.ErrorState {
		t.Errorf("state = %s, want ERROR", c.State())
	}
	d, _ := c.BooleanValueDetails(context.Background(), "boolean-flag", false, user)
	if d.ErrorCode != of.ProviderNotReadyCode {
		t.Errorf("evaluation before the dataset: %q (%s), want PROVIDER_NOT_READY", d.ErrorCode, d.ErrorMessage)
	}
	f.writeFiles(t, "testdata/evaluation-flags.json")
	ev.waitFor(t, of.ProviderReady, nil) // 2.8: the provider emits READY itself
	if c.State() != of.ReadyState {
		t.Errorf("state = %s, want READY", c.State())
	}
	if v, err := c.BooleanValue(context.Background(), "boolean-flag", false, user); err != nil || !v {
		t.Errorf("after the dataset: %v, %v", v, err)
	}
}

func Test_2_5_1_Shutdown(t *testing.T) {
	t.Run("NewFromAddress closes its client", func(t *testing.T) {
		f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
		f.start(t)
		if err := f.api.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := f.p.BooleanEvaluation(context.Background(), "boolean-flag", false, of.FlattenedContext{"targetingKey": "u"})
		if r.ResolutionError.Error() == "" || r.Reason != of.ErrorReason {
			t.Errorf("after shutdown: %+v", r)
		}
		if err := f.p.InitWithContext(context.Background(), of.EvaluationContext{}); err == nil {
			t.Error("init after shutdown of an owned client succeeded")
		}
	})
	t.Run("New leaves the client open", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "flags.db")
		w, err := bolt.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		fx := &fixture{w: w}
		fx.writeFiles(t, "testdata/evaluation-flags.json")
		r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		c, err := client.New(client.Config{Store: r, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		p := New(c, Options{})
		for range 2 { // a provider over a caller's client can be registered again
			api := isolated.NewAPI()
			if err := api.SetProviderAndWait(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			if v, err := api.NewClient().BooleanValue(context.Background(), "boolean-flag", false, user); err != nil || !v {
				t.Errorf("evaluation: %v, %v", v, err)
			}
			if err := api.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := c.BoolVariation("boolean-flag", mustContext(t, of.FlattenedContext{"targetingKey": "u"}), false); err != nil || !v {
			t.Errorf("client after shutdown: %v, %v", v, err)
		}
	})
}

func Test_2_7_1_Tracking(t *testing.T) {
	t.Run("without events Track does nothing", func(t *testing.T) {
		f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
		f.start(t)
		f.client.Track(context.Background(), "checkout", user, of.NewTrackingEventDetails(9.5).Add("currency", "EUR"))
		if st := f.p.Client().Stats(); st.EventsEnabled {
			t.Error("events enabled")
		}
	})
	t.Run("custom events reach the events endpoint", func(t *testing.T) {
		bodies := make(chan []byte, 16)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if r.URL.Path == "/bulk" {
				bodies <- b
			}
			w.WriteHeader(http.StatusAccepted)
		}))
		defer srv.Close()
		f := newFixtureConfig(t, client.Config{Events: events.Config{Endpoint: srv.URL, SDKKey: "sdk-test", FlushInterval: 20 * time.Millisecond}},
			Options{}, "testdata/evaluation-flags.json")
		f.start(t)
		f.client.Track(context.Background(), "checkout", user, of.NewTrackingEventDetails(9.5).Add("currency", "EUR"))
		f.client.Track(context.Background(), "page-view", user, of.TrackingEventDetails{})
		want := map[string]bool{"checkout": false, "page-view": false}
		deadline := time.After(waitTimeout)
		for !want["checkout"] || !want["page-view"] {
			select {
			case b := <-bodies:
				var evs []map[string]any
				if err := json.Unmarshal(b, &evs); err != nil {
					t.Fatalf("payload %s: %v", b, err)
				}
				for _, e := range evs {
					if e["kind"] != "custom" {
						continue
					}
					switch e["key"] {
					case "checkout":
						data, _ := e["data"].(map[string]any)
						if e["metricValue"] != 9.5 || data["currency"] != "EUR" {
							t.Errorf("checkout event %v", e)
						}
						want["checkout"] = true
					case "page-view":
						if _, ok := e["metricValue"]; ok {
							t.Errorf("page-view event has a metric value: %v", e)
						}
						want["page-view"] = true
					}
				}
			case <-deadline:
				t.Fatalf("custom events not delivered: %v", want)
			}
		}
	})
}

func Test_5_1_1_to_5_1_3_ConfigurationChanged(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	apiEvents := watchEvents(f.api, of.ProviderConfigChange)
	// 5.1.2: the handlers of clients bound to the provider run too.
	clientGot := make(chan of.EventDetails, 16)
	cb := func(d of.EventDetails) { clientGot <- d }
	f.client.AddHandler(of.ProviderConfigChange, &cb)
	// 5.1.3: a client of another domain, bound to another provider, hears nothing.
	other := newFixture(t, Options{Name: "other"}, "testdata/evaluation-flags.json")
	if err := f.api.SetProviderAndWait(context.Background(), other.p, of.WithDomain("other")); err != nil {
		t.Fatal(err)
	}
	otherGot := make(chan of.EventDetails, 16)
	ocb := func(d of.EventDetails) { otherGot <- d }
	f.api.NewClient(of.WithDomain("other")).AddHandler(of.ProviderConfigChange, &ocb)

	// The change poll's first pass is its baseline: write until a change is heard.
	deadline := time.Now().Add(waitTimeout)
	for version := 2; ; version++ {
		f.writeFlag(t, `{"key":"boolean-flag","version":`+itoa(version)+`,"on":false,"variations":[true,false],"offVariation":1,"fallthrough":{"variation":0},"salt":"b"}`)
		select {
		case d := <-clientGot:
			if len(d.FlagChanges) != 1 || d.FlagChanges[0] != "boolean-flag" {
				t.Errorf("FlagChanges = %v", d.FlagChanges)
			}
			e := apiEvents.waitFor(t, of.ProviderConfigChange, nil)
			if e.ProviderName != DefaultName {
				t.Errorf("provider name %q", e.ProviderName)
			}
			if v, _ := f.client.BooleanValue(context.Background(), "boolean-flag", true, user); v != false {
				t.Error("the change handler ran before the new value was served")
			}
			select {
			case d := <-otherGot:
				t.Errorf("a client of another provider heard %+v", d)
			default:
			}
			return
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no PROVIDER_CONFIGURATION_CHANGED")
			}
		}
	}
}

func Test_5_3_3_HandlerAddedInStateRunsAtOnce(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.start(t)
	ev := watchEvents(f.api, of.ProviderReady)
	ev.waitFor(t, of.ProviderReady, nil)
}

// TestGlobalAPI registers the provider with the SDK's package-level API, as
// a service does (the other tests use isolated APIs).
func TestGlobalAPI(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	if err := of.SetProviderAndWait(f.p); err != nil {
		t.Fatal(err)
	}
	defer of.Shutdown()
	if got := of.ProviderMetadata().Name; got != DefaultName {
		t.Errorf("provider name %q", got)
	}
	v, err := of.NewDefaultClient().BooleanValue(context.Background(), "boolean-flag", false, user)
	if err != nil || !v {
		t.Errorf("BooleanValue = %v, %v", v, err)
	}
}
