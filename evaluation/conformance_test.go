package evaluation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// TestConformance runs LaunchDarkly's data-driven server-side evaluation
// tests (sdk-test-harness data files) from the folder named by
// DAEMONFLAG_CONFORMANCE_DIR. The format and the checks are described in
// that folder's README: text expansion of constants and parameters, then
// for each evaluation the typed value, the detail (value, variation index,
// reason as JSON) and the all-flags value, and again with every single
// user context in the old user format.
func TestConformance(t *testing.T) {
	dir := os.Getenv("DAEMONFLAG_CONFORMANCE_DIR")
	if dir == "" {
		t.Skip("DAEMONFLAG_CONFORMANCE_DIR is not set; the conformance data is not part of the project (see README)")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("conformance folder: %v", err)
	}
	var files []string
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".yml", ".yaml", ".json":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		t.Fatalf("conformance folder %s holds no test files", dir)
	}
	sort.Strings(files)

	total, passed, suites := 0, 0, 0
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		texts, err := expandSuiteText(string(raw))
		if err != nil {
			t.Errorf("%s: %v", filepath.Base(file), err)
			continue
		}
		for _, text := range texts {
			var s conformanceSuite
			if err := yaml.Unmarshal([]byte(text), &s); err != nil {
				t.Errorf("%s: expanded suite does not parse: %v", filepath.Base(file), err)
				continue
			}
			suites++
			n, ok := s.run(t, filepath.Base(file))
			total += n
			passed += ok
		}
	}
	t.Logf("conformance data: %d suites from %d files in %s", suites, len(files), dir)
	t.Logf("conformance: %d/%d evaluations passed", passed, total)
	if passed != total {
		t.Errorf("conformance: %d of %d evaluations failed", total-passed, total)
	}
}

// expandSuiteText applies the README's text expansion: it returns one text
// per parameter set (or combination of parameter sets), with constants,
// then parameters, then constants again substituted.
func expandSuiteText(raw string) ([]string, error) {
	var head struct {
		Constants  map[string]any `yaml:"constants"`
		Parameters []any          `yaml:"parameters"`
	}
	if err := yaml.Unmarshal([]byte(raw), &head); err != nil {
		return nil, fmt.Errorf("reading constants and parameters: %w", err)
	}
	combos, err := parameterCombinations(head.Parameters)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, params := range combos {
		text, err := substitute(raw, head.Constants)
		if err != nil {
			return nil, err
		}
		if text, err = substitute(text, params); err != nil {
			return nil, err
		}
		if text, err = substitute(text, head.Constants); err != nil {
			return nil, err
		}
		out = append(out, text)
	}
	return out, nil
}

// parameterCombinations turns "parameters" into the list of parameter sets:
// a list of maps is used as is; a list of lists of maps gives the cartesian
// product (each combination merges one map from every list).
func parameterCombinations(params []any) ([]map[string]any, error) {
	if len(params) == 0 {
		return []map[string]any{{}}, nil
	}
	if _, isList := params[0].([]any); !isList {
		var out []map[string]any
		for i, p := range params {
			m, ok := p.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("parameters[%d] is not a map", i)
			}
			out = append(out, m)
		}
		return out, nil
	}
	combos := []map[string]any{{}}
	for i, p := range params {
		list, ok := p.([]any)
		if !ok {
			return nil, fmt.Errorf("parameters[%d] is not a list", i)
		}
		var next []map[string]any
		for _, c := range combos {
			for j, item := range list {
				m, ok := item.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("parameters[%d][%d] is not a map", i, j)
				}
				merged := make(map[string]any, len(c)+len(m))
				for k, v := range c {
					merged[k] = v
				}
				for k, v := range m {
					merged[k] = v
				}
				next = append(next, merged)
			}
		}
		combos = next
	}
	return combos, nil
}

// substitute replaces "<NAME>" (with its quotes) by the JSON encoding of
// the value, and a bare <NAME> by the value itself when it is a string or
// its JSON otherwise. Undefined placeholders stay as they are.
func substitute(text string, values map[string]any) (string, error) {
	names := make([]string, 0, len(values))
	for k := range values {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		enc, err := marshalNoEscape(values[name])
		if err != nil {
			return "", fmt.Errorf("encoding %s: %w", name, err)
		}
		text = strings.ReplaceAll(text, `"<`+name+`>"`, enc)
		bare := enc
		if s, ok := values[name].(string); ok {
			bare = s
		}
		text = strings.ReplaceAll(text, "<"+name+">", bare)
	}
	return text, nil
}

