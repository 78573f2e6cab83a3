package migration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fakeEvaluator serves one stage from a migration flag, as the client
// would, and keeps the events trackers send.
type fakeEvaluator struct {
	stage Stage
	flag  *model.Flag
	mu    sync.Mutex
	sent  [][]byte
}

func (f *fakeEvaluator) MigrationVariationCtx(_ context.Context, key string, ec evalctx.Context, def Stage) (Stage, *Tracker, error) {
	idx := slices.Index(Stages, f.stage)
	d := evaluation.Detail{Value: jsonvalue.String(string(f.stage)), VariationIndex: idx, Reason: evaluation.FallthroughReason(false)}
	t := NewTracker(Evaluation{FlagKey: key, Flag: f.flag, Context: ec, Detail: d, Default: def}, func(b []byte, _ evalctx.Context) {
		f.mu.Lock()
		f.sent = append(f.sent, b)
		f.mu.Unlock()
	})
	t.now = func() time.Time { return time.UnixMilli(1700000000000) }
	return f.stage, t, nil
}

func (f *fakeEvaluator) events(t *testing.T) []map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []map[string]any
	for _, b := range f.sent {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("event is not JSON: %v\n%s", err, b)
		}
		out = append(out, m)
	}
	return out
}

func migrationFlag(t testing.TB, extra string) *model.Flag {
	t.Helper()
	f, err := model.DecodeFlag([]byte(`{"key":"mig","version":5,"on":true,"variations":["off","dualwrite","shadow","live","rampdown","complete"],"fallthrough":{"variation":0}` + extra + `}`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// origins are fake old and new systems recording their calls.
type origins struct {
	mu          sync.Mutex
	calls       []string // "old read", "new write", ...
	failOld     bool
	failNew     bool
	oldValue    string
	newValue    string
	rendezvous  bool // each read waits for the other to start (concurrency check)
	arrived     int
	bothIn      chan struct{} // closed when both reads are in flight
	readTimeout time.Duration
}

func (o *origins) fn(origin Origin, op Operation) Func[string, string] {
	return func(ctx context.Context, payload string) (string, error) {
		o.mu.Lock()
		o.calls = append(o.calls, string(origin)+" "+string(op))
		o.mu.Unlock()
		if o.rendezvous && op == Read {
			o.mu.Lock()
			if o.arrived++; o.arrived == 2 {
				close(o.bothIn)
			}
			o.mu.Unlock()
			select {
			case <-o.bothIn: // the other origin is in flight too
			case <-time.After(o.readTimeout):
				return "", errors.New("the other origin never started: reads are not concurrent")
			}
		}
		if (origin == Old && o.failOld) || (origin == New && o.failNew) {
			return "", errors.New(string(origin) + " failed")
		}
		if origin == Old {
			return o.oldValue + ":" + payload, nil
		}
		return o.newValue + ":" + payload, nil
	}
}

func (o *origins) migrator(t *testing.T, ev Evaluator, order ExecutionOrder) *Migrator[string, string, string] {
	t.Helper()
	m, err := NewMigrator(ev, Config[string, string, string]{
		ReadOld: o.fn(Old, Read), ReadNew: o.fn(New, Read),
		WriteOld: o.fn(Old, Write), WriteNew: o.fn(New, Write),
		Compare:   func(a, b string) bool { return a == b },
		ReadOrder: order,
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (o *origins) got() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.calls)
}

// TestStageTable checks every stage's reads and writes against the table
// in the package documentation, with serial reads so that the order shows.
func TestStageTable(t *testing.T) {
	cases := []struct {
		stage                Stage
		reads                []string
		readFrom             Origin
		writes               []string
		writeAuth            Origin
		failAuthWrite        []string // writes when the authoritative write fails
		consistencyCheckable bool
	}{
		{Off, []string{"old read"}, Old, []string{"old write"}, Old, []string{"old write"}, false},
		{DualWrite, []string{"old read"}, Old, []string{"old write", "new write"}, Old, []string{"old write"}, false},
		{Shadow, []string{"old read", "new read"}, Old, []string{"old write", "new write"}, Old, []string{"old write"}, true},
		{Live, []string{"new read", "old read"}, New, []string{"new write", "old write"}, New, []string{"new write"}, true},
		{RampDown, []string{"new read"}, New, []string{"new write", "old write"}, New, []string{"new write"}, false},
		{Complete, []string{"new read"}, New, []string{"new write"}, New, []string{"new write"}, false},
	}
	ec := evalctx.New("u")
	for _, tc := range cases {
		t.Run(string(tc.stage), func(t *testing.T) {
			ev := &fakeEvaluator{stage: tc.stage, flag: migrationFlag(t, "")}
			o := &origins{oldValue: "O", newValue: "N"}
			m := o.migrator(t, ev, Serial)
			r := m.Read(t.Context(), "mig", ec, Off, "p")
			if !slices.Equal(o.got(), tc.reads) {
				t.Errorf("reads %v, want %v", o.got(), tc.reads)
			}
			if r.Origin != tc.readFrom || r.Err != nil || r.Value != map[Origin]string{Old: "O", New: "N"}[tc.readFrom]+":p" || r.Stage != tc.stage {
				t.Errorf("read result %+v", r)
			}
			o.calls = nil
			w := m.Write(t.Context(), "mig", ec, Off, "p")
			if !slices.Equal(o.got(), tc.writes) {
				t.Errorf("writes %v, want %v", o.got(), tc.writes)
			}
			if w.Authoritative.Origin != tc.writeAuth || w.Authoritative.Err != nil || (w.NonAuthoritative != nil) != (len(tc.writes) == 2) {
				t.Errorf("write result %+v", w)
			}
			// The authoritative write fails: the other is skipped.
			o.calls = nil
			o.failOld, o.failNew = tc.writeAuth == Old, tc.writeAuth == New
			w = m.Write(t.Context(), "mig", ec, Off, "p")
			if !slices.Equal(o.got(), tc.failAuthWrite) || w.Authoritative.Err == nil || w.NonAuthoritative != nil {
				t.Errorf("failed authoritative write: calls %v, result %+v", o.got(), w)
			}
			evs := ev.events(t)
			if len(evs) != 3 {
				t.Fatalf("%d events, want one per operation", len(evs))
			}
			hasConsistent := false
			for _, ms := range evs[0]["measurements"].([]any) {
				if ms.(map[string]any)["key"] == "consistent" {
					hasConsistent = true
				}
			}
			if hasConsistent != tc.consistencyCheckable {
				t.Errorf("consistency measured: %v, want %v", hasConsistent, tc.consistencyCheckable)
			}
		})
	}
}

func TestConcurrentReadsOverlap(t *testing.T) {
	for _, stage := range []Stage{Shadow, Live} {
		ev := &fakeEvaluator{stage: stage, flag: migrationFlag(t, "")}
		o := &origins{oldValue: "X", newValue: "X", rendezvous: true, bothIn: make(chan struct{}), readTimeout: 10 * time.Second}
		m := o.migrator(t, ev, "") // the default order: concurrent
		r := m.Read(t.Context(), "mig", evalctx.New("u"), Off, "p")
		if r.Err != nil {
			t.Fatalf("%s: %v", stage, r.Err)
		}
		evs := ev.events(t)
		if len(evs) != 1 || !consistent(evs[0]) {
			t.Errorf("%s: events %v", stage, evs)
		}
	}
}

func TestRandomOrderRunsBoth(t *testing.T) {
	ev := &fakeEvaluator{stage: Live, flag: migrationFlag(t, "")}
	o := &origins{oldValue: "A", newValue: "B"}
	m := o.migrator(t, ev, Random)
	seen := map[string]bool{}
	for range 64 {
		o.calls = nil
		m.Read(t.Context(), "mig", evalctx.New("u"), Off, "p")
		calls := o.got()
		if len(calls) != 2 {
			t.Fatalf("calls %v", calls)
		}
		seen[calls[0]] = true
	}
	if !seen["old read"] || !seen["new read"] {
		t.Errorf("random order always started with the same origin: %v", seen)
	}
}

func consistent(ev map[string]any) bool {
	for _, ms := range ev["measurements"].([]any) {
		m := ms.(map[string]any)
		if m["key"] == "consistent" {
			return m["value"] == true
		}
	}
	return false
}

// TestMigratorConcurrency runs many operations at once on one migrator
// (run with -race).
func TestMigratorConcurrency(t *testing.T) {
	ev := &fakeEvaluator{stage: Shadow, flag: migrationFlag(t, "")}
	o := &origins{oldValue: "V", newValue: "V"}
	m := o.migrator(t, ev, Concurrent)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 50 {
				if i%2 == 0 {
					m.Read(t.Context(), "mig", evalctx.New("u"), Off, "p")
				} else {
					m.Write(t.Context(), "mig", evalctx.New("u"), Off, "p")
				}
			}
		})
	}
	wg.Wait()
	if n := len(ev.events(t)); n != 400 {
		t.Errorf("%d events, want 400", n)
	}
}

func TestCheckRatioZeroSkipsConsistency(t *testing.T) {
	ev := &fakeEvaluator{stage: Shadow, flag: migrationFlag(t, `,"migration":{"checkRatio":0}`)}
	o := &origins{oldValue: "V", newValue: "V"}
	called := false
	m, _ := NewMigrator(ev, Config[string, string, string]{
		ReadOld: o.fn(Old, Read), ReadNew: o.fn(New, Read), WriteOld: o.fn(Old, Write), WriteNew: o.fn(New, Write),
		Compare: func(a, b string) bool { called = true; return true },
	})
	m.Read(t.Context(), "mig", evalctx.New("u"), Off, "p")
	if called {
		t.Error("Compare ran with checkRatio 0")
	}
	golden(t, "read-checkratio-zero", latencyFree(t, ev.sent[0]))
}

func TestNoConsistencyWhenAReadFails(t *testing.T) {
	ev := &fakeEvaluator{stage: Live, flag: migrationFlag(t, "")}
	o := &origins{oldValue: "V", newValue: "V", failOld: true}
	m := o.migrator(t, ev, Serial)
	r := m.Read(t.Context(), "mig", evalctx.New("u"), Off, "p")
	if r.Err != nil || r.Origin != New {
		t.Errorf("read %+v", r)
	}
	golden(t, "read-live-old-fails", latencyFree(t, ev.sent[0]))
}

func TestGoldenEvents(t *testing.T) {
	ec := evalctx.NewMulti(evalctx.New("u1"), evalctx.NewWithKind("org", "o1"))
	t.Run("read-shadow-inconsistent", func(t *testing.T) {
		ev := &fakeEvaluator{stage: Shadow, flag: migrationFlag(t, "")}
		o := &origins{oldValue: "A", newValue: "B"}
		o.migrator(t, ev, Serial).Read(t.Context(), "mig", ec, DualWrite, "p")
		golden(t, "read-shadow-inconsistent", latencyFree(t, ev.sent[0]))
	})
	t.Run("write-live-new-fails", func(t *testing.T) {
		ev := &fakeEvaluator{stage: Live, flag: migrationFlag(t, `,"samplingRatio":1`)}
		o := &origins{failNew: true}
		o.migrator(t, ev, Serial).Write(t.Context(), "mig", ec, DualWrite, "p")
		golden(t, "write-live-new-fails", latencyFree(t, ev.sent[0]))
	})
	t.Run("write-dualwrite-sampled", func(t *testing.T) {
		ev := &fakeEvaluator{stage: DualWrite, flag: migrationFlag(t, `,"samplingRatio":1`)}
		tr := func() *Tracker {
			_, tr, _ := ev.MigrationVariationCtx(t.Context(), "mig", ec, Off)
			return tr
		}()
		tr.ev.Flag = migrationFlag(t, `,"samplingRatio":3`)
		tr.Operation(Write)
		tr.Invoked(Old)
		tr.Invoked(New)
		tr.Latency(Old, 1500*time.Microsecond)
		tr.Latency(New, 2*time.Millisecond)
		b, err := tr.Event()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, "write-dualwrite-sampled", b)
	})
}

