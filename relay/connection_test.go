package relay_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
)

// recorder is a test service that records each request and answers with
// the handler's status and body (a stream gets one put and stays open
// until the request ends).
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	got  chan *http.Request
}

func newRecorder(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) *recorder {
	t.Helper()
	rec := &recorder{got: make(chan *http.Request, 100)}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := r.Clone(context.Background())
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, rc)
		rec.mu.Unlock()
		rec.got <- rc
		handler(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

// next waits for the next request.
func (rec *recorder) next(t *testing.T) *http.Request {
	t.Helper()
	select {
	case r := <-rec.got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no request")
		return nil
	}
}

// streamPut answers a stream request with one put, then holds it.
func streamPut(put string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: put\ndata: %s\n\n", put)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

var uuid4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// The identification headers and the filter are on every stream and poll
// request; the instance ID is the same on every request of one Run and
// different between Runs.
func TestRelayRequestHeadersAndFilter(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	put := putData(map[string]string{"f": flagJSON("f", 1)}, nil)
	for _, mode := range []string{"stream", "poll"} {
		t.Run(mode, func(t *testing.T) {
			handler := streamPut(put)
			if mode == "poll" {
				handler = func(w http.ResponseWriter, r *http.Request) {
					_, _ = w.Write([]byte(`{"flags":{},"segments":{}}`))
				}
			}
			rec := newRecorder(t, handler)
			opts := relay.Options{
				Filter:        "encoding necessary +! %& ( )",
				ApplicationID: "checkout", ApplicationVersion: "4.2.0-rc_1",
				WrapperName: "TestName", WrapperVersion: "1.0.0",
			}
			if mode == "poll" {
				defer relay.SetMinPollInterval(time.Millisecond)()
				opts.Polling, opts.Endpoints.Polling, opts.PollInterval = true, rec.URL+"/", 5*time.Millisecond
			} else {
				opts.Endpoints.Streaming = rec.URL + "/"
			}
			run := startRelay(t, st, opts)
			r1 := rec.next(t)
			if mode == "stream" {
				run.update(t)
				// Drop the stream so that the relay connects again.
				rec.CloseClientConnections()
			}
			r2 := rec.next(t)
			wantPath := map[string]string{"stream": "/all", "poll": "/sdk/latest-all"}[mode]
			for i, r := range []*http.Request{r1, r2} {
				if r.URL.Path != wantPath {
					t.Errorf("request %d: path %q, want %q", i, r.URL.Path, wantPath)
				}
				if q := r.URL.Query(); len(q) != 1 || q.Get("filter") != opts.Filter {
					t.Errorf("request %d: query %q, want only filter=%q", i, r.URL.RawQuery, opts.Filter)
				}
				if got := r.Header.Get("X-LaunchDarkly-Tags"); got != "application-id/checkout application-version/4.2.0-rc_1" {
					t.Errorf("request %d: X-LaunchDarkly-Tags %q", i, got)
				}
				if got := r.Header.Get("X-LaunchDarkly-Wrapper"); got != "TestName/1.0.0" {
					t.Errorf("request %d: X-LaunchDarkly-Wrapper %q", i, got)
				}
				if got := r.Header.Get("X-LaunchDarkly-Instance-Id"); !uuid4.MatchString(got) {
					t.Errorf("request %d: X-LaunchDarkly-Instance-Id %q is not a UUID", i, got)
				}
			}
			if a, b := r1.Header.Get("X-LaunchDarkly-Instance-Id"), r2.Header.Get("X-LaunchDarkly-Instance-Id"); a != b {
				t.Errorf("the instance ID changed within one Run: %q, %q", a, b)
			}
			if mode == "poll" && !strings.Contains(r1.Header.Get("Accept-Encoding"), "gzip") {
				t.Errorf("Accept-Encoding %q", r1.Header.Get("Accept-Encoding"))
			}
		})
	}

	// A second Run has another instance ID; an invalid tag is dropped with
	// a warning; no wrapper means no header; an explicit ID is sent as is.
	rec := newRecorder(t, streamPut(put))
	run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: rec.URL},
		ApplicationID: "has space", ApplicationVersion: strings.Repeat("9", 65)})
	r := rec.next(t)
	for _, h := range []string{"X-LaunchDarkly-Tags", "X-LaunchDarkly-Wrapper"} {
		if _, ok := r.Header[h]; ok {
			t.Errorf("%s sent: %q", h, r.Header.Get(h))
		}
	}
	run.update(t)
	if n := strings.Count(run.logs.String(), "application metadata value dropped"); n != 2 {
		t.Errorf("%d warnings about dropped tags, want 2:\n%s", n, run.logs)
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query %q without a filter", r.URL.RawQuery)
	}
	rec2 := newRecorder(t, streamPut(put))
	startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: rec2.URL}, InstanceID: "fixed-id"})
	if got := rec2.next(t).Header.Get("X-LaunchDarkly-Instance-Id"); got != "fixed-id" {
		t.Errorf("explicit instance ID sent as %q", got)
	}
}

