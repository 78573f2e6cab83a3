package relay_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// The tests in this file run on synctest's fake clock: minutes of retry
// delays and read timeouts pass at once and exactly. HTTP goes through
// inProcess, a RoundTripper that serves a handler in the bubble with a pipe
// for the body (real sockets would leave the bubble).

// inProcess serves requests with a handler, in process.
type inProcess struct{ h http.HandlerFunc }

type pipeResponse struct {
	header, sent http.Header
	status       int
	pw           *io.PipeWriter
	once         sync.Once
	ready        chan struct{}
}

func (p *pipeResponse) Header() http.Header { return p.header }
func (p *pipeResponse) WriteHeader(code int) {
	p.once.Do(func() { p.status, p.sent = code, p.header.Clone(); close(p.ready) })
}
func (p *pipeResponse) Write(b []byte) (int, error) {
	p.WriteHeader(http.StatusOK)
	return p.pw.Write(b)
}
func (p *pipeResponse) Flush() {}

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	pr, pw := io.Pipe()
	w := &pipeResponse{header: http.Header{}, pw: pw, ready: make(chan struct{})}
	go func() {
		t.h(w, req)
		w.WriteHeader(http.StatusOK)
		pw.Close()
	}()
	select {
	case <-w.ready:
	case <-req.Context().Done():
		pr.Close()
		return nil, req.Context().Err()
	}
	return &http.Response{StatusCode: w.status, Header: w.sent, Body: pr, Request: req, ContentLength: -1}, nil
}

// fakeRun runs relay.Run in the bubble with the in-process handler.
type fakeRun struct {
	updates chan relay.Update
	done    chan error
	logs    *testlog.Buffer
	cancel  context.CancelFunc
}

func startFake(t *testing.T, h http.HandlerFunc, opts relay.Options) *fakeRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	run := &fakeRun{updates: make(chan relay.Update, 100), done: make(chan error, 1), logs: &testlog.Buffer{}, cancel: cancel}
	opts.SDKKey = testSDKKey
	opts.HTTPClient = &http.Client{Transport: inProcess{h}}
	opts.Logger = slog.New(slog.NewTextHandler(run.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.OnUpdate = func(u relay.Update) { run.updates <- u }
	if opts.HealInterval == 0 {
		opts.HealInterval = -1
	}
	if opts.Endpoints == (relay.ServiceEndpoints{}) {
		opts.Endpoints = relay.ServiceEndpoints{Streaming: "http://relay.test", Polling: "http://relay.test"}
	}
	st := memstore.New()
	go func() { run.done <- relay.Run(ctx, st, opts) }()
	t.Cleanup(func() {
		cancel()
		if err := <-run.done; err != nil && !errors.As(err, new(*relay.HTTPError)) {
			t.Errorf("Run returned %v", err)
		}
	})
	return run
}

// streamConn is one stream connection as the handler sees it.
type streamConn struct {
	at   time.Time
	send chan string
	gone chan struct{}
}

// streamHandler hands each stream request to conns, after answering the
// statuses in order (one per request) while there are any.
func streamHandler(conns chan<- *streamConn, statuses ...int) http.HandlerFunc {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		var status int
		if len(statuses) > 0 {
			status, statuses = statuses[0], statuses[1:]
		}
		mu.Unlock()
		c := &streamConn{at: time.Now(), send: make(chan string), gone: make(chan struct{})}
		defer close(c.gone)
		if status != 0 {
			conns <- c
			w.WriteHeader(status)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		conns <- c
		for {
			select {
			case s, ok := <-c.send:
				if !ok {
					return // the server ends the stream
				}
				if _, err := io.WriteString(w, s); err != nil {
					return
				}
			case <-r.Context().Done():
				return
			}
		}
	}
}

// A stream that sends heartbeats stays; one silent for the read timeout
// (5 minutes by default) is dropped and connected again.
func TestRelayStreamReadTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conns := make(chan *streamConn, 10)
		run := startFake(t, streamHandler(conns), relay.Options{})
		c := <-conns
		c.send <- "event: put\ndata: " + putData(map[string]string{"f": flagJSON("f", 1)}, nil) + "\n\n"
		<-run.updates
		for range 3 {
			time.Sleep(4 * time.Minute)
			c.send <- ":\n"
		}
		synctest.Wait()
		select {
		case <-c.gone:
			t.Fatal("the relay dropped a stream that sent heartbeats")
		default:
		}
		last := time.Now()
		c2 := <-conns
		if d := c2.at.Sub(last); d < relay.DefaultReadTimeout || d > relay.DefaultReadTimeout+relay.DefaultRetryDelay {
			t.Errorf("reconnected %v after the last heartbeat, want the read timeout (5m) plus at most the retry delay", d)
		}
		<-c.gone
		if !strings.Contains(run.logs.String(), "read timeout") {
			t.Errorf("log:\n%s", run.logs)
		}
	})
}

