package evaluation_test

import (
	"context"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// fuzzData serves the fuzzed flag for every flag key and the fuzzed segment
// for every segment key, so prerequisites and segment references always
// resolve, and cycles are everywhere.
type fuzzData struct {
	flag    *model.Flag
	segment *model.Segment
}

func (d fuzzData) Flag(context.Context, string) *model.Flag       { return d.flag }
func (d fuzzData) Segment(context.Context, string) *model.Segment { return d.segment }

type fuzzBig struct{}

func (fuzzBig) Membership(_ context.Context, key string) (evaluation.Membership, evaluation.BigSegmentsStatus) {
	if key == "" {
		return nil, evaluation.BigSegmentsStoreError
	}
	return staticMembership{key + ".g1": true, key + ".g2": false}, evaluation.BigSegmentsHealthy
}

// FuzzEvaluate evaluates a decoded flag (with a decoded segment) against a
// decoded context: it must not panic, and the result must be consistent.
// The seed corpus is in testdata/fuzz/FuzzEvaluate.
func FuzzEvaluate(f *testing.F) {
	f.Add([]byte(`{"key":"f","on":true,"variations":[1,2],"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}},"prerequisites":[{"key":"x","variation":0}]}`),
		[]byte(`{"key":"s","rules":[{"clauses":[{"op":"segmentMatch","values":["s"]}]}]}`),
		[]byte(`{"kind":"user","key":"k","a":[1,"x"]}`))
	f.Add([]byte(`{"key":"f","on":true,"variations":[true,false],"fallthrough":{"variation":1},"rules":[{"variation":0,"clauses":[{"attribute":"","op":"segmentMatch","values":["s"]}]}]}`),
		[]byte(`{"key":"s","unbounded":true,"generation":1,"rules":[{"clauses":[],"weight":1000,"rolloutContextKind":"org"}]}`),
		[]byte(`{"kind":"multi","user":{"key":"u"},"org":{"key":"o","n":5}}`))
	f.Fuzz(func(t *testing.T, flagDoc, segmentDoc, contextDoc []byte) {
		flag, err := model.DecodeFlag(flagDoc)
		if err != nil {
			return
		}
		seg, _ := model.DecodeSegment(segmentDoc) // nil when invalid: unknown segments
		c, _ := evalctx.Parse(contextDoc)         // invalid contexts are values too
		for _, big := range []evaluation.BigSegmentProvider{nil, fuzzBig{}} {
			ev := evaluation.New(fuzzData{flag: flag, segment: seg}, big)
			events := 0
			r := ev.EvaluateWithRecorder(context.Background(), flag, c, func(evaluation.PrerequisiteEvent) { events++ })
			d := r.Detail
			if d.Reason.Kind == "" {
				t.Fatal("empty reason kind")
			}
			if d.VariationIndex >= 0 {
				if d.VariationIndex >= len(flag.Variations) || !d.Value.Equal(flag.Variations[d.VariationIndex]) {
					t.Fatalf("value %s does not match variation %d", d.Value, d.VariationIndex)
				}
			} else if !d.Value.IsNull() {
				t.Fatalf("no variation but value %s", d.Value)
			}
			if len(r.Prerequisites) > len(flag.Prerequisites) || len(r.Prerequisites) > events {
				t.Fatalf("%d prerequisites reported, %d events", len(r.Prerequisites), events)
			}
			b, _ := d.Reason.MarshalJSON()
			if _, err := jsonvalue.Parse(b); err != nil {
				t.Fatalf("reason JSON: %v: %s", err, b)
			}
			if d.Reason.Kind == evaluation.ReasonError && d.Reason.ErrorKind == "" {
				t.Fatal("error without kind")
			}
		}
	})
}
