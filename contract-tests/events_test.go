package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// eventSink is the harness's events endpoint: it keeps every payload.
type eventSink struct {
	*httptest.Server
	mu       sync.Mutex
	payloads [][]map[string]any
	auth     []string
}

func newEventSink(t *testing.T) *eventSink {
	s := &eventSink{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var evs []map[string]any
		if r.URL.Path != "/bulk" || json.Unmarshal(body, &evs) != nil {
			t.Errorf("events endpoint: %s %s", r.URL.Path, body)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.payloads = append(s.payloads, evs)
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *eventSink) take() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []map[string]any
	for _, p := range s.payloads {
		all = append(all, p...)
	}
	s.payloads = nil
	return all
}

func byKind(evs []map[string]any) map[string][]map[string]any {
	m := map[string][]map[string]any{}
	for _, e := range evs {
		k := e["kind"].(string)
		m[k] = append(m[k], e)
	}
	return m
}

func TestEventCommands(t *testing.T) {
	h := newHarness(t)
	s := standardStreamer(t)
	sink := newEventSink(t)
	c := h.create(map[string]any{
		"credential": testKey,
		"streaming":  map[string]any{"baseUri": s.URL, "initialRetryDelayMs": 10},
		"events": map[string]any{"flushIntervalMs": 1000000, "allAttributesPrivate": false,
			"globalPrivateAttributes": []string{"email"}},
		"serviceEndpoints": map[string]any{"events": sink.URL},
	})
	user := map[string]any{"kind": "user", "key": "u1", "email": "e@x", "name": "N"}
	h.command(c, "identifyEvent", map[string]any{"context": user})
	h.command(c, "customEvent", map[string]any{"eventKey": "k1", "context": user, "data": map[string]any{"a": 1}})
	h.command(c, "customEvent", map[string]any{"eventKey": "k2", "context": user, "omitNullData": true, "metricValue": 3})
	h.command(c, "evaluate", map[string]any{"flagKey": "json-flag", "context": user, "valueType": "any", "defaultValue": nil})
	h.command(c, "flushEvents", nil)
	k := byKind(sink.take())
	if len(k["identify"]) != 1 || len(k["custom"]) != 2 || len(k["feature"]) != 1 || len(k["summary"]) != 1 || len(k["index"]) != 0 {
		t.Fatalf("events by kind: %v", k)
	}
	ctx := k["identify"][0]["context"].(map[string]any)
	if ctx["email"] != nil || ctx["name"] != "N" {
		t.Errorf("identify context %v: email must be redacted", ctx)
	}
	if k["custom"][1]["metricValue"] != 3.0 || k["custom"][1]["data"] != nil {
		t.Errorf("metric event %v", k["custom"][1])
	}
	if sink.auth[0] != testKey {
		t.Errorf("Authorization %q", sink.auth[0])
	}
}

func TestMigrationCommands(t *testing.T) {
	h := newHarness(t)
	s := newStreamer(t)
	s.setFlag("migration-key", `{"key":"migration-key","version":1,"on":true,"variations":["off","dualwrite","shadow","live","rampdown","complete"],"fallthrough":{"variation":3},"salt":"s"}`)
	sink := newEventSink(t)
	c := h.create(map[string]any{
		"credential": testKey,
		"streaming":  map[string]any{"baseUri": s.URL, "initialRetryDelayMs": 10},
		"events":     map[string]any{"baseUri": sink.URL, "flushIntervalMs": 1000000},
	})
	var mu sync.Mutex
	var calls []string
	origin := func(name, answer string, status int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			calls = append(calls, name+":"+string(body))
			mu.Unlock()
			w.WriteHeader(status)
			_, _ = io.WriteString(w, answer)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	oldSrv, newSrv := origin("old", "old read", 200), origin("new", "new read", 409)
	user := map[string]any{"kind": "user", "key": "key"}

	got := h.command(c, "migrationVariation", map[string]any{"key": "migration-key", "context": user, "defaultStage": "off"})
	assertJSON(t, "migrationVariation", got, `{"result":"live"}`)

	got = h.command(c, "migrationOperation", map[string]any{"key": "migration-key", "context": user, "defaultStage": "off",
		"readExecutionOrder": "serial", "operation": "write", "oldEndpoint": oldSrv.URL, "newEndpoint": newSrv.URL,
		"payload": "p", "trackLatency": true, "trackErrors": true})
	if got.String() != `{"result":"origin answered 409"}` {
		t.Errorf("live write with the new origin failing: %s", got)
	}
	if len(calls) != 1 || calls[0] != "new:p" {
		t.Errorf("origin calls %v: want only the authoritative new write", calls)
	}
	h.command(c, "flushEvents", nil)
	k := byKind(sink.take())
	if len(k["migration_op"]) != 1 {
		t.Fatalf("events %v", k)
	}
	op := k["migration_op"][0]
	ms := op["measurements"].([]any)
	keys := map[string]any{}
	for _, m := range ms {
		mm := m.(map[string]any)
		keys[mm["key"].(string)] = mm["values"]
	}
	if keys["invoked"] == nil || keys["latency_ms"] == nil || keys["error"] == nil {
		t.Errorf("measurements %v", ms)
	}
	if ev := op["evaluation"].(map[string]any); ev["default"] != "off" || ev["value"] != "live" || ev["variation"] != 3.0 {
		t.Errorf("evaluation %v", ev)
	}
}