func between(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s: %v, want within [%v, %v]", what, d, lo, hi)
	}
}

// Recoverable errors back off from the initial delay, doubling with up to
// 50% subtractive jitter; a stream up for a minute starts the delays over.
func TestRelayStreamBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conns := make(chan *streamConn, 10)
		run := startFake(t, streamHandler(conns, 503, 503, 503), relay.Options{})
		c := <-conns
		for i, hi := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
			prev := c.at
			c = <-conns
			between(t, "delay "+string(rune('1'+i)), c.at.Sub(prev), hi/2, hi)
		}
		// The fourth connection succeeds and stays up for two minutes.
		prev := time.Now()
		time.Sleep(2 * time.Minute)
		close(c.send) // the server ends the stream
		c = <-conns
		between(t, "delay after a healthy stream", c.at.Sub(prev.Add(2*time.Minute)), 500*time.Millisecond, time.Second)
		// A stream that ends at once does not reset the delays.
		close(c.send)
		ended := time.Now()
		c = <-conns
		between(t, "delay after a short stream", c.at.Sub(ended), time.Second, 2*time.Second)
		if n := strings.Count(run.logs.String(), "stream failed"); n != 3 {
			t.Errorf("%d failures logged, want 3:\n%s", n, run.logs)
		}
	})
}

// 401 and other unexpected statuses stop Run, or with KeepRetrying (the
// RETRY specification) are retried in the extended regime: from 5 minutes,
// doubling, never at the normal regime's pace, until the service answers.
func TestRelayStreamUnexpectedStatus(t *testing.T) {
	for _, status := range []int{401, 403, 405} {
		synctest.Test(t, func(t *testing.T) {
			conns := make(chan *streamConn, 10)
			run := startFake(t, streamHandler(conns, status), relay.Options{})
			<-conns
			var he *relay.HTTPError
			if err := <-run.done; !errors.As(err, &he) || he.StatusCode != status {
				t.Fatalf("status %d: Run returned %v", status, err)
			}
			run.done <- nil
		})
		synctest.Test(t, func(t *testing.T) {
			conns := make(chan *streamConn, 10)
			failures := make(chan error, 10)
			run := startFake(t, streamHandler(conns, status, status), relay.Options{KeepRetrying: true, OnFailure: func(err error) { failures <- err }})
			first := (<-conns).at
			if err := <-failures; !errors.As(err, new(*relay.HTTPError)) {
				t.Errorf("OnFailure got %v", err)
			}
			second := (<-conns).at
			between(t, "first extended delay", second.Sub(first), relay.DefaultExtendedRetryDelay/2, relay.DefaultExtendedRetryDelay)
			third := (<-conns).at
			between(t, "second extended delay", third.Sub(second), relay.DefaultExtendedRetryDelay, 2*relay.DefaultExtendedRetryDelay)
			// The third answers: the relay initializes.
			c := <-conns
			_ = c
			if !strings.Contains(run.logs.String(), "extended retry") {
				t.Errorf("log:\n%s", run.logs)
			}
		})
	}
}

// A poll interval below 30 s is raised to it, with a warning; an
// unexpected status is retried after the extended delay.
func TestRelayPollInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var at []time.Time
		statuses := []int{0, 0, 401}
		polled := make(chan struct{}, 10)
		h := func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			at = append(at, time.Now())
			var st int
			if len(statuses) > 0 {
				st, statuses = statuses[0], statuses[1:]
			}
			mu.Unlock()
			polled <- struct{}{}
			if st != 0 {
				w.WriteHeader(st)
				return
			}
			_, _ = io.WriteString(w, `{"flags":{},"segments":{}}`)
		}
		run := startFake(t, h, relay.Options{Polling: true, PollInterval: time.Second, KeepRetrying: true})
		for range 4 {
			<-polled
		}
		mu.Lock()
		defer mu.Unlock()
		between(t, "first interval", at[1].Sub(at[0]), relay.MinPollInterval, relay.MinPollInterval)
		between(t, "second interval", at[2].Sub(at[1]), relay.MinPollInterval, relay.MinPollInterval)
		between(t, "after 401", at[3].Sub(at[2]), relay.DefaultExtendedRetryDelay/2, relay.DefaultExtendedRetryDelay)
		if !strings.Contains(run.logs.String(), "poll interval raised to the minimum") {
			t.Errorf("log:\n%s", run.logs)
		}
	})
}
