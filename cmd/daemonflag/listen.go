package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/writer"
)

// The --listen server of the daemons (sync and relay): /healthz, /readyz
// and /metrics in the Prometheus text exposition format (version 0.0.4).
//
// The format is written by hand rather than with the Prometheus client or
// OpenTelemetry's Prometheus exporter: the daemons export a dozen counters
// and gauges that already exist as plain values, and either library would
// add about ten modules to the core module's go.mod (which every user of
// the client downloads) for what is a few lines of text. Metrics of the
// client library itself go through the otel module instead.

// readyTimeout bounds the store check of /readyz and /metrics.
const readyTimeout = 2 * time.Second

// daemonHealth is what a daemon reports on its listener.
type daemonHealth struct {
	daemon  string       // "sync" or "relay"
	store   store.Reader // checked by /readyz
	started time.Time

	// Written by the daemon (sync's OnPass; relay's OnUpdate and OnFailure).
	passes      atomic.Int64 // sync passes that found the files changed
	writes      atomic.Int64 // items written (upserts, tombstones, Inits' items)
	writeErrors atomic.Int64 // passes or relay failures that wrote nothing or not everything
	inits       atomic.Int64 // whole-dataset writes
	reseeds     atomic.Int64 // whole-dataset writes after a successful pass: the store had lost its data
	lastWrite   atomic.Int64 // Unix nanoseconds of the last successful write; 0: never
	relayStats  *relay.Stats // nil for sync
}

// syncPass records one writer.Sync pass.
func (h *daemonHealth) syncPass(p writer.SyncPass) {
	h.passes.Add(1)
	h.writes.Add(int64(p.Written + p.Deleted))
	if p.Err != nil {
		h.writeErrors.Add(1)
		return
	}
	if p.Initialized {
		h.inits.Add(1)
		if h.lastWrite.Load() != 0 {
			h.reseeds.Add(1)
		}
	}
	h.lastWrite.Store(time.Now().UnixNano())
}

// relayUpdate records one write of the relay.
func (h *daemonHealth) relayUpdate(relay.Update) { h.lastWrite.Store(time.Now().UnixNano()) }

// relayFailure records one failure of the relay.
func (h *daemonHealth) relayFailure(error) { h.writeErrors.Add(1) }

// written reports whether the daemon has written a complete dataset.
func (h *daemonHealth) written() bool {
	if h.relayStats != nil {
		return h.relayStats.Snapshot().Initialized
	}
	return h.lastWrite.Load() != 0
}

// readiness says whether the daemon is ready, and why not.
func (h *daemonHealth) readiness(ctx context.Context) (ok bool, why string, storeUp, storeInited bool) {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	inited, err := h.store.Initialized(ctx)
	storeUp, storeInited = err == nil, err == nil && inited
	switch {
	case err != nil:
		return false, "store unreachable: " + err.Error(), storeUp, storeInited
	case !h.written():
		return false, "dataset not written yet", storeUp, storeInited
	case !inited:
		return false, "store holds no dataset (lost; being written again)", storeUp, storeInited
	case h.relayStats != nil && !h.relayStats.Snapshot().Connected:
		return false, "not connected upstream", storeUp, storeInited
	}
	return true, "ready", storeUp, storeInited
}

func (h *daemonHealth) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ok, why, _, _ := h.readiness(r.Context())
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		bw := bufio.NewWriter(w)
		h.writeMetrics(r.Context(), bw)
		bw.Flush()
	})
	return mux
}

