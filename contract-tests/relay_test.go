package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The relay capabilities, driven over HTTP as the harness drives them.

// recordingService is a streaming and polling service that records each
// request and answers with the standard bool flag.
type recordingService struct {
	mu   sync.Mutex
	reqs []*http.Request
	got  chan *http.Request
	// statuses are answered first, one per request, before any data.
	statuses []int
}

func (rs *recordingService) handler(w http.ResponseWriter, r *http.Request) {
	rc := r.Clone(context.Background())
	rs.mu.Lock()
	rs.reqs = append(rs.reqs, rc)
	var status int
	if len(rs.statuses) > 0 {
		status, rs.statuses = rs.statuses[0], rs.statuses[1:]
	}
	rs.mu.Unlock()
	rs.got <- rc
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	data := `{"flags":{"bool-flag":` + strings.Join(strings.Fields(flagBool), " ") + `},"segments":{}}`
	switch r.URL.Path {
	case "/sdk/latest-all":
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_, _ = io.WriteString(zw, data)
			_ = zw.Close()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("ETag", `"e1"`)
			_, _ = w.Write(b.Bytes())
			return
		}
		_, _ = io.WriteString(w, data)
	case "/all":
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: put\ndata: {\"path\":\"/\",\"data\":"+data+"}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	default:
		http.NotFound(w, r)
	}
}

func newRecordingService(t *testing.T, statuses ...int) (*recordingService, *httptest.Server) {
	rs := &recordingService{got: make(chan *http.Request, 100), statuses: statuses}
	srv := httptest.NewServer(http.HandlerFunc(rs.handler))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	return rs, srv
}

func (rs *recordingService) next(t *testing.T) *http.Request {
	t.Helper()
	select {
	case r := <-rs.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request")
		return nil
	}
}

func TestRelayCapabilityHeadersAndFilter(t *testing.T) {
	h := newHarness(t)
	for _, mode := range []string{"streaming", "polling"} {
		t.Run(mode, func(t *testing.T) {
			rs, srv := newRecordingService(t)
			c := h.create(map[string]any{"credential": testKey,
				mode:      map[string]any{"baseUri": srv.URL + "/", "filter": "encoding necessary +! %& ( )"},
				"tags":    map[string]any{"applicationId": "my-app", "applicationVersion": "bad version"},
				"wrapper": map[string]any{"name": "TestName", "version": "1.0.0"}})
			assertJSON(t, "evaluate", h.evaluate(c, "bool-flag", "bool", false, false), `{"value":true}`)
			r := rs.next(t)
			if q := r.URL.Query(); len(q) != 1 || q.Get("filter") != "encoding necessary +! %& ( )" {
				t.Errorf("query %q", r.URL.RawQuery)
			}
			if got := r.Header.Get("X-LaunchDarkly-Tags"); got != "application-id/my-app" {
				t.Errorf("X-LaunchDarkly-Tags %q (the invalid version must be dropped)", got)
			}
			if got := r.Header.Get("X-LaunchDarkly-Wrapper"); got != "TestName/1.0.0" {
				t.Errorf("X-LaunchDarkly-Wrapper %q", got)
			}
			if mode == "polling" && !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
			}
		})
	}
	// Two clients have different instance IDs; one client sends one.
	rs, srv := newRecordingService(t)
	var ids []string
	for range 2 {
		h.create(map[string]any{"credential": testKey, "streaming": map[string]any{"baseUri": srv.URL}})
		ids = append(ids, rs.next(t).Header.Get("X-LaunchDarkly-Instance-Id"))
	}
	if ids[0] == "" || ids[1] == "" || ids[0] == ids[1] {
		t.Errorf("instance IDs %q, want two different ones", ids)
	}
}