// latencyFree replaces measured latencies with 0 for a golden comparison.
func latencyFree(t *testing.T, b []byte) []byte {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, ms := range m["measurements"].([]any) {
		mm := ms.(map[string]any)
		if mm["key"] == "latency_ms" {
			for k := range mm["values"].(map[string]any) {
				mm["values"].(map[string]any)[k] = 0
			}
		}
	}
	out, _ := json.Marshal(m)
	return out
}

func TestImpossibleTrackerStates(t *testing.T) {
	ec := evalctx.New("u")
	f := migrationFlag(t, "")
	mk := func() *Tracker {
		var sent [][]byte
		tr := NewTracker(Evaluation{FlagKey: "mig", Flag: f, Context: ec, Detail: evaluation.Detail{Value: jsonvalue.String("off")}, Default: Off},
			func(b []byte, _ evalctx.Context) { sent = append(sent, b) })
		return tr
	}
	cases := map[string]func(tr *Tracker){
		"no operation":              func(tr *Tracker) { tr.Invoked(Old) },
		"nothing invoked":           func(tr *Tracker) { tr.Operation(Read) },
		"latency of an idle origin": func(tr *Tracker) { tr.Operation(Read); tr.Invoked(Old); tr.Latency(New, time.Millisecond) },
		"error of an idle origin":   func(tr *Tracker) { tr.Operation(Write); tr.Invoked(New); tr.Error(Old) },
		"consistency with one read": func(tr *Tracker) { tr.Operation(Read); tr.Invoked(Old); tr.Consistent(func() bool { return true }) },
		"bad operation":             func(tr *Tracker) { tr.Operation("delete"); tr.Invoked(Old) },
	}
	for name, setup := range cases {
		tr := mk()
		setup(tr)
		if err := tr.Send(); !errors.Is(err, ErrTracker) {
			t.Errorf("%s: Send = %v, want ErrTracker", name, err)
		}
	}
	tr := mk()
	tr.Operation(Read)
	tr.Invoked(Old)
	if err := tr.Send(); err != nil {
		t.Fatal(err)
	}
	if err := tr.Send(); !errors.Is(err, ErrTracker) {
		t.Errorf("second Send = %v", err)
	}
}

