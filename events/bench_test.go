package events

import (
	"log/slog"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// BenchmarkRecordEvaluationSummaryNoAlloc is the processor's whole cost for
// an evaluation of a flag without trackEvents: the summary count and the
// context check. It must not allocate.
func BenchmarkRecordEvaluationSummaryNoAlloc(b *testing.B) {
	p, err := New(Config{Sink: &memSink{}, FlushInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(b.Context())
	f := mustFlag(b, untrackedFlag)
	ev := Evaluation{FlagKey: f.Key, Flag: f, Context: mustContext(b, userJSON),
		Detail: detail(jsonvalue.Bool(true), 1, evaluation.FallthroughReason(false)), Default: jsonvalue.Bool(false)}
	p.RecordEvaluation(&ev)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.RecordEvaluation(&ev)
	}
}

// BenchmarkRecordEvaluationFull records a full feature event per call.
func BenchmarkRecordEvaluationFull(b *testing.B) {
	p, err := New(Config{Sink: &memSink{}, FlushInterval: 50 * time.Millisecond, Capacity: 1 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(b.Context())
	f := mustFlag(b, trackedFlag)
	ev := Evaluation{FlagKey: f.Key, Flag: f, Context: mustContext(b, userJSON),
		Detail: detail(jsonvalue.String("a"), 0, evaluation.FallthroughReason(false)), Default: jsonvalue.String("z")}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		p.RecordEvaluation(&ev)
	}
}
