package evaluation_test

import (
	"encoding/json"
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

func TestReasonJSON(t *testing.T) {
	cases := []struct {
		r    evaluation.Reason
		want string
	}{
		{evaluation.Reason{}, `null`},
		{evaluation.OffReason(), `{"kind":"OFF"}`},
		{evaluation.FallthroughReason(false), `{"kind":"FALLTHROUGH"}`},
		{evaluation.FallthroughReason(true), `{"kind":"FALLTHROUGH","inExperiment":true}`},
		{evaluation.TargetMatchReason(), `{"kind":"TARGET_MATCH"}`},
		{evaluation.RuleMatchReason(0, "", false), `{"kind":"RULE_MATCH","ruleIndex":0}`},
		{evaluation.RuleMatchReason(2, "id\"x", true), `{"kind":"RULE_MATCH","ruleIndex":2,"ruleId":"id\"x","inExperiment":true}`},
		{evaluation.PrerequisiteFailedReason("p"), `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":"p"}`},
		{evaluation.ErrorReason(evaluation.ErrorWrongType), `{"kind":"ERROR","errorKind":"WRONG_TYPE"}`},
		{evaluation.Reason{Kind: evaluation.ReasonOff, BigSegmentsStatus: evaluation.BigSegmentsStale},
			`{"kind":"OFF","bigSegmentsStatus":"STALE"}`},
	}
	for _, tc := range cases {
		b, err := json.Marshal(tc.r)
		if err != nil || string(b) != tc.want {
			t.Errorf("Marshal(%#v) = %s, %v; want %s", tc.r, b, err, tc.want)
			continue
		}
		var back evaluation.Reason
		if err := json.Unmarshal(b, &back); err != nil || back != tc.r {
			t.Errorf("Unmarshal(%s) = %#v, %v", b, back, err)
		}
		if tc.r.String() != tc.want {
			t.Errorf("String() = %s, want %s", tc.r.String(), tc.want)
		}
	}
	for _, bad := range []string{`[]`, `{"kind":1}`, `{"kind":"RULE_MATCH","ruleIndex":1.5}`, `{"inExperiment":"yes"}`, `{`} {
		var r evaluation.Reason
		if err := json.Unmarshal([]byte(bad), &r); err == nil {
			t.Errorf("Unmarshal(%s) should fail", bad)
		}
	}
}

func TestDetailJSON(t *testing.T) {
	d := evaluation.Detail{Value: jsonvalue.String("x"), VariationIndex: 2, Reason: evaluation.TargetMatchReason()}
	b, _ := json.Marshal(d)
	if string(b) != `{"value":"x","variationIndex":2,"reason":{"kind":"TARGET_MATCH"}}` {
		t.Errorf("got %s", b)
	}
	d = evaluation.Detail{VariationIndex: evaluation.NoVariation, Reason: evaluation.OffReason()}
	b, _ = json.Marshal(d)
	if string(b) != `{"value":null,"reason":{"kind":"OFF"}}` {
		t.Errorf("got %s", b)
	}
}

func TestCheckTypeAndTypedDetail(t *testing.T) {
	num, str, b, null := jsonvalue.Float(1.5), jsonvalue.String("s"), jsonvalue.Bool(true), jsonvalue.Null()
	arr := jsonvalue.Array(num)
	cases := []struct {
		v    jsonvalue.Value
		want jsonvalue.Type
		ok   bool
	}{
		{num, jsonvalue.NumberType, true},
		{jsonvalue.Int(3), jsonvalue.NumberType, true},
		{str, jsonvalue.NumberType, false},
		{b, jsonvalue.BoolType, true},
		{num, jsonvalue.BoolType, false},
		{str, jsonvalue.StringType, true},
		{null, jsonvalue.StringType, false},
		{arr, jsonvalue.NullType, true},
		{null, jsonvalue.NullType, true},
		{arr, jsonvalue.ArrayType, true},
	}
	for _, tc := range cases {
		if got := evaluation.CheckType(tc.v, tc.want); got != tc.ok {
			t.Errorf("CheckType(%s, %s) = %v", tc.v, tc.want, got)
		}
	}
	def := jsonvalue.Bool(false)
	got := evaluation.TypedDetail(evaluation.Detail{Value: num, VariationIndex: 1, Reason: evaluation.FallthroughReason(false)},
		def, jsonvalue.BoolType)
	if !got.Value.Equal(def) || got.VariationIndex != -1 || got.Reason != evaluation.ErrorReason(evaluation.ErrorWrongType) {
		t.Errorf("wrong type: got %+v", got)
	}
	got = evaluation.TypedDetail(evaluation.Detail{VariationIndex: -1, Reason: evaluation.OffReason()}, def, jsonvalue.BoolType)
	if !got.Value.Equal(def) || got.Reason != evaluation.OffReason() {
		t.Errorf("no value: got %+v", got)
	}
	in := evaluation.Detail{Value: b, VariationIndex: 0, Reason: evaluation.TargetMatchReason()}
	if got := evaluation.TypedDetail(in, def, jsonvalue.BoolType); !got.Value.Equal(b) || got.VariationIndex != 0 ||
		got.Reason != in.Reason {
		t.Errorf("right type: got %+v", got)
	}
}
