package writer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/writer"
)

// wtFlag is a valid flag's properties, to which a test adds or overrides
// some. Two variations.
const wtFlagBase = `"on": true, "variations": [false, true], "fallthrough": {"variation": 0}, "offVariation": 0`

func TestValidateErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       string // the only error, as Problem.String()
	}{
		{"decode error", "{\"flags\": {\"a\": {\n  \"on\": \"yes\"}}}",
			`v.json:2:9: flag "a": on: expected a boolean, got string`},
		{"decode error after inserted key", "{\"flags\": {\"a\": {\"variations\": [],\n  \"rules\": 7}}}",
			`v.json:2:12: flag "a": rules: expected an array, got number`},
		{"tombstone", `{"flags": {"a": {"deleted": true, "version": 3}}}`,
			`v.json:1:12: flag "a": is marked "deleted": true; remove it from the file instead`},
		{"off variation", `{"flags": {"a": {` + wtFlagBase + `, "offVariation": 2}}}`,
			`v.json:1:12: flag "a": offVariation: variation 2 is out of range (the flag has 2 variations)`},
		{"fallthrough variation", `{"flags": {"a": {"on": true, "variations": [1], "fallthrough": {"variation": -1}}}}`,
			`v.json:1:12: flag "a": fallthrough.variation: variation -1 is out of range (the flag has 1 variation)`},
		{"fallthrough missing on an on flag", `{"flags": {"a": {"on": true, "variations": [1]}}}`,
			`v.json:1:12: flag "a": fallthrough: neither a variation nor a rollout`},
		{"rollout variation", `{"flags": {"a": {` + wtFlagBase + `, "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 5, "weight": 50000}]}}}}}`,
			`v.json:1:12: flag "a": fallthrough.rollout.variations[1].variation: variation 5 is out of range (the flag has 2 variations)`},
		{"empty rollout", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "clauses": [], "rollout": {"variations": []}}]}}}`,
			`v.json:1:12: flag "a": rules[0].rollout: no variations (buckets)`},
		{"negative weight", `{"flags": {"a": {` + wtFlagBase + `, "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": -1}, {"variation": 1, "weight": 100001}]}}}}}`,
			`v.json:1:12: flag "a": fallthrough.rollout.variations[0].weight: -1 is negative`},
		{"target", `{"flags": {"a": {` + wtFlagBase + `, "targets": [{"values": ["u"], "variation": 3}]}}}`,
			`v.json:1:12: flag "a": targets[0]: variation 3 is out of range (the flag has 2 variations)`},
		{"context target", `{"flags": {"a": {` + wtFlagBase + `, "contextTargets": [{"contextKind": "org", "values": ["o"], "variation": 2}]}}}`,
			`v.json:1:12: flag "a": contextTargets[0]: variation 2 is out of range (the flag has 2 variations)`},
		{"rule variation", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "clauses": [], "variation": 9}]}}}`,
			`v.json:1:12: flag "a": rules[0].variation: variation 9 is out of range (the flag has 2 variations)`},
		{"rule without result", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "clauses": []}]}}}`,
			`v.json:1:12: flag "a": rules[0]: neither a variation nor a rollout`},
		{"clause without attribute", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "variation": 0, "clauses": [{"op": "in", "values": ["x"]}]}]}}}`,
			`v.json:1:12: flag "a": rules[0].clauses[0].attribute: clause has no attribute`},
		{"prerequisite variation", `{"flags": {"a": {` + wtFlagBase + `, "prerequisites": [{"key": "b", "variation": 1}]}, "b": {"on": true, "variations": ["x"], "fallthrough": {"variation": 0}}}}`,
			`v.json:1:12: flag "a": prerequisites[0]: requires variation 1 of flag "b", which has 1 variation`},
		{"self prerequisite", `{"flags": {"a": {` + wtFlagBase + `, "prerequisites": [{"key": "a", "variation": 1}]}}}`,
			`v.json:1:12: flag "a": prerequisite cycle: a -> a`},
		{"prerequisite cycle", "{\"flags\": {\n\"c\": {" + wtFlagBase + `, "prerequisites": [{"key": "a", "variation": 1}]},` +
			"\n\"a\": {" + wtFlagBase + `, "prerequisites": [{"key": "b", "variation": 1}]},` +
			"\n\"b\": {" + wtFlagBase + `, "prerequisites": [{"key": "c", "variation": 0}]}}}`,
			`v.json:3:1: flag "a": prerequisite cycle: a -> b -> c -> a`},
		{"segment cycle", `{"segments": {"s1": {"rules": [{"clauses": [{"op": "segmentMatch", "values": ["s2"]}]}]},` +
			`"s2": {"rules": [{"clauses": [{"op": "segmentMatch", "values": ["s1"]}]}]}}}`,
			`v.json:1:15: segment "s1": segment cycle (segmentMatch clauses): s1 -> s2 -> s1`},
		{"segment decode error", `{"segments": {"s": {"included": "u1"}}}`,
			`v.json:1:33: segment "s": included: expected an array, got string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := writer.Parse("v.json", []byte(tc.json))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = writer.Validate(d)
			if err == nil {
				t.Fatal("Validate succeeded")
			}
			ps := wtProblems(t, err)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			if len(got) != 1 || got[0] != tc.want {
				t.Errorf("problems\n got: %s\nwant: %s", strings.Join(got, "\n      "), tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       string
	}{
		{"missing prerequisite", `{"flags": {"a": {` + wtFlagBase + `, "prerequisites": [{"key": "nope", "variation": 0}]}}}`,
			`v.json:1:12: warning: flag "a": prerequisites[0]: flag "nope" is not defined (the prerequisite fails until it exists)`},
		{"missing segment", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "variation": 1, "clauses": [{"op": "segmentMatch", "values": ["beta"]}]}]}}}`,
			`v.json:1:12: warning: flag "a": rules[0].clauses[0]: segment "beta" is not defined (the clause does not match until it exists)`},
		{"segment value not a string", `{"segments": {"s": {"rules": [{"clauses": [{"op": "segmentMatch", "values": [3]}]}]}}}`,
			`v.json:1:15: warning: segment "s": rules[0].clauses[0]: segmentMatch value 3 is not a segment key (never matches)`},
		{"unknown operator", `{"flags": {"a": {` + wtFlagBase + `, "rules": [{"id": "r", "variation": 1, "clauses": [{"attribute": "x", "op": "isOneOf", "values": ["y"]}]}]}}}`,
			`v.json:1:12: warning: flag "a": rules[0].clauses[0].op: unknown operator "isOneOf" never matches`},
		{"weights", `{"flags": {"a": {` + wtFlagBase + `, "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 60000}, {"variation": 1, "weight": 30000}]}}}}}`,
			`v.json:1:12: warning: flag "a": fallthrough.rollout: weights add up to 90000, not 100000 (100%); the last bucket takes the rest`},
		{"big segment without generation", `{"segments": {"s": {"unbounded": true}}}`,
			`v.json:1:15: warning: segment "s": a big segment ("unbounded": true) without "generation" never matches (its status is NOT_CONFIGURED)`},
		{"off flag without fallthrough", `{"flags": {"a": {"on": false, "variations": [1]}}}`,
			`v.json:1:12: warning: flag "a": fallthrough: neither a variation nor a rollout (an error for LaunchDarkly's evaluator once the flag is turned on)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := writer.Parse("v.json", []byte(tc.json))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			ws, err := writer.Validate(d)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if len(ws) != 1 || ws[0].String() != tc.want {
				t.Errorf("warnings\n got: %v\nwant: %s", ws, tc.want)
			}
		})
	}
}

// TestValidateDiamond checks that a prerequisite reached twice is not a
// cycle.
func TestValidateDiamond(t *testing.T) {
	d, err := writer.Parse("v.json", []byte(`{"flags": {
		"top": {`+wtFlagBase+`, "prerequisites": [{"key": "l", "variation": 1}, {"key": "r", "variation": 1}]},
		"l": {`+wtFlagBase+`, "prerequisites": [{"key": "bottom", "variation": 1}]},
		"r": {`+wtFlagBase+`, "prerequisites": [{"key": "bottom", "variation": 1}]},
		"bottom": {`+wtFlagBase+`}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := writer.Validate(d); err != nil || len(ws) != 0 {
		t.Fatalf("Validate = %v, %v", ws, err)
	}
}

// chainDataset is a chain of n flags, f0 needing f1 needing ... f(n-1),
// whose last flag's rule matches a segment nested segs deep (none for 0).
func chainDataset(n, segs int) string {
	var b strings.Builder
	b.WriteString(`{"flags": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		extra := ""
		if i+1 < n {
			extra = `, "prerequisites": [{"key": "f` + itoa(i+1) + `", "variation": 0}]`
		} else if segs > 0 {
			extra = `, "rules": [{"id": "r", "variation": 0, "clauses": [{"op": "segmentMatch", "values": ["s0"]}]}]`
		}
		b.WriteString(`"f` + itoa(i) + `": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0}` + extra + `}`)
	}
	b.WriteString(`}, "segments": {`)
	for i := range segs {
		if i > 0 {
			b.WriteString(",")
		}
		rule := `"included": ["k"]`
		if i+1 < segs {
			rule = `"rules": [{"clauses": [{"op": "segmentMatch", "values": ["s` + itoa(i+1) + `"]}]}]`
		}
		b.WriteString(`"s` + itoa(i) + `": {` + rule + `}`)
	}
	b.WriteString("}}")
	return b.String()
}

// TestValidateChainDepthMatchesEvaluator: validation rejects exactly the
// chains the evaluator refuses (MALFORMED_FLAG for the chain's first flag),
// at the boundary of its nesting limit, for prerequisites alone and with
// nested segments at the end.
func TestValidateChainDepthMatchesEvaluator(t *testing.T) {
	ctx := context.Background()
	ec := evalctx.NewBuilder("k").Build()
	for _, tc := range []struct{ flags, segs int }{
		{writer.MaxNesting, 0}, {writer.MaxNesting + 1, 0}, {writer.MaxNesting + 2, 0},
		{writer.MaxNesting - 5, 5}, {writer.MaxNesting - 5, 6}, {writer.MaxNesting - 5, 7},
		{1, writer.MaxNesting}, {1, writer.MaxNesting + 1},
	} {
		d := wtParse(t, "c.json", chainDataset(tc.flags, tc.segs))
		_, err := writer.Validate(d)
		data := &chainData{flags: map[string]*model.Flag{}, segments: map[string]*model.Segment{}}
		for k, it := range d.Flags {
			f, derr := model.DecodeFlag(it.Data)
			if derr != nil {
				t.Fatal(derr)
			}
			data.flags[k] = f
		}
		for k, it := range d.Segments {
			s, derr := model.DecodeSegment(it.Data)
			if derr != nil {
				t.Fatal(derr)
			}
			data.segments[k] = s
		}
		res := evaluation.New(data, nil).Evaluate(ctx, data.flags["f0"], ec)
		malformed := res.Detail.Reason.ErrorKind == evaluation.ErrorMalformedFlag
		if malformed != (err != nil) {
			t.Errorf("%d flags, %d nested segments: evaluator malformed=%v, Validate error %v", tc.flags, tc.segs, malformed, err)
		}
		if err != nil && !strings.Contains(err.Error(), `flag "f0": prerequisite chain of `+itoa(tc.flags)+` flags`) {
			t.Errorf("%d flags, %d segments: error %v does not name the chain", tc.flags, tc.segs, err)
		}
	}
	// A long chain is named by its ends, once.
	_, err := writer.Validate(wtParse(t, "c.json", chainDataset(2000, 0)))
	ps := wtProblems(t, err)
	if len(ps) != 1 || !strings.Contains(ps[0].Message, "f0 -> f1 -> f2 -> ... (1994 more) ... -> f1997 -> f1998 -> f1999") {
		t.Fatalf("problems %v", ps)
	}
}

type chainData struct {
	flags    map[string]*model.Flag
	segments map[string]*model.Segment
}

func (d *chainData) Flag(_ context.Context, key string) *model.Flag       { return d.flags[key] }
func (d *chainData) Segment(_ context.Context, key string) *model.Segment { return d.segments[key] }

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
