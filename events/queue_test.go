package events

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

func TestCapacityDropsAndLogsOncePerChange(t *testing.T) {
	var logs logBuffer
	sink := &memSink{}
	p := newTestProcessor(t, Config{Sink: sink, Capacity: 5, Logger: newLogger(&logs)})
	ec := mustContext(t, userJSON)
	for range 8 { // an index event and 8 custom events
		p.RecordCustom(Custom{Key: "k", Context: ec})
	}
	st := p.Stats()
	if st.EventsQueued != 5 || st.EventsDropped != 4 || st.EventsInMemory != 5 {
		t.Fatalf("stats %+v", st)
	}
	flush(t, p)
	p.RecordCustom(Custom{Key: "k", Context: ec})
	for range 6 {
		p.RecordCustom(Custom{Key: "k", Context: ec})
	}
	out := logs.String()
	if n := strings.Count(out, "capacity reached"); n != 2 {
		t.Errorf("%d capacity lines, want 2 (one per change):\n%s", n, out)
	}
	if n := strings.Count(out, "accepted again"); n != 1 {
		t.Errorf("%d recovery lines, want 1:\n%s", n, out)
	}
}

// TestOutageUnderLoad kills the receiver while goroutines record events,
// restarts it, and checks that every event is accounted for: delivered,
// spooled and resent, or dropped over capacity, with nothing lost.
func TestOutageUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("takes a few seconds")
	}
	for _, withSpool := range []bool{false, true} {
		t.Run(map[bool]string{false: "memory", true: "spool"}[withSpool], func(t *testing.T) {
			r := newReceiver(t)
			cfg := Config{Endpoint: r.url, Capacity: 300, FlushInterval: 5 * time.Millisecond, retryDelay: time.Millisecond}
			if withSpool {
				cfg.SpoolDir = filepath.Join(t.TempDir(), "spool")
			}
			p := newTestProcessor(t, cfg)
			ec := mustContext(t, userJSON)
			const writers, perWriter = 4, 500
			var wg sync.WaitGroup
			phase := func() {
				for w := range writers {
					wg.Go(func() {
						for i := range perWriter {
							p.RecordCustom(Custom{Key: "load", Context: ec, Data: jsonvalue.Int(w*perWriter + i)})
						}
					})
				}
				wg.Wait()
			}
			phase()
			flush(t, p)
			r.stop()
			phase()     // the endpoint is down
			flush(t, p) // fails: spooled or held
			down := p.Stats()
			if down.Retries == 0 {
				t.Errorf("no retries while the receiver was down: %+v", down)
			}
			if withSpool && down.EventsSpooled == 0 {
				t.Errorf("nothing spooled while down: %+v", down)
			}
			r.restart()
			phase()
			deadline := time.Now().Add(20 * time.Second)
			for {
				flush(t, p)
				st := p.Stats()
				if st.EventsInMemory == 0 && st.EventsInSpool == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("events still held: %+v", st)
				}
			}
			st := p.Stats()
			total := uint64(3*writers*perWriter + 1) // and one index event
			if st.EventsQueued+st.EventsDropped != total {
				t.Errorf("queued %d + dropped %d != recorded %d", st.EventsQueued, st.EventsDropped, total)
			}
			if st.EventsQueued != st.EventsDelivered+st.EventsRejected {
				t.Errorf("queued %d != delivered %d + rejected %d", st.EventsQueued, st.EventsDelivered, st.EventsRejected)
			}
			// What the receiver accepted (every request answered 202 while up).
			got := uint64(0)
			ids := map[string]bool{}
			for _, rq := range r.requests() {
				id := rq.header.Get("X-LaunchDarkly-Payload-ID")
				if ids[id] {
					continue // a retry the receiver had already accepted
				}
				ids[id] = true
				got += uint64(len(rq.events) - countKind([]received{rq}, "summary"))
			}
			if got != st.EventsDelivered {
				t.Errorf("receiver got %d events, stats say %d delivered", got, st.EventsDelivered)
			}
			if st.EventsDropped == 0 {
				t.Logf("no drops (capacity never reached)")
			}
			t.Logf("recorded %d: delivered %d, dropped %d, retries %d, spooled %d", total, st.EventsDelivered, st.EventsDropped, st.Retries, st.EventsSpooled)
		})
	}
}

func TestSpoolSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	down := newReceiver(t)
	down.stop()
	ec := mustContext(t, userJSON)
	p1, err := New(Config{Endpoint: down.url, SpoolDir: dir, FlushInterval: time.Hour, retryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p1.RecordCustom(Custom{Key: "first", Context: ec})
	flush(t, p1)
	p1.RecordCustom(Custom{Key: "second", Context: ec})
	if err := p1.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	st1 := p1.Stats()
	if st1.EventsInSpool != 3 || st1.EventsDelivered != 0 {
		t.Fatalf("first processor: %+v", st1)
	}

	up := newReceiver(t)
	p2 := newTestProcessor(t, Config{Endpoint: up.url, SpoolDir: dir})
	if st := p2.Stats(); st.EventsRestored != 3 || st.EventsInSpool != 3 {
		t.Fatalf("second processor at start: %+v", st)
	}
	p2.RecordCustom(Custom{Key: "third", Context: ec})
	flush(t, p2)
	reqs := up.requests()
	var keys []string
	for _, rq := range reqs {
		for _, e := range rq.events {
			if e["kind"] == "custom" {
				keys = append(keys, e["key"].(string))
			}
		}
	}
	if strings.Join(keys, ",") != "first,second,third" {
		t.Errorf("custom events arrived as %v, want first,second,third", keys)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 {
		t.Errorf("spool not emptied: %v", ents)
	}
	st := p2.Stats()
	if st.EventsQueued+st.EventsRestored != st.EventsDelivered {
		t.Errorf("stats do not add up: %+v", st)
	}
}

func TestSpoolBound(t *testing.T) {
	down := newReceiver(t)
	down.stop()
	p := newTestProcessor(t, Config{Endpoint: down.url, SpoolDir: t.TempDir(), SpoolMaxBytes: 10})
	p.RecordIdentify(mustContext(t, userJSON))
	flush(t, p)
	if st := p.Stats(); st.EventsSpooled != 0 || st.EventsInMemory != 1 {
		t.Errorf("a payload over the spool bound must wait in memory: %+v", st)
	}
}

func TestFileSinkRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "events.jsonl")
	fs, err := NewFileSink(FileSinkOptions{Path: path, MaxBytes: 400, MaxFiles: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	p := newTestProcessor(t, Config{Sink: fs})
	ec := mustContext(t, userJSON)
	for range 12 {
		p.RecordIdentify(ec)
		flush(t, p)
	}
	lines := 0
	for _, name := range []string{path, path + ".1", path + ".2"} {
		f, err := os.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info, _ := f.Stat()
		if info.Size() > 400 {
			t.Errorf("%s is %d bytes, over the bound", name, info.Size())
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if !strings.HasPrefix(sc.Text(), `[{"kind":"identify"`) {
				t.Errorf("line %q is not a payload", sc.Text())
			}
			lines++
		}
		f.Close()
	}
	if _, err := os.Stat(path + ".3"); err == nil {
		t.Error("more rotated files than MaxFiles")
	}
	if lines < 6 || lines > 9 {
		t.Errorf("%d lines", lines)
	}
}

func TestSummaryConcurrent(t *testing.T) {
	sink := &memSink{}
	p := newTestProcessor(t, Config{Sink: sink})
	f := mustFlag(t, untrackedFlag)
	ec := mustContext(t, userJSON)
	ev := Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, evaluation.FallthroughReason(false))}
	var wg sync.WaitGroup
	const n, workers = 2000, 4
	for range workers {
		wg.Go(func() {
			for range n {
				p.RecordEvaluation(&ev)
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			p.Flush()
		}
	})
	wg.Wait()
	flush(t, p)
	var total float64
	for _, pl := range sink.all() {
		for _, e := range decodeEvents(t, pl.Events) {
			if e["kind"] != "summary" {
				continue
			}
			for _, c := range e["features"].(map[string]any)["untracked"].(map[string]any)["counters"].([]any) {
				total += c.(map[string]any)["count"].(float64)
			}
		}
	}
	if total != n*workers {
		t.Errorf("summaries counted %v evaluations, want %d", total, n*workers)
	}
}

func TestCorruptSpoolFileIsSetAside(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "00000000000000000000-2-3-0c1d5e6f-1111-4222-8333-444455556666.json")
	if err := os.WriteFile(bad, []byte("{not an array"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := newReceiver(t)
	p := newTestProcessor(t, Config{Endpoint: r.url, SpoolDir: dir})
	p.RecordIdentify(mustContext(t, userJSON))
	flush(t, p)
	if _, err := os.Stat(bad + ".corrupt"); err != nil {
		t.Errorf("the damaged file was not kept aside: %v", err)
	}
	if countKind(r.requests(), "identify") != 1 {
		t.Errorf("the new payload was not delivered after the damaged one")
	}
	st := p.Stats()
	if st.EventsRestored != 2 || st.EventsRejected != 2 || st.EventsInSpool != 0 || st.EventsDelivered != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestSummaryMergesRedecodedFlags: the cache decodes a flag again at each
// refresh; evaluations of the same version count in one counter.
func TestSummaryMergesRedecodedFlags(t *testing.T) {
	sink := &memSink{}
	p := newTestProcessor(t, Config{Sink: sink})
	ec := mustContext(t, userJSON)
	for range 3 {
		f := mustFlag(t, untrackedFlag) // a new *model.Flag each time
		p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, evaluation.FallthroughReason(false))})
	}
	flush(t, p)
	body := string(sink.all()[0].Events)
	if !strings.Contains(body, `"counters":[{"variation":1,"version":3,"value":true,"count":3}]`) {
		t.Errorf("summary: %s", body)
	}
}
