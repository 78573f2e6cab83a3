package relay_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
)

const testSDKKey = "sdk-relay-test-0123456789"

// sseServer is a test streaming service. Each connection to /all is handed
// to the test through conns; the test writes to it and may end it.
type sseServer struct {
	*httptest.Server
	conns    chan *sseConn
	status   atomic.Int32 // when set, every request gets this status
	requests atomic.Int32
}

// sseConn is one stream connection as the server sees it.
type sseConn struct {
	header http.Header
	send   chan string
	end    chan struct{} // close to end the response (the server drops the stream)
	gone   chan struct{} // closed when the handler has returned
}

func newSSEServer(t *testing.T) *sseServer {
	t.Helper()
	s := &sseServer{conns: make(chan *sseConn, 16)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.URL.Path != "/all" {
			http.NotFound(w, r)
			return
		}
		if st := s.status.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		c := &sseConn{header: r.Header.Clone(), send: make(chan string, 16), end: make(chan struct{}), gone: make(chan struct{})}
		defer close(c.gone)
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		s.conns <- c
		for {
			select {
			case msg := <-c.send:
				_, _ = io.WriteString(w, msg)
				w.(http.Flusher).Flush()
			case <-c.end:
				return
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// next waits for the next connection.
func (s *sseServer) next(t *testing.T) *sseConn {
	t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no stream connection")
		return nil
	}
}

func (c *sseConn) event(name, data string) {
	c.send <- "event: " + name + "\ndata: " + data + "\n\n"
}

// waitGone waits until the relay has dropped the connection.
func (c *sseConn) waitGone(t *testing.T) {
	t.Helper()
	select {
	case <-c.gone:
	case <-time.After(10 * time.Second):
		t.Fatal("the relay kept the connection")
	}
}

// relayRun runs relay.Run in the background and records its updates.
type relayRun struct {
	updates chan relay.Update
	done    chan error
	logs    *testlog.Buffer
}

func startRelay(t *testing.T, s store.Writer, opts relay.Options) *relayRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &relayRun{updates: make(chan relay.Update, 100), done: make(chan error, 1), logs: &testlog.Buffer{}}
	if opts.SDKKey == "" {
		opts.SDKKey = testSDKKey
	}
	if opts.InitialRetryDelay == 0 {
		opts.InitialRetryDelay = 10 * time.Millisecond
	}
	opts.Logger = slog.New(slog.NewTextHandler(run.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.OnUpdate = func(u relay.Update) { run.updates <- u }
	go func() { run.done <- relay.Run(ctx, s, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-run.done:
			if err != nil {
				t.Errorf("Relay returned %v after cancel", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Relay did not return after cancel")
		}
		if strings.Contains(run.logs.String(), testSDKKey) {
			t.Errorf("the SDK key appears in the log:\n%s", run.logs)
		}
	})
	return run
}

func (r *relayRun) update(t *testing.T) relay.Update {
	t.Helper()
	select {
	case u := <-r.updates:
		return u
	case err := <-r.done:
		r.done <- err
		t.Fatalf("Relay returned %v while waiting for an update\nlog:\n%s", err, r.logs)
	case <-time.After(10 * time.Second):
		t.Fatalf("no update\nlog:\n%s", r.logs)
	}
	return relay.Update{}
}

func (r *relayRun) result(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- nil // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("Relay did not return\nlog:\n%s", r.logs)
		return nil
	}
}

func openStore(t *testing.T, addr string) store.Store {
	t.Helper()
	s, err := stores.Open(context.Background(), addr)
	if err != nil {
		t.Fatalf("open %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flagJSON(key string, version int) string {
	return fmt.Sprintf(`{"key":%q,"version":%d,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"salt":"s"}`, key, version)
}

func segmentJSON(key string, version int) string {
	return fmt.Sprintf(`{"key":%q,"version":%d,"included":["u1"],"salt":"s"}`, key, version)
}

func putData(flags, segments map[string]string) string {
	obj := func(m map[string]string) string {
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf(`{"path":"/","data":{"flags":%s,"segments":%s}}`, obj(flags), obj(segments))
}

// stored returns the stored item, failing when it is missing.
func stored(t *testing.T, s store.Reader, kind store.Kind, key string) store.Item {
	t.Helper()
	it, found, err := s.Get(context.Background(), kind, key)
	if err != nil || !found {
		t.Fatalf("get %s %s: found %v, err %v", kind, key, found, err)
	}
	return it
}

func TestRelayStream(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		st := openStore(t, addr)
		srv := newSSEServer(t)
		run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL + "/"}})
		c := srv.next(t)
		if got := c.header.Get("Authorization"); got != testSDKKey {
			t.Errorf("Authorization = %q", got)
		}
		if got := c.header.Get("Accept"); got != "text/event-stream" {
			t.Errorf("Accept = %q", got)
		}
		ctx := context.Background()
		if ok, err := st.Initialized(ctx); ok || err != nil {
			t.Fatalf("initialized before the first put: %v, %v", ok, err)
		}

		// put replaces the dataset and marks the store initialized.
		c.event("put", putData(map[string]string{"f1": flagJSON("f1", 1), "f2": flagJSON("f2", 5)},
			map[string]string{"s1": segmentJSON("s1", 2)}))
		if u := run.update(t); !u.Init || u.Flags != 2 || u.Segments != 1 {
			t.Fatalf("update %+v", u)
		}
		if ok, err := st.Initialized(ctx); !ok || err != nil {
			t.Fatalf("not initialized after put: %v, %v", ok, err)
		}
		if it := stored(t, st, store.Features, "f1"); it.Version != 1 || it.Deleted || !strings.Contains(string(it.Data), `"salt":"s"`) {
			t.Fatalf("f1 = %+v", it)
		}

		// patch upserts; a patch older than the stored version changes nothing.
		c.event("patch", `{"path":"/flags/f1","data":`+flagJSON("f1", 3)+`}`)
		if u := run.update(t); u.Init || u.Kind != store.Features || u.Key != "f1" || u.Version != 3 || !u.Applied {
			t.Fatalf("update %+v", u)
		}
		c.event("patch", `{"path":"/flags/f1","data":`+flagJSON("f1", 2)+`}`)
		if u := run.update(t); u.Applied {
			t.Fatalf("an older patch was applied: %+v", u)
		}
		if it := stored(t, st, store.Features, "f1"); it.Version != 3 {
			t.Fatalf("f1 version %d, want 3", it.Version)
		}
		c.event("patch", `{"path":"/segments/s2","data":`+segmentJSON("s2", 1)+`}`)
		if u := run.update(t); u.Kind != store.Segments || u.Key != "s2" || !u.Applied {
			t.Fatalf("update %+v", u)
		}

		// delete writes a tombstone.
		c.event("delete", `{"path":"/flags/f2","version":6}`)
		if u := run.update(t); !u.Deleted || u.Key != "f2" || u.Version != 6 || !u.Applied {
			t.Fatalf("update %+v", u)
		}
		if it := stored(t, st, store.Features, "f2"); !it.Deleted || it.Version != 6 {
			t.Fatalf("f2 = %+v", it)
		}

		// Unknown events, unknown paths and comments are ignored and keep
		// the connection.
		c.event("ping", `{}`)
		c.event("something-new", `{"path":"/flags/f1","data":{"version":99}}`)
		c.event("patch", `{"path":"/environments/x","data":{"version":99}}`)
		c.event("delete", `{"path":"/other/f1","version":99}`)
		c.send <- ": heartbeat\n\n"
		c.event("patch", `{"path":"/flags/f3","data":`+flagJSON("f3", 1)+`}`)
		if u := run.update(t); u.Key != "f3" {
			t.Fatalf("update %+v", u)
		}
		if it := stored(t, st, store.Features, "f1"); it.Version != 3 {
			t.Fatalf("f1 version %d after ignored events, want 3", it.Version)
		}
		select {
		case c2 := <-srv.conns:
			t.Fatalf("the relay reconnected (%v) after events it should ignore", c2.header)
		default:
		}

		// A new put replaces everything: items it lacks are gone.
		c.event("put", putData(map[string]string{"f9": flagJSON("f9", 1)}, nil))
		if u := run.update(t); !u.Init || u.Flags != 1 || u.Segments != 0 {
			t.Fatalf("update %+v", u)
		}
		all, err := st.GetAll(ctx, store.Features)
		if err != nil || len(all) != 1 || all[0].Key != "f9" {
			t.Fatalf("flags after the second put: %+v, %v", all, err)
		}
		if segs, err := st.GetAll(ctx, store.Segments); err != nil || len(segs) != 0 {
			t.Fatalf("segments after the second put: %+v, %v", segs, err)
		}
	})
}

func TestRelayStreamMalformedDataReconnects(t *testing.T) {
	for _, tc := range []struct{ name, event, data string }{
		{"patch not JSON", "patch", `{"path":"/flags/f1","data":`},
		{"put without data", "put", `{"path":"/"}`},
		{"put flag not an object", "put", `{"data":{"flags":{"f1":[1]}}}`},
		{"delete without version", "delete", `{"path":"/flags/f1"}`},
		{"patch with a string version", "patch", `{"path":"/flags/f1","data":{"key":"f1","version":"7"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, testaddrs.Bolt(t))
			srv := newSSEServer(t)
			stats := new(relay.Stats)
			run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, Stats: stats})
			c := srv.next(t)
			c.event("put", putData(map[string]string{"f1": flagJSON("f1", 1)}, nil))
			run.update(t)

			c.event(tc.event, tc.data)
			c.waitGone(t)
			c2 := srv.next(t) // reconnected after the backoff
			if it := stored(t, st, store.Features, "f1"); it.Version != 1 || it.Deleted {
				t.Fatalf("the store lost its data: %+v", it)
			}
			if ok, _ := st.Initialized(context.Background()); !ok {
				t.Fatal("the store is no longer initialized")
			}
			// The event was handled before the connection was dropped.
			if w := stats.Snapshot().Writes; w != 1 {
				t.Fatalf("%d writes, want only the first put's", w)
			}
			if !strings.Contains(run.logs.String(), "malformed data") {
				t.Errorf("the log does not mention the malformed data:\n%s", run.logs)
			}
			c2.event("put", putData(map[string]string{"f1": flagJSON("f1", 2)}, nil))
			if u := run.update(t); !u.Init {
				t.Fatalf("update %+v", u)
			}
		})
	}
}

func TestRelayStreamReconnectsAfterDrop(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	srv := newSSEServer(t)
	run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}})
	for i := 1; i <= 3; i++ {
		c := srv.next(t)
		c.event("put", putData(map[string]string{"f": flagJSON("f", i)}, nil))
		if u := run.update(t); !u.Init {
			t.Fatalf("update %+v", u)
		}
		close(c.end) // the server drops the stream
		c.waitGone(t)
	}
	if it := stored(t, st, store.Features, "f"); it.Version != 3 {
		t.Fatalf("f version %d, want 3", it.Version)
	}
	if !strings.Contains(run.logs.String(), "stream ended; connecting again") {
		t.Errorf("log:\n%s", run.logs)
	}
}

func TestRelayStreamHTTPErrors(t *testing.T) {
	for _, status := range []int{http.StatusUnauthorized, http.StatusForbidden} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			st := openStore(t, testaddrs.Bolt(t))
			srv := newSSEServer(t)
			srv.status.Store(int32(status))
			run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}})
			err := run.result(t)
			var he *relay.HTTPError
			if !errors.Is(err, relay.ErrSDKKeyRejected) || !errors.As(err, &he) || he.StatusCode != status {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(err.Error(), "SDK key") || strings.Contains(err.Error(), testSDKKey) {
				t.Errorf("message %q", err)
			}
			if n := srv.requests.Load(); n != 1 {
				t.Errorf("%d requests, want 1 (no retry)", n)
			}
		})
	}
	t.Run("404 stops", func(t *testing.T) {
		st := openStore(t, testaddrs.Bolt(t))
		run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: newSSEServer(t).URL + "/wrong/base"}})
		err := run.result(t)
		var he *relay.HTTPError
		if !errors.As(err, &he) || he.StatusCode != http.StatusNotFound || errors.Is(err, relay.ErrSDKKeyRejected) {
			t.Fatalf("err = %v", err)
		}
	})
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusBadRequest} {
		t.Run(fmt.Sprintf("%d retries", status), func(t *testing.T) {
			st := openStore(t, testaddrs.Bolt(t))
			srv := newSSEServer(t)
			srv.status.Store(int32(status))
			failures := make(chan error, 100)
			run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL},
				OnFailure: func(err error) { failures <- err }})
			for range 3 {
				<-failures
			}
			srv.status.Store(0)
			c := srv.next(t)
			c.event("put", putData(nil, nil))
			if u := run.update(t); !u.Init {
				t.Fatalf("update %+v", u)
			}
		})
	}
	t.Run("connection refused retries", func(t *testing.T) {
		st := openStore(t, testaddrs.Bolt(t))
		srv := newSSEServer(t)
		url := srv.URL
		srv.Close()
		stats := new(relay.Stats)
		failures := make(chan error, 100)
		run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: url}, Stats: stats,
			OnFailure: func(err error) { failures <- err }})
		for range 3 {
			<-failures
		}
		if n := stats.Snapshot().Failures; n < 3 {
			t.Errorf("Stats.Failures = %d after 3 failures", n)
		}
		if strings.Count(run.logs.String(), "stream failed") < 2 {
			t.Fatalf("log:\n%s", run.logs)
		}
	})
}

// pollServer is a test polling service with ETags.
type pollServer struct {
	*httptest.Server
	mu       sync.Mutex
	body     string
	etag     string
	status   int
	requests []http.Header
	got      chan struct{} // a value per request
}

func newPollServer(t *testing.T) *pollServer {
	p := &pollServer{got: make(chan struct{}, 10000)}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if r.URL.Path != "/sdk/latest-all" {
			http.NotFound(w, r)
			return
		}
		p.requests = append(p.requests, r.Header.Clone())
		p.got <- struct{}{}
		if p.status != 0 {
			w.WriteHeader(p.status)
			return
		}
		if p.etag != "" && r.Header.Get("If-None-Match") == p.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if p.etag != "" {
			w.Header().Set("ETag", p.etag)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(p.body))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pollServer) set(body, etag string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.body, p.etag, p.status = body, etag, status
}

func (p *pollServer) requestCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.requests)
}

func (p *pollServer) request(i int) http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[i]
}

func (p *pollServer) waitRequests(t *testing.T, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for p.requestCount() < n {
		select {
		case <-p.got:
		case <-timeout:
			t.Fatalf("only %d polls, want %d", p.requestCount(), n)
		}
	}
}

func TestRelayPoll(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		st := openStore(t, addr)
		srv := newPollServer(t)
		all := func(flags map[string]string) string {
			d := putData(flags, map[string]string{"s": segmentJSON("s", 1)})
			return strings.TrimSuffix(strings.TrimPrefix(d, `{"path":"/","data":`), "}")
		}
		srv.set(all(map[string]string{"f": flagJSON("f", 1)}), `"v1"`, 0)
		defer relay.SetMinPollInterval(time.Millisecond)()
		stats := new(relay.Stats)
		run := startRelay(t, st, relay.Options{Polling: true, Endpoints: relay.ServiceEndpoints{Polling: srv.URL}, PollInterval: 30 * time.Millisecond, Stats: stats})
		if u := run.update(t); !u.Init || u.Flags != 1 || u.Segments != 1 {
			t.Fatalf("update %+v", u)
		}
		if ok, _ := st.Initialized(context.Background()); !ok {
			t.Fatal("not initialized after the first poll")
		}
		h := srv.request(0)
		if h.Get("Authorization") != testSDKKey || h.Get("If-None-Match") != "" {
			t.Fatalf("first request headers %v", h)
		}

		// Unchanged data: the server answers 304 and nothing is written.
		srv.waitRequests(t, 3)
		if got := srv.request(1).Get("If-None-Match"); got != `"v1"` {
			t.Fatalf("If-None-Match = %q", got)
		}
		// The second poll was handled before the third was sent.
		if w := stats.Snapshot().Writes; w != 1 {
			t.Fatalf("%d writes after a 304, want 1", w)
		}

		// New data with a new ETag is written.
		srv.set(all(map[string]string{"f": flagJSON("f", 2), "g": flagJSON("g", 1)}), `"v2"`, 0)
		if u := run.update(t); !u.Init || u.Flags != 2 {
			t.Fatalf("update %+v", u)
		}
		if it := stored(t, st, store.Features, "f"); it.Version != 2 {
			t.Fatalf("f = %+v", it)
		}

		// A failing service or malformed data leaves the store as it is.
		n := srv.requestCount()
		srv.set(`{"flags": [`, "", 0)
		srv.waitRequests(t, n+2)
		srv.set("", "", http.StatusInternalServerError)
		srv.waitRequests(t, n+4)
		if w := stats.Snapshot().Writes; w != 2 {
			t.Fatalf("%d writes after failed polls, want 2", w)
		}
		if it := stored(t, st, store.Features, "g"); it.Version != 1 {
			t.Fatalf("g = %+v", it)
		}
		if !strings.Contains(run.logs.String(), "malformed data") {
			t.Errorf("log:\n%s", run.logs)
		}

		// 401 stops the relay.
		srv.set("", "", http.StatusUnauthorized)
		if err := run.result(t); !errors.Is(err, relay.ErrSDKKeyRejected) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestRelayOptionErrors(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	for _, tc := range []struct {
		name string
		o    relay.Options
	}{
		{"no key", relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}}},
		{"key with a line break", relay.Options{SDKKey: "a\nb", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}}},
		{"HTTPClient and ProxyURL", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}, HTTPClient: http.DefaultClient, ProxyURL: "http://127.0.0.1:2"}},
		{"proxy URL not http", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}, ProxyURL: "ftp://127.0.0.1:2"}},
		{"missing CA file", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}, CAFile: "/nonexistent/ca.pem"}},
		{"CA file without certificates", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}, CAFile: "relay_test.go"}},
		{"key with a tab", relay.Options{SDKKey: "a\tb", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}}},
		{"relative URI", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "/stream"}}},
		{"ftp URI", relay.Options{SDKKey: "k", Polling: true, Endpoints: relay.ServiceEndpoints{Polling: "ftp://example.com"}}},
		{"credentials in URI", relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://u:secret@127.0.0.1:1"}}},
		{"negative interval", relay.Options{SDKKey: "k", Polling: true, Endpoints: relay.ServiceEndpoints{Polling: "http://127.0.0.1:1"}, PollInterval: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := relay.Run(context.Background(), st, tc.o)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error shows a password: %v", err)
			}
		})
	}
	if err := relay.Run(context.Background(), nil, relay.Options{SDKKey: "k", Endpoints: relay.ServiceEndpoints{Streaming: "http://127.0.0.1:1"}}); err == nil {
		t.Error("no error for a nil store")
	}
}

// A cancelled context stops the relay promptly, whether it is connected,
// waiting to reconnect or waiting to poll.
func TestRelayStopsOnCancel(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	srv := newSSEServer(t)
	failing := newSSEServer(t)
	failing.status.Store(http.StatusServiceUnavailable)
	polls := newPollServer(t)
	polls.set(`{"flags":{},"segments":{}}`, "", 0)
	for _, tc := range []struct {
		name string
		o    relay.Options
	}{
		{"connected", relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}}},
		{"waiting to reconnect", relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: failing.URL}, InitialRetryDelay: time.Hour}},
		{"waiting to poll", relay.Options{Polling: true, Endpoints: relay.ServiceEndpoints{Polling: polls.URL}, PollInterval: time.Hour}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		o := tc.o
		o.SDKKey = testSDKKey
		o.Logger = slog.New(slog.DiscardHandler)
		state := make(chan struct{}, 10)
		o.OnFailure = func(error) { state <- struct{}{} }
		o.OnUpdate = func(relay.Update) { state <- struct{}{} }
		done := make(chan error, 1)
		go func() { done <- relay.Run(ctx, st, o) }()
		if tc.name == "connected" {
			srv.next(t)
		} else {
			<-state // failed once, or polled once
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s: err = %v", tc.name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Relay did not stop", tc.name)
		}
	}
}
