package evaluation_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
)

// testData is a DataProvider built from JSON documents.
type testData struct {
	flags    map[string]*model.Flag
	segments map[string]*model.Segment
}

func newTestData() *testData {
	return &testData{flags: map[string]*model.Flag{}, segments: map[string]*model.Segment{}}
}

func (d *testData) Flag(_ context.Context, key string) *model.Flag {
	if f := d.flags[key]; f != nil && !f.Deleted {
		return f
	}
	return nil
}

func (d *testData) Segment(_ context.Context, key string) *model.Segment {
	if s := d.segments[key]; s != nil && !s.Deleted {
		return s
	}
	return nil
}

// flag decodes a flag document (failing the test on error) and adds it.
func (d *testData) flag(tb testing.TB, doc string) *model.Flag {
	tb.Helper()
	f, err := model.DecodeFlag([]byte(doc))
	if err != nil {
		tb.Fatalf("DecodeFlag: %v\n%s", err, doc)
	}
	d.flags[f.Key] = f
	return f
}

// segment decodes a segment document and adds it.
func (d *testData) segment(tb testing.TB, doc string) *model.Segment {
	tb.Helper()
	s, err := model.DecodeSegment([]byte(doc))
	if err != nil {
		tb.Fatalf("DecodeSegment: %v\n%s", err, doc)
	}
	d.segments[s.Key] = s
	return s
}

// ctx parses a context document.
func ctx(tb testing.TB, doc string) evalctx.Context {
	tb.Helper()
	c, err := evalctx.Parse([]byte(doc))
	if err != nil {
		tb.Fatalf("evalctx.Parse: %v\n%s", err, doc)
	}
	return c
}

// eval evaluates a flag of d.
func (d *testData) eval(tb testing.TB, flag *model.Flag, c evalctx.Context) evaluation.Result {
	tb.Helper()
	return evaluation.New(d, nil).Evaluate(context.Background(), flag, c)
}

// reasonJSON returns a result's reason as JSON text.
func reasonJSON(r evaluation.Reason) string {
	b, _ := r.MarshalJSON()
	return string(b)
}

// expect evaluates flag key for the context document and compares value
// (JSON), variation index and reason (JSON).
func (d *testData) expect(t *testing.T, ev *evaluation.Evaluator, key, contextDoc, value string, index int, reason string) evaluation.Result {
	t.Helper()
	f := d.flags[key]
	if f == nil {
		t.Fatalf("no flag %q", key)
	}
	r := ev.Evaluate(context.Background(), f, ctx(t, contextDoc))
	if got := r.Detail.Value.String(); got != value {
		t.Errorf("%s: value = %s, want %s", key, got, value)
	}
	if r.Detail.VariationIndex != index {
		t.Errorf("%s: variationIndex = %d, want %d", key, r.Detail.VariationIndex, index)
	}
	if got := reasonJSON(r.Detail.Reason); got != reason {
		t.Errorf("%s: reason = %s, want %s", key, got, reason)
	}
	return r
}

const (
	reasonOff         = `{"kind":"OFF"}`
	reasonFallthrough = `{"kind":"FALLTHROUGH"}`
	reasonTarget      = `{"kind":"TARGET_MATCH"}`
	reasonMalformed   = `{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}`
	userA             = `{"kind":"user","key":"a"}`
)

func ruleReason(i int, id string) string {
	return `{"kind":"RULE_MATCH","ruleIndex":` + strconv.Itoa(i) + `,"ruleId":"` + id + `"}`
}