// A poll answered with gzip is decoded; ETags make unchanged data a 304.
func TestRelayPollGzipAndETag(t *testing.T) {
	defer relay.SetMinPollInterval(time.Millisecond)()
	st := openStore(t, testaddrs.Bolt(t))
	var mu sync.Mutex
	version := 1
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := version
		mu.Unlock()
		etag := fmt.Sprintf(`"v%d"`, v)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		fmt.Fprintf(zw, `{"flags":{"f":%s},"segments":{}}`, flagJSON("f", v))
		_ = zw.Close()
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(b.Bytes())
	})
	run := startRelay(t, st, relay.Options{Polling: true, Endpoints: relay.ServiceEndpoints{Polling: rec.URL}, PollInterval: 5 * time.Millisecond})
	if u := run.update(t); !u.Init || u.Flags != 1 {
		t.Fatalf("update %+v", u)
	}
	rec.next(t)
	if got := rec.next(t).Header.Get("If-None-Match"); got != `"v1"` {
		t.Fatalf("second poll If-None-Match %q", got)
	}
	mu.Lock()
	version = 2
	mu.Unlock()
	for {
		u := run.update(t)
		if u.Init {
			break
		}
	}
	if it := stored(t, st, store.Features, "f"); it.Version != 2 || !strings.Contains(string(it.Data), `"salt":"s"`) {
		t.Fatalf("f = %+v", it)
	}
}

// A large payload holding a flag with an empty key (LaunchDarkly's harness
// sends one) is written without that flag, with a warning; a payload that
// is not valid UTF-8 is refused whole.
func TestRelaySkipsEmptyKeysAndRefusesInvalidUTF8(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	flags := map[string]string{"": `{"key":"","on":false,"variations":[],"version":0}`}
	for i := range 1000 {
		flags[fmt.Sprintf("flag-key-%d", i)] = flagJSON(fmt.Sprintf("flag-key-%d", i), 1)
	}
	srv := newSSEServer(t)
	stats := new(relay.Stats)
	run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, Stats: stats})
	c := srv.next(t)
	c.event("put", putData(flags, nil))
	if u := run.update(t); !u.Init || u.Flags != 1000 {
		t.Fatalf("update %+v", u)
	}
	if !strings.Contains(run.logs.String(), "empty key was left out") || stats.Snapshot().Skipped != 1 {
		t.Errorf("no warning about the empty key (skipped %d):\n%s", stats.Snapshot().Skipped, run.logs)
	}
	stored(t, st, store.Features, "flag-key-999")

	c.event("patch", `{"path":"/flags/flag-key-1","data":{"key":"flag-key-1","version":5,"variations":["AB`+"\xff"+`CD"]}}`)
	c.waitGone(t)
	if it := stored(t, st, store.Features, "flag-key-1"); it.Version != 1 {
		t.Fatalf("invalid UTF-8 was written: %+v", it)
	}
	// The refusal is logged once the dropped stream's error reaches the
	// relay's loop, which may be after the connection closed.
	testwait.Eventually(t, "the refusal logged", func() bool { return strings.Contains(run.logs.String(), "not valid UTF-8") })
}

// A 404 from a polling request explains that a Relay Proxy streams only.
func TestRelayPoll404(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	rec := newRecorder(t, http.NotFound)
	run := startRelay(t, st, relay.Options{Polling: true, Endpoints: relay.RelayProxyEndpoints(rec.URL)})
	err := run.result(t)
	if err == nil || !strings.Contains(err.Error(), "Relay Proxy serves server-side SDKs by streaming only") {
		t.Fatalf("err = %v", err)
	}
	if ep := relay.RelayProxyEndpoints("http://relay:8030"); ep.Streaming != ep.Polling || ep.Events != ep.Streaming {
		t.Errorf("RelayProxyEndpoints = %+v", ep)
	}
}
