package events

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

const (
	untrackedFlag = `{"key":"untracked","version":3,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"salt":"s"}`
	trackedFlag   = `{"key":"tracked","version":7,"on":true,"variations":["a","b"],"fallthrough":{"variation":0},"trackEvents":true,"salt":"s"}`
	excludedFlag  = `{"key":"excluded","version":1,"on":true,"variations":[1,2],"fallthrough":{"variation":0},"excludeFromSummaries":true,"trackEvents":true}`
	sampledFlag   = `{"key":"sampled-out","version":1,"on":true,"variations":[1,2],"fallthrough":{"variation":0},"samplingRatio":0,"trackEvents":true}`
	userJSON      = `{"kind":"user","key":"u1","name":"Ann","email":"ann@example.com"}`
)

// scenario records events into a processor writing to a memory sink, on a
// fake clock, and returns the one payload the flush produced.
func scenario(t *testing.T, cfg Config, record func(p *Processor)) []byte {
	t.Helper()
	var body []byte
	synctest.Test(t, func(t *testing.T) {
		sink := &memSink{}
		cfg.Sink = sink
		cfg.FlushInterval = time.Hour
		p, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		record(p)
		if !p.FlushAndWait(time.Minute) {
			t.Fatal("flush did not finish")
		}
		if err := p.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := sink.all()
		if len(got) != 1 {
			t.Fatalf("got %d payloads, want 1", len(got))
		}
		body = got[0].Events
	})
	return body
}

func TestGoldenPayloads(t *testing.T) {
	fall := evaluation.FallthroughReason(false)
	cases := []struct {
		name   string
		cfg    Config
		record func(t *testing.T, p *Processor)
	}{
		{"summary-and-index", Config{}, func(t *testing.T, p *Processor) {
			f := mustFlag(t, untrackedFlag)
			ec := mustContext(t, userJSON)
			for range 3 {
				p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, fall), Default: jsonvalue.Bool(false)})
			}
			org := mustContext(t, `{"kind":"org","key":"o1"}`)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: org, Detail: detail(jsonvalue.Bool(false), evaluation.NoVariation, evaluation.ErrorReason(evaluation.ErrorWrongType)), Default: jsonvalue.Bool(false)})
		}},
		{"unknown-flag", Config{}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: "nope", Context: ec, Detail: detail(jsonvalue.String("dflt"), evaluation.NoVariation, evaluation.ErrorReason(evaluation.ErrorFlagNotFound)), Default: jsonvalue.String("dflt")})
		}},
		{"feature-tracked", Config{}, func(t *testing.T, p *Processor) {
			f := mustFlag(t, trackedFlag)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.String("a"), 0, fall), Default: jsonvalue.String("z")})
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.String("a"), 0, fall), Default: jsonvalue.String("z"), WithReason: true})
		}},
		{"feature-experiment", Config{}, func(t *testing.T, p *Processor) {
			f := mustFlag(t, untrackedFlag)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, evaluation.FallthroughReason(true)), Default: jsonvalue.Bool(false), IsExperiment: true})
		}},
		{"feature-prerequisite", Config{}, func(t *testing.T, p *Processor) {
			pre := mustFlag(t, trackedFlag)
			f := mustFlag(t, untrackedFlag)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: pre.Key, Flag: pre, Context: ec, Detail: detail(jsonvalue.String("a"), 0, fall), PrereqOf: f.Key})
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, fall), Default: jsonvalue.Bool(false)})
		}},
		{"debug", Config{}, func(t *testing.T, p *Processor) {
			until := time.Now().Add(time.Hour).UnixMilli()
			f := mustFlag(t, `{"key":"debugged","version":2,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"debugEventsUntilDate":`+itoa(until)+`}`)
			past := mustFlag(t, `{"key":"debug-over","version":2,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"debugEventsUntilDate":1}`)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, fall), Default: jsonvalue.Bool(false)})
			p.RecordEvaluation(&Evaluation{FlagKey: past.Key, Flag: past, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, fall), Default: jsonvalue.Bool(false)})
		}},
		{"exclude-and-sampling", Config{}, func(t *testing.T, p *Processor) {
			ex := mustFlag(t, excludedFlag)
			so := mustFlag(t, sampledFlag)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: ex.Key, Flag: ex, Context: ec, Detail: detail(jsonvalue.Int(1), 0, fall), Default: jsonvalue.Int(0)})
			p.RecordEvaluation(&Evaluation{FlagKey: so.Key, Flag: so, Context: ec, Detail: detail(jsonvalue.Int(1), 0, fall), Default: jsonvalue.Int(0)})
		}},
		{"identify-custom", Config{}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, userJSON)
			p.RecordIdentify(ec)
			multi := mustContext(t, `{"kind":"multi","user":{"key":"u2"},"org":{"key":"o:1"}}`)
			m := 2.5
			p.RecordCustom(Custom{Key: "clicked", Context: ec})
			p.RecordCustom(Custom{Key: "bought", Context: multi, Data: jsonvalue.Object(map[string]jsonvalue.Value{"sku": jsonvalue.String("x")})})
			p.RecordCustom(Custom{Key: "latency", Context: multi, MetricValue: &m})
		}},
		{"redact-private", Config{PrivateAttributes: []string{"email", "/address/street"}}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, `{"kind":"user","key":"u1","name":"Ann","email":"a@x","phone":"1","address":{"street":"Main","city":"Oslo"},"_meta":{"privateAttributes":["phone","/address/zip","name"]}}`)
			p.RecordIdentify(ec)
		}},
		{"redact-all", Config{AllAttributesPrivate: true}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, `{"kind":"user","key":"u1","name":"Ann","anonymous":true,"email":"a@x","/odd":1}`)
			p.RecordIdentify(ec)
		}},
		{"redact-multi", Config{PrivateAttributes: []string{"email"}}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, `{"kind":"multi","user":{"key":"u1","email":"a@x","tier":"gold","_meta":{"privateAttributes":["tier"]}},"org":{"key":"o1","email":"o@x","tier":"big"}}`)
			p.RecordIdentify(ec)
		}},
		{"redact-anonymous-feature", Config{}, func(t *testing.T, p *Processor) {
			f := mustFlag(t, trackedFlag)
			ec := mustContext(t, `{"kind":"user","key":"anon","anonymous":true,"name":"Ann","email":"a@x"}`)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.String("a"), 0, fall), Default: jsonvalue.String("z")})
		}},
		{"raw-with-context", Config{}, func(t *testing.T, p *Processor) {
			ec := mustContext(t, `{"kind":"user","key":"anon","anonymous":true,"name":"Ann"}`)
			p.RecordRaw([]byte(`{"kind":"migration_op","operation":"read"}`), ec)
			p.RecordRaw([]byte(`{}`), ec)
		}},
		{"unsummarized", Config{Unsummarized: true}, func(t *testing.T, p *Processor) {
			f := mustFlag(t, trackedFlag)
			u := mustFlag(t, untrackedFlag)
			ec := mustContext(t, userJSON)
			p.RecordEvaluation(&Evaluation{FlagKey: f.Key, Flag: f, Context: ec, Detail: detail(jsonvalue.String("a"), 0, fall), Default: jsonvalue.String("z")})
			p.RecordEvaluation(&Evaluation{FlagKey: u.Key, Flag: u, Context: ec, Detail: detail(jsonvalue.Bool(true), 1, fall), Default: jsonvalue.Bool(false)})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body := scenario(t, tc.cfg, func(p *Processor) { tc.record(t, p) })
			golden(t, tc.name, body)
		})
	}
}