// marshalNoEscape encodes JSON without escaping '<', '>' and '&', so
// placeholders inside substituted values survive for the next pass.
func marshalNoEscape(v any) (string, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

type conformanceSuite struct {
	Name                 string `yaml:"name"`
	RequireCapability    string `yaml:"requireCapability"`
	SkipEvaluateAllFlags bool   `yaml:"skipEvaluateAllFlags"`
	SDKData              struct {
		Flags    map[string]map[string]any `yaml:"flags"`
		Segments map[string]map[string]any `yaml:"segments"`
	} `yaml:"sdkData"`
	Evaluations []conformanceEvaluation `yaml:"evaluations"`
}

type conformanceEvaluation struct {
	Name      string `yaml:"name"`
	FlagKey   string `yaml:"flagKey"`
	Context   any    `yaml:"context"`
	User      any    `yaml:"user"`
	ValueType string `yaml:"valueType"`
	Default   any    `yaml:"default"`
	Expect    struct {
		Value          any  `yaml:"value"`
		VariationIndex *int `yaml:"variationIndex"`
		Reason         any  `yaml:"reason"`
	} `yaml:"expect"`
}

// mapData is a DataProvider over the suite's decoded flags and segments.
type mapData struct {
	flags    map[string]*model.Flag
	segments map[string]*model.Segment
}

func (m *mapData) Flag(_ context.Context, key string) *model.Flag {
	if f := m.flags[key]; f != nil && !f.Deleted {
		return f
	}
	return nil
}

func (m *mapData) Segment(_ context.Context, key string) *model.Segment {
	if s := m.segments[key]; s != nil && !s.Deleted {
		return s
	}
	return nil
}

// itemJSON encodes an sdkData item with its key, and version 1 when absent.
func itemJSON(key string, item map[string]any) ([]byte, error) {
	m := make(map[string]any, len(item)+2)
	for k, v := range item {
		m[k] = v
	}
	m["key"] = key
	if _, ok := m["version"]; !ok {
		m["version"] = 1
	}
	return json.Marshal(m)
}

// run checks every evaluation of the suite; it returns how many there were
// and how many passed.
func (s *conformanceSuite) run(t *testing.T, file string) (total, passed int) {
	t.Helper()
	where := file + ": " + s.Name
	data := &mapData{flags: map[string]*model.Flag{}, segments: map[string]*model.Segment{}}
	for key, item := range s.SDKData.Flags {
		b, err := itemJSON(key, item)
		if err == nil {
			data.flags[key], err = model.DecodeFlag(b)
		}
		if err != nil {
			t.Errorf("%s: flag %q: %v", where, key, err)
			return len(s.Evaluations), 0
		}
	}
	for key, item := range s.SDKData.Segments {
		b, err := itemJSON(key, item)
		if err == nil {
			data.segments[key], err = model.DecodeSegment(b)
		}
		if err != nil {
			t.Errorf("%s: segment %q: %v", where, key, err)
			return len(s.Evaluations), 0
		}
	}
	ev := evaluation.New(data, nil)
	for i := range s.Evaluations {
		e := &s.Evaluations[i]
		name := fmt.Sprintf("%s / %s (%s)", where, e.Name, e.FlagKey)
		if errs := s.check(ev, data, e); len(errs) > 0 {
			for _, msg := range errs {
				t.Errorf("%s: %s", name, msg)
			}
			continue
		}
		passed++
	}
	return len(s.Evaluations), passed
}

// check runs one evaluation's checks, for the context as given and, for a
// single user context, again in the old user format.
func (s *conformanceSuite) check(ev *evaluation.Evaluator, data *mapData, e *conformanceEvaluation) []string {
	var c evalctx.Context
	var err error
	switch {
	case e.Context != nil:
		var b []byte
		if b, err = json.Marshal(e.Context); err == nil {
			c, err = evalctx.Parse(b)
		}
	case e.User != nil:
		var b []byte
		if b, err = json.Marshal(e.User); err == nil {
			c, err = evalctx.ParseOldUser(b)
		}
	default:
		return []string{"evaluation has neither context nor user"}
	}
	if err != nil {
		return []string{fmt.Sprintf("context does not parse: %v", err)}
	}
	errs := s.checkContext(ev, data, e, c, "")
	if !c.Multiple() && c.Kind() == evalctx.DefaultKind {
		old, err := oldUserFormat(c)
		if err != nil {
			return append(errs, fmt.Sprintf("converting to the old user format: %v", err))
		}
		errs = append(errs, s.checkContext(ev, data, e, old, " [old user format]")...)
	}
	return errs
}

// oldUserFormat re-reads a single user context through LaunchDarkly's old
// user JSON format.
func oldUserFormat(c evalctx.Context) (evalctx.Context, error) {
	b, err := c.MarshalJSON()
	if err != nil {
		return evalctx.Context{}, err
	}
	var cur map[string]any
	if err := json.Unmarshal(b, &cur); err != nil {
		return evalctx.Context{}, err
	}
	user := map[string]any{"key": cur["key"]}
	custom := map[string]any{}
	for k, v := range cur {
		switch k {
		case "kind", "key", "_meta":
		case "name", "anonymous":
			user[k] = v
		default:
			custom[k] = v
		}
	}
	if len(custom) > 0 {
		user["custom"] = custom
	}
	ub, err := json.Marshal(user)
	if err != nil {
		return evalctx.Context{}, err
	}
	return evalctx.ParseOldUser(ub)
}

func (s *conformanceSuite) checkContext(ev *evaluation.Evaluator, data *mapData, e *conformanceEvaluation,
	c evalctx.Context, variant string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Sprintf(format, args...)+variant)
	}
	flag := data.Flag(context.Background(), e.FlagKey)
	def := mustValue(e.Default)
	if def.IsNull() && flag != nil && len(flag.Variations) > 0 {
		def = zeroOfType(flag.Variations[0].Type())
	}
	vt := e.ValueType
	if vt == "" {
		vt = valueTypeOf(def)
	}
	want := jsonTypeOf(vt)
	if def.IsNull() {
		want = jsonvalue.NullType // LaunchDarkly skips the type check for a null default
	}

	var d evaluation.Detail
	if flag == nil {
		d = evaluation.Detail{Value: def, VariationIndex: evaluation.NoVariation,
			Reason: evaluation.ErrorReason(evaluation.ErrorFlagNotFound)}
	} else {
		res := ev.Evaluate(context.Background(), flag, c)
		// EvaluateDetailAt, the client's path without events, gives the
		// same detail.
		var only evaluation.Detail
		ev.EvaluateDetailAt(context.Background(), flag, c, 0, &only)
		if !only.Value.Equal(res.Detail.Value) || only.VariationIndex != res.Detail.VariationIndex || only.Reason != res.Detail.Reason {
			fail("EvaluateDetailAt: got %+v, Evaluate's detail is %+v", only, res.Detail)
		}
		d = evaluation.TypedDetail(res.Detail, def, want)
	}
	typed := typedValue(d.Value, vt)

	expValue := mustValue(e.Expect.Value)
	if !typed.Equal(expValue) {
		fail("value: got %s, want %s", typed, expValue)
	}
	expIndex := evaluation.NoVariation
	if e.Expect.VariationIndex != nil {
		expIndex = *e.Expect.VariationIndex
	}
	if d.VariationIndex != expIndex {
		fail("variationIndex: got %d, want %d", d.VariationIndex, expIndex)
	}
	gotReason, _ := d.Reason.MarshalJSON()
	expReason := mustValue(e.Expect.Reason)
	if got, err := jsonvalue.Parse(gotReason); err != nil || !got.Equal(expReason) {
		fail("reason: got %s, want %s", gotReason, expReason)
	}

	if !s.SkipEvaluateAllFlags {
		all := allFlagValues(ev, data, c)
		wantAll := jsonvalue.Null()
		if e.Expect.VariationIndex != nil {
			wantAll = expValue
		}
		if got := all[e.FlagKey]; !got.Equal(wantAll) {
			fail("all-flags value: got %s, want %s", got, wantAll)
		}
	}
	return errs
}

