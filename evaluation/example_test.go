package evaluation_test

import (
	"context"
	"fmt"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// exampleData is the smallest DataProvider: one flag, one segment.
type exampleData struct {
	flag    *model.Flag
	segment *model.Segment
}

func (d exampleData) Flag(_ context.Context, key string) *model.Flag {
	if key == d.flag.Key {
		return d.flag
	}
	return nil
}

func (d exampleData) Segment(_ context.Context, key string) *model.Segment {
	if key == d.segment.Key {
		return d.segment
	}
	return nil
}

func ExampleEvaluator_Evaluate() {
	flag, _ := model.DecodeFlag([]byte(`{"key":"new-checkout","on":true,"variations":["old","new"],
		"fallthrough":{"variation":0},
		"rules":[{"id":"staff","variation":1,"clauses":[{"op":"segmentMatch","values":["staff"]}]}]}`))
	staff, _ := model.DecodeSegment([]byte(`{"key":"staff","included":["ada"]}`))
	ev := evaluation.New(exampleData{flag, staff}, nil)

	for _, key := range []string{"ada", "bob"} {
		r := ev.Evaluate(context.Background(), flag, evalctx.New(key))
		fmt.Println(key, r.Detail.Value, r.Detail.VariationIndex, r.Detail.Reason)
	}
	// A typed (string) variation call: the value has the right type.
	d := evaluation.TypedDetail(ev.Evaluate(context.Background(), flag, evalctx.New("ada")).Detail,
		jsonvalue.String("default"), jsonvalue.StringType)
	fmt.Println(d.Value.Str())
	// Output:
	// ada "new" 1 {"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"staff"}
	// bob "old" 0 {"kind":"FALLTHROUGH"}
	// new
}
