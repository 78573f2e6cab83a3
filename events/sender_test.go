package events

import (
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

const testKey = "sdk-secret-key-1234"

func newTestProcessor(t *testing.T, cfg Config) *Processor {
	t.Helper()
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = time.Hour // flushes only when the test asks
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.retryDelay == 0 {
		cfg.retryDelay = time.Millisecond
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close(t.Context()) })
	return p
}

func flush(t *testing.T, p *Processor) {
	t.Helper()
	if !p.FlushAndWait(30 * time.Second) {
		t.Fatal("FlushAndWait timed out")
	}
}

func TestSendHeaders(t *testing.T) {
	for _, gz := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "gzip"}[gz], func(t *testing.T) {
			r := newReceiver(t)
			p := newTestProcessor(t, Config{Endpoint: r.url + "/", SDKKey: testKey, Gzip: gz,
				ApplicationID: "app", ApplicationVersion: "bad version!", WrapperName: "w", InstanceID: "inst-1", Unsummarized: gz})
			p.RecordCustom(Custom{Key: "k", Context: mustContext(t, userJSON)})
			flush(t, p)
			reqs := r.requests()
			if len(reqs) != 1 {
				t.Fatalf("got %d requests, want 1", len(reqs))
			}
			h := reqs[0].header
			want := map[string]string{
				"Content-Type":                "application/json",
				"Authorization":               testKey,
				"X-Launchdarkly-Event-Schema": "4",
				"X-Launchdarkly-Tags":         "application-id/app",
				"X-Launchdarkly-Wrapper":      "w",
				"X-Launchdarkly-Instance-Id":  "inst-1",
			}
			if gz {
				want["Content-Encoding"] = "gzip"
				want["X-Launchdarkly-Unsummarized"] = "true"
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if !gz && h.Get("X-LaunchDarkly-Unsummarized") != "" {
				t.Error("X-LaunchDarkly-Unsummarized sent while summarizing")
			}
			if !strings.HasPrefix(h.Get("User-Agent"), "daemonflag/") {
				t.Errorf("User-Agent = %q", h.Get("User-Agent"))
			}
			if id := h.Get("X-LaunchDarkly-Payload-ID"); !uuidRE.MatchString(id) {
				t.Errorf("payload ID %q is not a v4 UUID", id)
			}
			if countKind(reqs, "custom") != 1 {
				t.Errorf("events: %s", reqs[0].body)
			}
		})
	}
}

func TestSDKKeyFromEnvironment(t *testing.T) {
	t.Setenv(SDKKeyEnv, "from-env")
	r := newReceiver(t)
	p := newTestProcessor(t, Config{Endpoint: r.url})
	p.RecordIdentify(mustContext(t, userJSON))
	flush(t, p)
	if got := r.requests()[0].header.Get("Authorization"); got != "from-env" {
		t.Errorf("Authorization = %q, want the environment's key", got)
	}
}