func TestRelayCapabilityTLS(t *testing.T) {
	h := newHarness(t)
	rs := &recordingService{got: make(chan *http.Request, 100)}
	srv := httptest.NewTLSServer(http.HandlerFunc(rs.handler))
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tls := range map[string]map[string]any{
		"skip verify peer": {"skipVerifyPeer": true},
		"custom CA":        {"customCAFile": ca},
	} {
		t.Run(name, func(t *testing.T) {
			c := h.create(map[string]any{"credential": testKey, "tls": tls, "streaming": map[string]any{"baseUri": srv.URL}})
			assertJSON(t, "evaluate", h.evaluate(c, "bool-flag", "bool", false, false), `{"value":true}`)
		})
	}
	t.Run("verify peer", func(t *testing.T) {
		cfg := map[string]any{"credential": testKey, "startWaitTimeMs": 300, "streaming": map[string]any{"baseUri": srv.URL}}
		if status, _, body := h.do("POST", "/", map[string]any{"tag": "t", "configuration": cfg}); status != http.StatusInternalServerError {
			t.Fatalf("an untrusted certificate was accepted: %d %s", status, body)
		}
	})
}

func TestRelayCapabilityHTTPProxy(t *testing.T) {
	h := newHarness(t)
	rs, srv := newRecordingService(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	var mu sync.Mutex
	var hosts []string
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.URL.Host = net.JoinHostPort("127.0.0.1", port) },
		FlushInterval: -1,
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hosts = append(hosts, r.Host)
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { proxy.CloseClientConnections(); proxy.Close() })
	// As the harness does: a service host that does not resolve, reached
	// through the proxy.
	c := h.create(map[string]any{"credential": testKey, "proxy": map[string]any{"httpProxy": proxy.URL},
		"streaming": map[string]any{"baseUri": "http://not.valid.local:" + port}})
	assertJSON(t, "evaluate", h.evaluate(c, "bool-flag", "bool", false, false), `{"value":true}`)
	rs.next(t)
	mu.Lock()
	defer mu.Unlock()
	if len(hosts) == 0 || hosts[0] != "not.valid.local:"+port {
		t.Errorf("the proxy saw %q", hosts)
	}
}

// retry-conformance: a 401 is retried in the extended regime, and a client
// that may fail to initialize is returned at once, before the retry.
func TestRelayCapabilityRetryConformance(t *testing.T) {
	h := newHarness(t)
	for _, mode := range []string{"streaming", "polling"} {
		t.Run(mode, func(t *testing.T) {
			rs, srv := newRecordingService(t, 401)
			start := time.Now()
			c := h.create(map[string]any{"credential": testKey, "initCanFail": true,
				mode: map[string]any{"baseUri": srv.URL, "initialRetryDelayMs": 1, "extendedInitialDelayMs": 500}})
			created := time.Since(start)
			first := rs.next(t)
			_ = first
			if created > 400*time.Millisecond {
				t.Errorf("client created after %v: it waited past the 401", created)
			}
			if mode == "polling" {
				// A poll is retried after max(extended delay, poll
				// interval): 30 s, which relay's fake-clock tests cover.
				return
			}
			rs.next(t) // the retry, in the extended regime (250-500 ms), which succeeds
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Errorf("retried after %v, before the extended regime's first delay", d)
			}
			eventually(t, "the flag after the retry", func() bool {
				v := h.evaluate(c, "bool-flag", "bool", false, false)
				b, _ := v.Get("value")
				return b.Bool()
			})
		})
	}
}

// The harness's "large payloads" poll: 1000 flags and one with an empty
// key (its flag builder's zero values); the empty key is left out and the
// rest is served.
func TestRelayCapabilityLargePollWithEmptyKey(t *testing.T) {
	h := newHarness(t)
	var b strings.Builder
	b.WriteString(`{"flags":{"":{"key":"","version":0,"on":false,"variations":null}`)
	for i := range 1000 {
		fmt.Fprintf(&b, `,"flag-key-%d":{"key":"flag-key-%d","version":1,"on":%v,"variations":["fallthrough","off","default"],"offVariation":1,"fallthrough":{"variation":0},"salt":"s"}`,
			i, i, i == 999)
	}
	b.WriteString(`},"segments":{}}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, b.String())
	}))
	t.Cleanup(srv.Close)
	c := h.create(map[string]any{"credential": testKey, "polling": map[string]any{"baseUri": srv.URL}})
	assertJSON(t, "flag-key-0", h.evaluate(c, "flag-key-0", "string", "default", false), `{"value":"off"}`)
	assertJSON(t, "flag-key-999", h.evaluate(c, "flag-key-999", "string", "default", false), `{"value":"fallthrough"}`)
}
