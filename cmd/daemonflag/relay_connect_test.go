package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
)

// A Relay Proxy answers a server-side poll with 404: the relay says why
// and what to use instead.
func TestRelayPollAgainstRelayProxy(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	db := "bolt:" + t.TempDir() + "/f.db"
	r, _ := runRelayApp(context.Background(), map[string]string{envSDKKey: relayTestKey}, "--store", db, "--poll", srv.URL)
	if r.code != exitFail || !strings.Contains(r.stderr, "404") ||
		!strings.Contains(r.stderr, "streaming only") || !strings.Contains(r.stderr, "--relay-proxy URI or --stream URI") {
		t.Fatalf("want exit 1 explaining the 404: %s", r)
	}
}

func TestRelayConnectionFlagErrors(t *testing.T) {
	db := "bolt:" + t.TempDir() + "/f.db"
	withKey := map[string]string{envSDKKey: relayTestKey}
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--stream", "http://a", "--relay-proxy", "http://b"}, "not both"},
		{[]string{"--stream", "http://a", "--max-event-size", "lots"}, "--max-event-size"},
		{[]string{"--stream", "http://a", "--max-event-size", "-5MiB"}, "--max-event-size"},
		{[]string{"--stream", "http://a", "--heal-interval", "-1s"}, "--heal-interval"},
		{[]string{"--stream", "http://a", "--read-timeout", "0s"}, "must be positive"},
	} {
		r := runApp(t, withKey, append([]string{"relay", "--store", db}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: want exit 2 and %q: %s", tc.args, tc.msg, r)
		}
	}
	for in, want := range map[string]int{"50MiB": 50 << 20, "1GiB": 1 << 30, "4096": 4096, "10 KB": 10 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// TestBinaryRelayThroughEnvironmentProxy runs the relay binary with
// HTTP_PROXY set: the request reaches the service through the proxy (the
// service's host name does not even resolve), with the filter and the
// application metadata the flags asked for.
func TestBinaryRelayThroughEnvironmentProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Clone(context.Background()))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: put\ndata: "+relayPut+"\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(svc.Close)
	_, port, _ := net.SplitHostPort(svc.Listener.Addr().String())

	var proxied []string
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.URL.Host = net.JoinHostPort("127.0.0.1", port) },
		FlushInterval: -1,
	}
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		proxied = append(proxied, r.Host)
		mu.Unlock()
		if !r.URL.IsAbs() {
			http.Error(w, "not a proxy request", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	dir := t.TempDir()
	addr := testaddrs.Bolt(t)
	env := append(cliEnv(), envSDKKey+"="+relayTestKey, "HTTP_PROXY="+proxy.URL, "http_proxy="+proxy.URL, "NO_PROXY=", "no_proxy=")
	cmd, logs, done := startDaemon(t, dir, env, "relay", "--store", addr,
		"--stream", "http://flags.invalid:"+port, "--filter", "mobile flags", "--app-id", "cli-test", "--app-version", "1.0", "--wrapper", "W/2")
	waitForGreeting(t, dir, addr, `"value":"hello"`, logs)
	stopDaemon(t, "relay", cmd, done, logs)

	mu.Lock()
	defer mu.Unlock()
	if len(proxied) == 0 || proxied[0] != "flags.invalid:"+port {
		t.Fatalf("the proxy saw %q", proxied)
	}
	r := seen[0]
	if r.URL.Query().Get("filter") != "mobile flags" || r.URL.Path != "/all" {
		t.Errorf("request %s", r.URL)
	}
	if got := r.Header.Get("X-LaunchDarkly-Tags"); got != "application-id/cli-test application-version/1.0" {
		t.Errorf("X-LaunchDarkly-Tags %q", got)
	}
	if got := r.Header.Get("X-LaunchDarkly-Wrapper"); got != "W/2" {
		t.Errorf("X-LaunchDarkly-Wrapper %q", got)
	}
	if r.Header.Get("X-LaunchDarkly-Instance-Id") == "" {
		t.Error("no X-LaunchDarkly-Instance-Id")
	}
}

// --relay-proxy streams from a Relay Proxy's base URI.
func TestBinaryRelayFromRelayProxy(t *testing.T) {
	svc := newRelayService(t, relayPut)
	dir := t.TempDir()
	addr := testaddrs.Bolt(t)
	cmd, logs, done := startDaemon(t, dir, append(cliEnv(), envSDKKey+"="+relayTestKey),
		"relay", "--store", addr, "--relay-proxy", svc.URL+"/")
	waitForGreeting(t, dir, addr, `"value":"hello"`, logs)
	log := stopDaemon(t, "relay", cmd, done, logs)
	if !strings.Contains(log, svc.URL+"/all") {
		t.Errorf("the relay did not stream from the Relay Proxy's /all:\n%s", log)
	}
}
