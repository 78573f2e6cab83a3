package events

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// TestHungEndpointNeverBlocksRecording: with an endpoint that never
// answers, recording goes on at once, FlushAndWait gives up at its timeout
// and Close returns at its context's deadline.
func TestHungEndpointNeverBlocksRecording(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	p, err := New(Config{Endpoint: srv.URL, FlushInterval: time.Hour, retryDelay: time.Millisecond, Capacity: 100})
	if err != nil {
		t.Fatal(err)
	}
	ec := mustContext(t, userJSON)
	p.RecordIdentify(ec)
	p.Flush() // the goroutine is now stuck in the request
	f := mustFlag(t, trackedFlag)
	ev := Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.String("a"), 0, evaluation.FallthroughReason(false))}
	for range 1000 {
		p.RecordEvaluation(&ev) // must not block: drops once full
	}
	if p.FlushAndWait(50 * time.Millisecond) {
		t.Error("FlushAndWait reported success with a hung endpoint")
	}
	ctx, cancel := contextWithTimeout(t, 100*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); err == nil {
		t.Error("Close returned nil although its deadline passed with a delivery in progress")
	}
	if st := p.Stats(); st.EventsDropped == 0 {
		t.Errorf("expected drops over capacity: %+v", st)
	}
}

func TestContextKeysReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		p, err := New(Config{Sink: sink, FlushInterval: time.Hour, ContextKeysFlushInterval: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(t.Context())
		f := mustFlag(t, untrackedFlag)
		ec := mustContext(t, userJSON)
		ev := Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, evaluation.FallthroughReason(false))}
		p.RecordEvaluation(&ev)
		p.RecordEvaluation(&ev)
		time.Sleep(61 * time.Second) // fake time: the dedup resets
		synctest.Wait()
		p.RecordEvaluation(&ev)
		if !p.FlushAndWait(time.Minute) {
			t.Fatal("flush")
		}
		n := 0
		for _, pl := range sink.all() {
			n += strings.Count(string(pl.Events), `"kind":"index"`)
		}
		if n != 2 {
			t.Errorf("%d index events, want 2 (one per dedup window)", n)
		}
	})
}

func TestContextKeysLRU(t *testing.T) {
	c := newContextKeys(2)
	if c.add("a") || c.add("b") {
		t.Fatal("new keys reported as known")
	}
	if !c.add("a") { // a is now the most recent
		t.Fatal("a forgotten")
	}
	c.add("c") // evicts b, the least recently used
	if !c.add("a") || c.add("b") {
		t.Error("LRU evicted the wrong key")
	}
	c.reset()
	if c.add("a") {
		t.Error("reset kept a key")
	}
}

func TestNoPrivateDataInLogs(t *testing.T) {
	var logs logBuffer
	r := newReceiver(t, 500, 500, 401)
	p := newTestProcessor(t, Config{Endpoint: r.url, SDKKey: testKey, Logger: newLogger(&logs), Capacity: 3,
		PrivateAttributes: []string{"email"}})
	ec := mustContext(t, `{"kind":"user","key":"secret-key-42","email":"private@example.com","name":"Private Name"}`)
	for range 5 {
		p.RecordCustom(Custom{Key: "k", Context: ec, Data: jsonvalue.String("private-data")})
	}
	flush(t, p)
	flush(t, p)
	out := logs.String()
	if out == "" {
		t.Fatal("no log lines: the test would pass vacuously")
	}
	for _, secret := range []string{"private@example.com", "Private Name", "secret-key-42", "private-data", testKey} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	for _, rq := range r.requests() {
		if strings.Contains(string(rq.body), "private@example.com") {
			t.Errorf("a private attribute was sent: %s", rq.body)
		}
	}
}