// writeMetrics writes the Prometheus text format.
func (h *daemonHealth) writeMetrics(ctx context.Context, w *bufio.Writer) {
	_, _, up, inited := h.readiness(ctx)
	metric := func(name, typ, help string, v float64) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %s\n", name, help, name, typ, name, strconv.FormatFloat(v, 'g', -1, 64))
	}
	b := func(x bool) float64 {
		if x {
			return 1
		}
		return 0
	}
	seconds := func(ns int64) float64 { return float64(ns) / 1e9 }
	fmt.Fprintf(w, "# HELP daemonflag_info The daemon that serves these metrics.\n# TYPE daemonflag_info gauge\ndaemonflag_info{daemon=%q,version=%q} 1\n", h.daemon, versionString())
	metric("daemonflag_start_time_seconds", "gauge", "When the daemon started (Unix time).", seconds(h.started.UnixNano()))
	metric("daemonflag_store_up", "gauge", "1 when the store answered the last check (made for this scrape).", b(up))
	metric("daemonflag_store_initialized", "gauge", "1 when the store holds a dataset (its $inited marker).", b(inited))
	metric("daemonflag_dataset_written", "gauge", "1 once the daemon has written a complete dataset.", b(h.written()))
	if last := h.lastWrite.Load(); last != 0 {
		metric("daemonflag_last_write_timestamp_seconds", "gauge", "When the daemon last wrote to the store successfully (Unix time).", seconds(last))
	}
	if h.relayStats == nil {
		metric("daemonflag_sync_passes_total", "counter", "Passes that found the flag files changed.", float64(h.passes.Load()))
		metric("daemonflag_writes_total", "counter", "Items written to the store (upserts and tombstones).", float64(h.writes.Load()))
		metric("daemonflag_write_errors_total", "counter", "Passes that wrote nothing or not everything (invalid files, refused deletions, store errors).", float64(h.writeErrors.Load()))
		metric("daemonflag_dataset_inits_total", "counter", "Whole-dataset writes (the first, and each after the store lost its data).", float64(h.inits.Load()))
		metric("daemonflag_reseeds_total", "counter", "Whole-dataset writes after a successful pass: the store had lost its data.", float64(h.reseeds.Load()))
		return
	}
	s := h.relayStats.Snapshot()
	metric("daemonflag_writes_total", "counter", "Writes to the store (Inits and upserts).", float64(s.Writes))
	metric("daemonflag_write_errors_total", "counter", "Failed connections, polls, dropped streams, refused data and store errors.", float64(h.writeErrors.Load()))
	metric("daemonflag_reseeds_total", "counter", "Times the store had lost the dataset and the relay wrote it again.", float64(s.Reseeds))
	metric("daemonflag_relay_connected", "gauge", "1 while a stream is open (or the last poll succeeded).", b(s.Connected))
	metric("daemonflag_relay_connections_total", "counter", "Successful stream connections and polls.", float64(s.Connections))
	metric("daemonflag_relay_reconnects_total", "counter", "Failed connections and polls, dropped streams and refused data, each followed by a reconnect.", float64(s.Failures))
	metric("daemonflag_relay_events_total", "counter", "Stream events and poll datasets received.", float64(s.Events))
	metric("daemonflag_relay_skipped_items_total", "counter", "Items left out of a dataset (empty keys).", float64(s.Skipped))
	if !s.LastData.IsZero() {
		metric("daemonflag_relay_last_data_timestamp_seconds", "gauge", "When the service last sent data or a heartbeat (Unix time).", seconds(s.LastData.UnixNano()))
	}
}

// versionString is the module version of the binary ("(devel)" for a
// build from a clone).
func versionString() string {
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		return info.Main.Version
	}
	return "unknown"
}

// listen starts the health and metrics server on addr and returns the
// address it listens on. It fails at once when addr cannot be listened on;
// the server stops when ctx ends, and wait waits for that.
func listen(ctx context.Context, addr string, h *daemonHealth, log *slog.Logger) (bound string, wait func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h.handler(), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("health listener stopped", "addr", ln.Addr().String(), "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Info("serving health and metrics", "addr", ln.Addr().String(), "paths", "/healthz /readyz /metrics")
	return ln.Addr().String(), func() { <-done }, nil
}

// serveHealth starts the --listen server when addr is set; stop shuts it
// down and waits for it (a no-op without a listener).
func serveHealth(ctx context.Context, addr string, h *daemonHealth, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	lctx, cancel := context.WithCancel(ctx)
	_, wait, err := listen(lctx, addr, h, log)
	if err != nil {
		cancel()
		return nil, err
	}
	return func() { cancel(); wait() }, nil
}