// allFlagValues is a small all-flags state: every flag's value for the
// context, null where the evaluation has no variation.
func allFlagValues(ev *evaluation.Evaluator, data *mapData, c evalctx.Context) map[string]jsonvalue.Value {
	out := map[string]jsonvalue.Value{}
	keys := make([]string, 0, len(data.flags))
	for k := range data.flags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := data.Flag(context.Background(), k)
		if f == nil {
			continue
		}
		d := ev.Evaluate(context.Background(), f, c).Detail
		if d.IsDefaultValue() {
			out[k] = jsonvalue.Null()
		} else {
			out[k] = d.Value
		}
	}
	return out
}

func mustValue(x any) jsonvalue.Value {
	b, err := json.Marshal(x)
	if err != nil {
		panic(err)
	}
	v, err := jsonvalue.Parse(b)
	if err != nil {
		panic(err)
	}
	return v
}

func zeroOfType(t jsonvalue.Type) jsonvalue.Value {
	switch t {
	case jsonvalue.BoolType:
		return jsonvalue.Bool(false)
	case jsonvalue.NumberType:
		return jsonvalue.Int(0)
	case jsonvalue.StringType:
		return jsonvalue.String("")
	}
	return jsonvalue.Null()
}

func valueTypeOf(v jsonvalue.Value) string {
	switch v.Type() {
	case jsonvalue.BoolType:
		return "bool"
	case jsonvalue.NumberType:
		if v.IsInt() {
			return "int"
		}
		return "double"
	case jsonvalue.StringType:
		return "string"
	}
	return "any"
}

func jsonTypeOf(valueType string) jsonvalue.Type {
	switch valueType {
	case "bool":
		return jsonvalue.BoolType
	case "int", "double":
		return jsonvalue.NumberType
	case "string":
		return jsonvalue.StringType
	}
	return jsonvalue.NullType
}

// typedValue converts a detail value the way the typed variation methods
// return it: int truncates toward zero.
func typedValue(v jsonvalue.Value, valueType string) jsonvalue.Value {
	switch valueType {
	case "bool":
		return jsonvalue.Bool(v.Bool())
	case "int":
		return jsonvalue.Int(v.Int())
	case "double":
		return jsonvalue.Float(v.Float64())
	case "string":
		return jsonvalue.String(v.Str())
	}
	return v
}
