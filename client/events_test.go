package client_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// eventReceiver is a real HTTP events endpoint collecting what arrives.
type eventReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	events []map[string]any
	auth   []string
}

func newEventReceiver(t *testing.T) *eventReceiver {
	r := &eventReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		var evs []map[string]any
		if req.URL.Path != "/bulk" || json.Unmarshal(body, &evs) != nil {
			t.Errorf("receiver: bad request %s %s", req.URL.Path, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.events = append(r.events, evs...)
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *eventReceiver) take() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}

func kinds(evs []map[string]any) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e["kind"].(string)]++
	}
	return m
}

func eventsClient(t *testing.T, r *eventReceiver, flags []string) *client.Client {
	t.Helper()
	e := newEnv(t)
	e.init(flags, testSegments)
	c := e.client(client.Config{Events: events.Config{Endpoint: r.srv.URL, SDKKey: "sdk-key", FlushInterval: time.Hour}})
	if err := c.WaitForInitialization(bg); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventsFromVariations(t *testing.T) {
	r := newEventReceiver(t)
	tracked := `{"key":"tracked","version":4,"on":true,"variations":["x","y"],"fallthrough":{"variation":1},"trackEvents":true}`
	c := eventsClient(t, r, append([]string{tracked}, testFlags...))
	ec := evalctx.New("u1")

	_, _ = c.BoolVariation("bool-flag", ec, false)
	_, _, _ = c.StringVariationDetail("tracked", ec, "d")
	_, _ = c.StringVariation("prereq-flag", ec, "d")
	_, _ = c.BoolVariation("missing-flag", ec, false)
	_, _ = c.IntVariation("string-flag", ec, 0) // WRONG_TYPE, still counted
	if !c.FlushAndWait(10 * time.Second) {
		t.Fatal("flush timed out")
	}
	evs := r.take()
	k := kinds(evs)
	if k["index"] != 1 || k["feature"] != 1 || k["summary"] != 1 || len(evs) != 3 {
		t.Fatalf("event kinds %v: %v", k, evs)
	}
	for _, e := range evs {
		switch e["kind"] {
		case "feature":
			if e["key"] != "tracked" || e["value"] != "y" || e["default"] != "d" || e["reason"] == nil {
				t.Errorf("feature event %v", e)
			}
		case "summary":
			f := e["features"].(map[string]any)
			for _, key := range []string{"bool-flag", "tracked", "prereq-flag", "missing-flag", "string-flag"} {
				if f[key] == nil {
					t.Errorf("summary lacks %s: %v", key, f)
				}
			}
			// bool-flag is counted twice: directly and as prereq-flag's prerequisite.
			var n float64
			for _, cn := range f["bool-flag"].(map[string]any)["counters"].([]any) {
				n += cn.(map[string]any)["count"].(float64)
			}
			if n != 2 {
				t.Errorf("bool-flag counted %v times, want 2", n)
			}
		}
	}
}

func TestTrackAndIdentify(t *testing.T) {
	r := newEventReceiver(t)
	c := eventsClient(t, r, testFlags)
	ec := evalctx.NewBuilder("u2").SetString("email", "e@x").Private("email").Build()
	if err := c.Identify(ec); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackEvent("clicked", ec); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackData("bought", ec, jsonvalue.String("sku")); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackMetric("revenue", ec, 9.5, jsonvalue.Null()); err != nil {
		t.Fatal(err)
	}
	if err := c.TrackEvent("x", evalctx.Context{}); !errors.Is(err, client.ErrInvalidContext) {
		t.Errorf("invalid context: %v", err)
	}
	if err := c.Close(); err != nil { // Close delivers what is queued
		t.Fatal(err)
	}
	evs := r.take()
	k := kinds(evs)
	if k["identify"] != 1 || k["custom"] != 3 || k["index"] != 0 {
		t.Fatalf("kinds %v: %v", k, evs)
	}
	for _, e := range evs {
		switch e["key"] {
		case nil:
			ctx := e["context"].(map[string]any)
			if ctx["email"] != nil {
				t.Errorf("private attribute sent: %v", ctx)
			}
		case "revenue":
			if e["metricValue"] != 9.5 {
				t.Errorf("metric event %v", e)
			}
		case "bought":
			if e["data"] != "sku" {
				t.Errorf("data event %v", e)
			}
		}
	}
	if err := c.TrackEvent("late", ec); !errors.Is(err, client.ErrClientNotReady) {
		t.Errorf("after Close: %v", err)
	}
	if r.auth[0] != "sdk-key" {
		t.Errorf("Authorization %q", r.auth[0])
	}
}

func TestEventsOffByDefault(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{})
	if err := c.TrackEvent("k", evalctx.New("u")); err != nil {
		t.Errorf("TrackEvent with events off: %v", err)
	}
	if c.FlushAndWait(time.Millisecond) {
		t.Error("FlushAndWait reported a flush with events off")
	}
	if st := c.EventStats(); st != (events.Stats{}) {
		t.Errorf("stats with events off: %+v", st)
	}
}

// TestEventsWithHooks: with hooks configured, evaluations are still
// recorded (the hooks path records too).
func TestEventsWithHooks(t *testing.T) {
	r := newEventReceiver(t)
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{Hooks: []client.Hook{namedBase{name: "h"}},
		Events: events.Config{Endpoint: r.srv.URL, FlushInterval: time.Hour}})
	if err := c.WaitForInitialization(bg); err != nil {
		t.Fatal(err)
	}
	_, _ = c.StringVariation("prereq-flag", evalctx.New("u"), "d")
	if !c.FlushAndWait(10 * time.Second) {
		t.Fatal("flush timed out")
	}
	evs := r.take()
	for _, ev := range evs {
		if ev["kind"] == "summary" {
			f := ev["features"].(map[string]any)
			if f["prereq-flag"] == nil || f["bool-flag"] == nil {
				t.Errorf("summary %v lacks the flag or its prerequisite", f)
			}
			return
		}
	}
	t.Errorf("no summary: %v", evs)
}

// TestLegacyExperimentsForceFullEvents: trackEventsFallthrough and a
// matched rule's trackEvents give full feature events with the reason,
// also from the methods without detail.
func TestLegacyExperimentsForceFullEvents(t *testing.T) {
	r := newEventReceiver(t)
	c := eventsClient(t, r, []string{
		`{"key":"ft","version":1,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"trackEventsFallthrough":true}`,
		`{"key":"rt","version":1,"on":true,"variations":[false,true],"fallthrough":{"variation":0},
			"rules":[{"id":"r1","variation":1,"trackEvents":true,"clauses":[{"attribute":"key","op":"in","values":["vip"]}]}]}`,
	})
	_, _ = c.BoolVariation("ft", evalctx.New("u"), false)
	_, _ = c.BoolVariation("rt", evalctx.New("vip"), false)
	_, _ = c.BoolVariation("rt", evalctx.New("other"), false) // no rule matched: summary only
	if !c.FlushAndWait(10 * time.Second) {
		t.Fatal("flush timed out")
	}
	var reasons []string
	for _, e := range r.take() {
		if e["kind"] == "feature" {
			reasons = append(reasons, e["key"].(string)+":"+e["reason"].(map[string]any)["kind"].(string))
		}
	}
	if len(reasons) != 2 || reasons[0] != "ft:FALLTHROUGH" || reasons[1] != "rt:RULE_MATCH" {
		t.Errorf("feature events %v", reasons)
	}
}
