package evaluation_test

import (
	"context"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
)

// clockedData is testData as a ClockedProvider with a fake clock: every
// reading of Now advances it, and it records the reading each lookup got.
type clockedData struct {
	*testData
	clock   int64
	reads   int
	lookups []int64 // the now of each lookup
	waitOn  string  // a key whose lookup "waits": it returns a new reading
}

func (d *clockedData) Now() int64 {
	d.reads++
	d.clock += 10
	return d.clock
}

func (d *clockedData) FlagAt(ctx context.Context, key string, now int64) (*model.Flag, int64) {
	d.lookups = append(d.lookups, now)
	if key == d.waitOn {
		return d.Flag(ctx, key), d.Now()
	}
	return d.Flag(ctx, key), now
}

func (d *clockedData) SegmentAt(ctx context.Context, key string, now int64) (*model.Segment, int64) {
	d.lookups = append(d.lookups, now)
	return d.Segment(ctx, key), now
}

func TestClockedProviderReadsTheClockOncePerEvaluation(t *testing.T) {
	d := &clockedData{testData: newTestData()}
	top := d.flag(t, `{"key":"top","on":true,"variations":[false,true],"fallthrough":{"variation":1},
		"prerequisites":[{"key":"p1","variation":1},{"key":"p2","variation":1}],
		"rules":[{"id":"r","variation":0,"clauses":[{"op":"segmentMatch","values":["s"]}]}]}`)
	d.flag(t, `{"key":"p1","on":true,"variations":[false,true],"fallthrough":{"variation":1}}`)
	d.flag(t, `{"key":"p2","on":true,"variations":[false,true],"fallthrough":{"variation":1}}`)
	d.segment(t, `{"key":"s","included":["someone-else"]}`)
	ev := evaluation.New(d, nil)
	c := ctx(t, `{"kind":"user","key":"k"}`)

	// Evaluate reads the clock once, at the first lookup.
	res := ev.Evaluate(context.Background(), top, c)
	if res.Detail.Value.Bool() != true || res.Detail.Reason.Kind != evaluation.ReasonFallthrough {
		t.Fatalf("result %+v", res.Detail)
	}
	if d.reads != 1 || len(d.lookups) != 3 || d.lookups[0] != 10 || d.lookups[1] != 10 || d.lookups[2] != 10 {
		t.Fatalf("Evaluate: %d clock reads, lookups at %v; want 1 read, 3 lookups at 10", d.reads, d.lookups)
	}

	// EvaluateAt uses the caller's reading and reads no clock.
	d.reads, d.lookups = 0, nil
	ev.EvaluateAt(context.Background(), top, c, 5, nil, &res)
	if d.reads != 0 || len(d.lookups) != 3 || d.lookups[0] != 5 || d.lookups[2] != 5 {
		t.Fatalf("EvaluateAt: %d clock reads, lookups at %v; want none, 3 lookups at 5", d.reads, d.lookups)
	}

	// So does EvaluateDetailAt, with the same detail.
	d.reads, d.lookups = 0, nil
	var only evaluation.Detail
	ev.EvaluateDetailAt(context.Background(), top, c, 7, &only)
	if d.reads != 0 || len(d.lookups) != 3 || d.lookups[0] != 7 || d.lookups[2] != 7 {
		t.Fatalf("EvaluateDetailAt: %d clock reads, lookups at %v; want none, 3 lookups at 7", d.reads, d.lookups)
	}
	if !only.Value.Equal(res.Detail.Value) || only.VariationIndex != res.Detail.VariationIndex || only.Reason != res.Detail.Reason {
		t.Fatalf("EvaluateDetailAt: %+v, EvaluateAt: %+v", only, res.Detail)
	}

	ev.EvaluateDetailAt(context.Background(), nil, c, 7, &only)
	if only.Reason.ErrorKind != evaluation.ErrorFlagNotFound || only.VariationIndex != evaluation.NoVariation {
		t.Fatalf("EvaluateDetailAt of no flag: %+v", only)
	}
	ev.EvaluateDetailAt(context.Background(), top, evalctx.Context{}, 7, &only)
	if only.Reason.ErrorKind != evaluation.ErrorUserNotSpecified || only.VariationIndex != evaluation.NoVariation {
		t.Fatalf("EvaluateDetailAt for an invalid context: %+v", only)
	}

	// A lookup that waited hands a new reading to the lookups after it.
	d.reads, d.lookups, d.waitOn = 0, nil, "p1"
	ev.EvaluateAt(context.Background(), top, c, 5, nil, &res)
	if len(d.lookups) != 3 || d.lookups[0] != 5 || d.lookups[1] != d.clock || d.lookups[2] != d.clock {
		t.Fatalf("after a wait: lookups at %v, want 5 then %d", d.lookups, d.clock)
	}

	// A flag without prerequisites or segments reads no clock at all.
	d.reads, d.lookups = 0, nil
	ev.Evaluate(context.Background(), d.flags["p1"], c)
	if d.reads != 0 || len(d.lookups) != 0 {
		t.Fatalf("a flag with no lookups read the clock %d times", d.reads)
	}
}