func TestParseStage(t *testing.T) {
	for _, s := range Stages {
		if got, err := ParseStage(string(s)); err != nil || got != s {
			t.Errorf("ParseStage(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "Off", "live ", "migrated"} {
		if _, err := ParseStage(s); !errors.Is(err, ErrInvalidStage) {
			t.Errorf("ParseStage(%q): %v", s, err)
		}
	}
}

func TestNewMigratorRejectsIncompleteConfig(t *testing.T) {
	ev := &fakeEvaluator{stage: Off}
	f := func(context.Context, string) (string, error) { return "", nil }
	for name, cfg := range map[string]Config[string, string, string]{
		"no reads":  {WriteOld: f, WriteNew: f},
		"no writes": {ReadOld: f, ReadNew: f},
		"bad order": {ReadOld: f, ReadNew: f, WriteOld: f, WriteNew: f, ReadOrder: "sideways"},
	} {
		if _, err := NewMigrator(ev, cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewMigrator[string, string, string](nil, Config[string, string, string]{}); !errors.Is(err, ErrConfig) {
		t.Errorf("nil evaluator: %v", err)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, got, "", "  "); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, got)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name+".json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (go test -update creates it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("event differs from %s\ngot:\n%s\nwant:\n%s", path, buf.Bytes(), want)
	}
}
