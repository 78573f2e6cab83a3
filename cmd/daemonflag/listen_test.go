package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// promLine is one sample line of the Prometheus text format.
var promLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$`)

// parseMetrics checks the text format (every sample has HELP and TYPE
// before it) and returns the samples by name (labels dropped).
func parseMetrics(t *testing.T, body string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	typed := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || (f[1] != "counter" && f[1] != "gauge") {
				t.Errorf("bad TYPE line %q", line)
			}
			typed[f[0]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP ") {
			continue
		}
		m := promLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("not a sample line: %q", line)
			continue
		}
		if !typed[m[1]] {
			t.Errorf("%s has no TYPE", m[1])
		}
		if strings.HasSuffix(m[1], "_total") && !typed[m[1]] {
			t.Errorf("%s", m[1])
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Errorf("value of %q: %v", line, err)
		}
		out[m[1]] = v
	}
	return out
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestDaemonHealthSync drives the handler of a sync daemon on a real bbolt
// store through its states.
func TestDaemonHealthSync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := &daemonHealth{daemon: "sync", store: s, started: time.Now()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound, wait, err := listen(ctx, "127.0.0.1:0", h, newTestLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + bound

	if code, body := get(t, base+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "not written") && !strings.Contains(body, "unreachable") {
		t.Errorf("/readyz before a write = %d %q", code, body)
	}
	ds, err := writer.Parse("f.json", []byte(`{"flagValues":{"a":1,"b":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.WriteDataset(ctx, s, ds); err != nil {
		t.Fatal(err)
	}
	h.syncPass(writer.SyncPass{Written: 2}) // the store held a dataset already: upserts
	h.syncPass(writer.SyncPass{Err: io.ErrUnexpectedEOF})
	h.syncPass(writer.SyncPass{Initialized: true}) // the store lost it: written again
	if code, body := get(t, base+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz after a write = %d %q", code, body)
	}
	code, body := get(t, base+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	m := parseMetrics(t, body)
	for name, want := range map[string]float64{
		"daemonflag_info": 1, "daemonflag_store_up": 1, "daemonflag_store_initialized": 1, "daemonflag_dataset_written": 1,
		"daemonflag_sync_passes_total": 3, "daemonflag_writes_total": 2, "daemonflag_write_errors_total": 1,
		"daemonflag_dataset_inits_total": 1, "daemonflag_reseeds_total": 1,
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v\n%s", name, got, ok, want, body)
		}
	}
	if ts := m["daemonflag_last_write_timestamp_seconds"]; time.Since(time.Unix(int64(ts), 0)) > time.Minute {
		t.Errorf("last write %v", ts)
	}
	if code, _ := get(t, base+"/nothing"); code != 404 {
		t.Errorf("unknown path: %d", code)
	}
	cancel()
	wait()
}

// TestDaemonHealthRelay: the relay is ready only while connected upstream.
func TestDaemonHealthRelay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	svc := newRelayService(t, relayPut)
	h := &daemonHealth{daemon: "relay", store: s, started: time.Now(), relayStats: &relay.Stats{}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound, _, err := listen(ctx, "127.0.0.1:0", h, newTestLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + bound
	updates := make(chan relay.Update, 16)
	rctx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- relay.Run(rctx, s, relay.Options{SDKKey: relayTestKey, Endpoints: relay.ServiceEndpoints{Streaming: svc.URL},
			Stats: h.relayStats, OnFailure: h.relayFailure, Logger: newTestLogger(io.Discard),
			OnUpdate: func(u relay.Update) { h.relayUpdate(u); updates <- u }})
	}()
	select {
	case <-updates:
	case <-time.After(20 * time.Second):
		t.Fatal("no update from the relay")
	}
	if code, body := get(t, base+"/readyz"); code != 200 {
		t.Errorf("/readyz while connected = %d %q", code, body)
	}
	m := parseMetrics(t, func() string { _, b := get(t, base+"/metrics"); return b }())
	for name, want := range map[string]float64{"daemonflag_relay_connected": 1, "daemonflag_dataset_written": 1, "daemonflag_relay_connections_total": 1, "daemonflag_relay_events_total": 1} {
		if m[name] != want {
			t.Errorf("%s = %v, want %v", name, m[name], want)
		}
	}
	if m["daemonflag_writes_total"] < 1 {
		t.Errorf("writes %v", m["daemonflag_writes_total"])
	}
	stopRelay()
	<-relayDone
	if code, body := get(t, base+"/readyz"); code != 503 || !strings.Contains(body, "not connected upstream") {
		t.Errorf("/readyz after the relay stopped = %d %q", code, body)
	}
}

// TestDaemonHealthStoreDown: a store that does not answer makes /readyz
// 503 and daemonflag_store_up 0.
func TestDaemonHealthStoreDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close() // nothing listens there now
	s, err := stores.Open(context.Background(), "redis://"+closed)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h := &daemonHealth{daemon: "sync", store: s, started: time.Now()}
	h.syncPass(writer.SyncPass{Initialized: true, Written: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bound, _, err := listen(ctx, "127.0.0.1:0", h, newTestLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, "http://"+bound+"/readyz"); code != 503 || !strings.HasPrefix(body, "store unreachable") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	if code, _ := get(t, "http://"+bound+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d while the store is down", code)
	}
	_, body := get(t, "http://"+bound+"/metrics")
	if m := parseMetrics(t, body); m["daemonflag_store_up"] != 0 || m["daemonflag_dataset_written"] != 1 {
		t.Errorf("metrics:\n%s", body)
	}
}

func TestListenBadAddress(t *testing.T) {
	if _, _, err := listen(context.Background(), "127.0.0.1:99999", &daemonHealth{}, newTestLogger(io.Discard)); err == nil || !strings.Contains(err.Error(), "--listen 127.0.0.1:99999") {
		t.Errorf("err = %v", err)
	}
}

// TestBinarySyncListen runs "daemonflag sync --listen" and scrapes it.
func TestBinarySyncListen(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "flags.yaml")
	if err := writeFile(file, "flagValues:\n  greeting: hello\n"); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := l.Addr().String()
	l.Close()
	addr := "bolt:" + filepath.Join(dir, "flags.db")
	cmd, logs, done := startDaemon(t, dir, cliEnv(), "sync", "--store", addr, "--listen", hostPort, file)
	base := "http://" + hostPort
	// Wait for readiness: the listener comes up, then the first pass writes.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for ready := false; !ready; {
		select {
		case <-tick.C:
			if resp, err := http.Get(base + "/readyz"); err == nil {
				ready = resp.StatusCode == 200
				resp.Body.Close()
			}
		case err := <-done:
			t.Fatalf("sync exited: %v", err)
		case <-deadline:
			t.Fatal("sync --listen never became ready")
		}
	}
	_, body := get(t, base+"/metrics")
	if m := parseMetrics(t, body); m["daemonflag_writes_total"] != 1 || m["daemonflag_dataset_written"] != 1 {
		t.Errorf("metrics:\n%s", body)
	}
	stopDaemon(t, "sync", cmd, done, logs)
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("the listener outlived the daemon")
	}
}

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
