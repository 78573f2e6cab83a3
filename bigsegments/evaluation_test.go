package bigsegments_test

import (
	"context"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// The flag matches its rule for members of the big segment "big".
const (
	bigFlagJSON = `{"key":"flag","version":1,"on":true,"salt":"s",
		"variations":[false,true],"offVariation":0,"fallthrough":{"variation":0},
		"rules":[{"id":"r","variation":1,"clauses":[{"attribute":"key","op":"segmentMatch","values":["big"]}]}]}`
	bigSegmentJSON = `{"key":"big","version":1,"unbounded":true,"generation":3,"salt":"s"}`
)

type segmentData struct{ seg *model.Segment }

func (segmentData) Flag(context.Context, string) *model.Flag { return nil }
func (d segmentData) Segment(_ context.Context, key string) *model.Segment {
	if key == d.seg.Key {
		return d.seg
	}
	return nil
}

func newBigSegmentEvaluator(t testing.TB, m evaluation.BigSegmentProvider) (*evaluation.Evaluator, *model.Flag) {
	t.Helper()
	f, err := model.DecodeFlag([]byte(bigFlagJSON))
	if err != nil {
		t.Fatal(err)
	}
	s, err := model.DecodeSegment([]byte(bigSegmentJSON))
	if err != nil {
		t.Fatal(err)
	}
	return evaluation.New(segmentData{s}, m), f
}

// TestEvaluatorWithManager runs the evaluator over a Manager on each store.
func TestEvaluatorWithManager(t *testing.T) {
	forEachBackend(t, func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter) {
		ref := store.SegmentRef("big", 3)
		apply(t, w, include("alice", ref), exclude("bob", ref), include("carol", "big.g2"))
		touch(t, w, time.Now())
		p := &probe{BigSegmentReader: r}
		m := newManager(t, bigsegments.Options{Store: p})
		e, f := newBigSegmentEvaluator(t, m)

		for _, c := range []struct {
			key    string
			want   evaluation.ReasonKind
			status evaluation.BigSegmentsStatus
		}{
			{"alice", evaluation.ReasonRuleMatch, evaluation.BigSegmentsHealthy},
			{"bob", evaluation.ReasonFallthrough, evaluation.BigSegmentsHealthy},
			{"carol", evaluation.ReasonFallthrough, evaluation.BigSegmentsHealthy}, // another generation
			{"dave", evaluation.ReasonFallthrough, evaluation.BigSegmentsHealthy},
		} {
			res := e.Evaluate(context.Background(), f, evalctx.New(c.key))
			if got := res.Detail.Reason; got.Kind != c.want || got.BigSegmentsStatus != c.status {
				t.Errorf("%s: reason %+v, want %s with %s", c.key, got, c.want, c.status)
			}
		}
		// A context of another kind is not looked up.
		before := p.reads.Load()
		e.Evaluate(context.Background(), f, evalctx.NewWithKind("org", "alice-org"))
		if p.reads.Load() != before {
			t.Error("a context of another kind was looked up")
		}

		p.failMembership.Store(true)
		res := e.Evaluate(context.Background(), f, evalctx.New("erin"))
		if got := res.Detail.Reason; got.Kind != evaluation.ReasonFallthrough || got.BigSegmentsStatus != evaluation.BigSegmentsStoreError {
			t.Errorf("failing store: reason %+v, want FALLTHROUGH with STORE_ERROR", got)
		}
	})
}

// BenchmarkEvaluateBigSegmentCachedNoAlloc is an evaluation whose big-segment
// membership is cached: the issue's "cached membership lookup inside an
// evaluation", which should not allocate.
func BenchmarkEvaluateBigSegmentCachedNoAlloc(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, r store.BigSegmentReader) {
		m, err := bigsegments.New(bigsegments.Options{Store: r, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		e, f := newBigSegmentEvaluator(b, m)
		ctx := context.Background()
		ec := evalctx.New("alice")
		e.Evaluate(ctx, f, ec)
		b.ReportAllocs()
		for b.Loop() {
			e.Evaluate(ctx, f, ec)
		}
	})
}
