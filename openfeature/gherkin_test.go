package openfeature

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
)

type scenario struct {
	Name      string
	Flag      string
	Type      string
	Default   any
	Context   map[string]any
	Value     any
	Variant   string
	Reason    string
	ErrorCode string
	Metadata  map[string]any
}

func loadScenarios(t *testing.T) []scenario {
	t.Helper()
	data, err := os.ReadFile("testdata/evaluation-scenarios.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Scenarios []scenario }
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Scenarios
}

// evalContext builds the SDK's evaluation context of a scenario (default:
// targeting key "user-1").
func (s scenario) evalContext() of.EvaluationContext {
	if s.Context == nil {
		return of.NewTargetlessEvaluationContext(map[string]any{"targetingKey": "user-1"})
	}
	attrs := map[string]any{}
	key := ""
	for k, v := range s.Context {
		if k == "targetingKey" {
			key, _ = v.(string)
			continue
		}
		if n, ok := v.(float64); ok && n == float64(int(n)) {
			v = int(n) // what a Go caller would pass
		}
		attrs[k] = v
	}
	if key == "" {
		return of.NewTargetlessEvaluationContext(attrs)
	}
	return of.NewEvaluationContext(key, attrs)
}

// evaluate runs the scenario through the SDK client and returns the value
// (numbers as float64, objects as decoded JSON) and the details.
func (s scenario) evaluate(ctx context.Context, c *of.Client) (any, of.EvaluationDetails, error) {
	ec := s.evalContext()
	switch s.Type {
	case "boolean":
		d, err := c.BooleanValueDetails(ctx, s.Flag, s.Default.(bool), ec)
		return d.Value, d.EvaluationDetails, err
	case "string":
		d, err := c.StringValueDetails(ctx, s.Flag, s.Default.(string), ec)
		return d.Value, d.EvaluationDetails, err
	case "integer":
		d, err := c.IntValueDetails(ctx, s.Flag, int64(s.Default.(float64)), ec)
		return float64(d.Value), d.EvaluationDetails, err
	case "float":
		d, err := c.FloatValueDetails(ctx, s.Flag, s.Default.(float64), ec)
		return d.Value, d.EvaluationDetails, err
	default:
		d, err := c.ObjectValueDetails(ctx, s.Flag, s.Default, ec)
		return d.Value, d.EvaluationDetails, err
	}
}

// TestGherkinEvaluation runs OpenFeature's Gherkin evaluation scenarios,
// re-expressed as LaunchDarkly flag data (testdata/), through the real SDK.
func TestGherkinEvaluation(t *testing.T) {
	f := newFixture(t, Options{}, "testdata/evaluation-flags.json")
	f.upsertRaw(t, "testdata/malformed-flags.json")
	f.start(t)
	for _, s := range loadScenarios(t) {
		t.Run(s.Name, func(t *testing.T) {
			v, d, err := s.evaluate(context.Background(), f.client)
			if !reflect.DeepEqual(normalize(v), normalize(s.Value)) {
				t.Errorf("value = %#v, want %#v", v, s.Value)
			}
			if d.Variant != s.Variant {
				t.Errorf("variant = %q, want %q", d.Variant, s.Variant)
			}
			if string(d.Reason) != s.Reason {
				t.Errorf("reason = %q, want %q", d.Reason, s.Reason)
			}
			if string(d.ErrorCode) != s.ErrorCode {
				t.Errorf("error code = %q (%s), want %q", d.ErrorCode, d.ErrorMessage, s.ErrorCode)
			}
			if (err != nil) != (s.ErrorCode != "") {
				t.Errorf("err = %v, want an error: %v", err, s.ErrorCode != "")
			}
			if s.ErrorCode != "" && d.ErrorMessage == "" {
				t.Error("an error without a message")
			}
			for k, want := range s.Metadata {
				got, ok := d.FlagMetadata[k]
				if !ok || !reflect.DeepEqual(normalize(got), normalize(want)) {
					t.Errorf("metadata[%q] = %#v, want %#v (metadata %v)", k, got, want, d.FlagMetadata)
				}
			}
		})
	}
}

// normalize makes numbers float64, so JSON fixtures compare with Go values.
func normalize(v any) any {
	switch t := v.(type) {
	case int:
		return float64(t)
	case int64:
		return float64(t)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = normalize(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = normalize(e)
		}
		return s
	}
	return v
}