func TestRetryKeepsPayloadID(t *testing.T) {
	for _, status := range []int{500, 503, 400, 408, 429} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			r := newReceiver(t, status)
			p := newTestProcessor(t, Config{Endpoint: r.url})
			p.RecordIdentify(mustContext(t, userJSON))
			flush(t, p)
			reqs := r.requests()
			if len(reqs) != 2 {
				t.Fatalf("got %d requests, want 2 (one retry)", len(reqs))
			}
			a, b := reqs[0].header.Get("X-LaunchDarkly-Payload-ID"), reqs[1].header.Get("X-LaunchDarkly-Payload-ID")
			if a != b || a == "" {
				t.Errorf("payload IDs %q and %q: want the same on the retry", a, b)
			}
			st := p.Stats()
			if st.Retries != 1 || st.EventsDelivered != 1 || st.PayloadsDelivered != 1 || st.EventsInMemory != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

func TestFailedPayloadWaitsInMemory(t *testing.T) {
	r := newReceiver(t, 503, 503)
	p := newTestProcessor(t, Config{Endpoint: r.url})
	ec := mustContext(t, userJSON)
	p.RecordIdentify(ec)
	flush(t, p)
	if st := p.Stats(); st.EventsInMemory != 1 || st.EventsDelivered != 0 {
		t.Fatalf("after a failed delivery: %+v", st)
	}
	p.RecordCustom(Custom{Key: "later", Context: ec})
	flush(t, p) // the held payload first, then the new one
	reqs := r.requests()
	if len(reqs) != 4 {
		t.Fatalf("got %d requests, want 4", len(reqs))
	}
	if reqs[2].header.Get("X-LaunchDarkly-Payload-ID") != reqs[0].header.Get("X-LaunchDarkly-Payload-ID") {
		t.Error("the held payload was resent with a new ID")
	}
	if countKind(reqs[2:3], "identify") != 1 || countKind(reqs[3:], "custom") != 1 {
		t.Errorf("order: %s then %s", reqs[2].body, reqs[3].body)
	}
	if st := p.Stats(); st.EventsInMemory != 0 || st.EventsDelivered != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestUnauthorizedStopsForGood(t *testing.T) {
	for _, status := range []int{401, 403} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var logs logBuffer
			r := newReceiver(t, status)
			p := newTestProcessor(t, Config{Endpoint: r.url, SDKKey: testKey, Logger: newLogger(&logs)})
			ec := mustContext(t, userJSON)
			p.RecordIdentify(ec)
			flush(t, p)
			p.RecordIdentify(ec)
			flush(t, p)
			if n := len(r.requests()); n != 1 {
				t.Errorf("got %d requests, want 1 (no retry, nothing after)", n)
			}
			st := p.Stats()
			if !st.Stopped || st.EventsQueued != 1 || st.EventsRejected != 1 {
				t.Errorf("stats %+v", st)
			}
			out := logs.String()
			if n := strings.Count(out, "stopped for good"); n != 1 {
				t.Errorf("%d stop lines, want 1:\n%s", n, out)
			}
			if strings.Contains(out, testKey) {
				t.Error("the SDK key appears in the log")
			}
		})
	}
}

func TestTooLargeDropsOnlyThatPayload(t *testing.T) {
	r := newReceiver(t, 413)
	p := newTestProcessor(t, Config{Endpoint: r.url})
	ec := mustContext(t, userJSON)
	p.RecordIdentify(ec)
	flush(t, p)
	p.RecordCustom(Custom{Key: "next", Context: ec})
	flush(t, p)
	reqs := r.requests()
	if len(reqs) != 2 || countKind(reqs[1:], "custom") != 1 {
		t.Fatalf("got %d requests; want the 413 one and the next", len(reqs))
	}
	if st := p.Stats(); st.EventsRejected != 1 || st.EventsDelivered != 1 || st.Stopped {
		t.Errorf("stats %+v", st)
	}
}

func TestServerDateEndsDebugging(t *testing.T) {
	r := newReceiver(t)
	r.date = time.Now().Add(2 * time.Hour).UTC().Format(http.TimeFormat)
	p := newTestProcessor(t, Config{Endpoint: r.url})
	until := time.Now().Add(time.Hour).UnixMilli()
	f := mustFlag(t, `{"key":"d","version":1,"on":true,"variations":[1],"fallthrough":{"variation":0},"debugEventsUntilDate":`+itoa(until)+`}`)
	ec := mustContext(t, userJSON)
	ev := &Evaluation{FlagKey: "d", Flag: f, Context: ec, Detail: detail(jsonvalue.Int(1), 0, evaluation.FallthroughReason(false))}
	p.RecordEvaluation(ev)
	flush(t, p) // learns the server's time
	p.RecordEvaluation(ev)
	flush(t, p)
	reqs := r.requests()
	if countKind(reqs[:1], "debug") != 1 || countKind(reqs[1:], "debug") != 0 {
		t.Errorf("debug events: first payload %s, second %s", reqs[0].body, reqs[1].body)
	}
}

func TestNoEndpointIsAnError(t *testing.T) {
	for _, cfg := range []Config{{}, {Endpoint: "relay:8030"}, {Endpoint: "ftp://x"}, {Endpoint: "http://x", Capacity: -1},
		{Endpoint: "http://x", PrivateAttributes: []string{"/"}}} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
