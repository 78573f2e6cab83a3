package model_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t testing.TB, b []byte) jsonvalue.Value {
	t.Helper()
	v, err := jsonvalue.Parse(b)
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

// contains reports whether every property of want (recursively) is in got
// with an equal value; arrays must have equal length.
func containsJSON(got, want jsonvalue.Value, path string, errs *[]string) {
	switch {
	case want.IsObject():
		if !got.IsObject() {
			*errs = append(*errs, path+": not an object: "+got.String())
			return
		}
		for _, k := range want.Keys() {
			wv, _ := want.Get(k)
			gv, ok := got.Get(k)
			if !ok {
				*errs = append(*errs, path+"."+k+": missing")
				continue
			}
			containsJSON(gv, wv, path+"."+k, errs)
		}
	case want.IsArray():
		if !got.IsArray() || got.Len() != want.Len() {
			*errs = append(*errs, path+": got "+got.String()+", want "+want.String())
			return
		}
		for i := 0; i < want.Len(); i++ {
			containsJSON(got.Index(i), want.Index(i), path+"["+string(rune('0'+i))+"]", errs)
		}
	default:
		if !got.Equal(want) {
			*errs = append(*errs, path+": got "+got.String()+", want "+want.String())
		}
	}
}

func TestFlagRoundTripKeepsEveryField(t *testing.T) {
	orig := readFile(t, "flag-all-properties.json")
	f, err := model.DecodeFlag(orig)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	containsJSON(parse(t, enc), parse(t, orig), "flag", &errs)
	for _, e := range errs {
		t.Error(e)
	}
	// Encoding is stable.
	g, err := model.DecodeFlag(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := g.MarshalJSON()
	if string(enc2) != string(enc) {
		t.Errorf("re-encoding changed the document:\n%s\n%s", enc, enc2)
	}
}

func TestSegmentRoundTripKeepsEveryField(t *testing.T) {
	orig := readFile(t, "segment-all-properties.json")
	s, err := model.DecodeSegment(orig)
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := json.Marshal(s)
	var errs []string
	containsJSON(parse(t, enc), parse(t, orig), "segment", &errs)
	for _, e := range errs {
		t.Error(e)
	}
	s2, err := model.DecodeSegment(enc)
	if err != nil {
		t.Fatal(err)
	}
	enc2, _ := s2.MarshalJSON()
	if string(enc2) != string(enc) {
		t.Errorf("re-encoding changed the document:\n%s\n%s", enc, enc2)
	}
}

func TestDecodedFields(t *testing.T) {
	f, err := model.DecodeFlag(readFile(t, "flag-all-properties.json"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != "flag-key" || f.Version != 42 || !f.On || f.Salt != "flag-salt" || len(f.Variations) != 7 ||
		f.OffVariation == nil || *f.OffVariation != 0 || !f.ClientSide || !f.TrackEvents || !f.TrackEventsFallthrough ||
		f.DebugEventsUntilDate == nil || *f.DebugEventsUntilDate != 1700000000000 || !f.ExcludeFromSummaries ||
		f.SamplingRatio == nil || *f.SamplingRatio != 10 || f.Migration == nil || *f.Migration.CheckRatio != 5 {
		t.Errorf("top-level fields: %+v", f)
	}
	if a := f.Availability(); a.UsingMobileKey || !a.UsingEnvironmentID {
		t.Errorf("availability %+v", a)
	}
	ro := f.Fallthrough.Rollout
	if ro == nil || !ro.IsExperiment() || ro.ContextKind != "org" || *ro.Seed != 61 || !ro.HasBucketBy() ||
		ro.BucketBy.Depth() != 2 || ro.BucketBy.Component(1) != "x" || len(ro.Variations) != 2 || !ro.Variations[0].Untracked {
		t.Errorf("fallthrough rollout %+v", ro)
	}
	// Without a context kind, bucketBy "/literal" is a literal name.
	if r := f.Rules[1].Rollout; r.BucketBy.Depth() != 1 || r.BucketBy.Component(0) != "/literal" {
		t.Errorf("literal bucketBy: %q depth %d", r.BucketBy.Component(0), r.BucketBy.Depth())
	}
	c := f.Rules[0].Clauses
	if c[1].ContextKind != "org" || c[1].Attribute.Depth() != 2 || !c[1].Negate {
		t.Errorf("clause 1: %+v", c[1])
	}
	if c[2].Attribute.Depth() != 1 || c[2].Attribute.Component(0) != "/literal/name" {
		t.Errorf("literal attribute: %+v", c[2])
	}
	if c[5].HasAttribute() || c[5].Op != model.OpSegmentMatch {
		t.Errorf("segmentMatch clause: %+v", c[5])
	}
	if got := f.PrerequisiteKeys(); len(got) != 2 || got[0] != "prereq-1" {
		t.Errorf("PrerequisiteKeys = %v", got)
	}
	if !f.Targets[0].Contains("user-2") || f.Targets[0].Contains("user-3") {
		t.Error("target Contains")
	}

	s, err := model.DecodeSegment(readFile(t, "segment-all-properties.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Unbounded || s.UnboundedContextKind != "org" || *s.Generation != 3 || s.BigSegmentRef() != "segment-key.g3" ||
		!s.IncludesKey("user-1") || s.IncludesKey("user-3") || !s.ExcludesKey("user-3") ||
		!s.IncludedContexts[0].Contains("org-2") || s.Rules[0].RolloutContextKind != "org" ||
		*s.Rules[0].Weight != 50000 || s.Rules[0].BucketBy.Depth() != 2 || s.Rules[1].Weight != nil {
		t.Errorf("segment fields: %+v", s)
	}
}

func TestUnknownFieldsPreserved(t *testing.T) {
	doc := `{"key":"f","_links":{"self":"x"},"on":true,"tags":["a"],
		"rules":[{"id":"r","clauses":[{"attribute":"a","op":"in","values":[1],"_c":1},{"_d":2,"attribute":"b","op":"matches","values":["x"]}],"_r":[true],"variation":0}],
		"fallthrough":{"variation":0,"_f":"x"},
		"prerequisites":[{"key":"p","variation":0,"_p":null}],
		"targets":[{"variation":0,"values":["k"],"_t":{}}],
		"clientSideAvailability":{"usingMobileKey":true,"_a":2},
		"migration":{"_m":3}}`
	f, err := model.DecodeFlag([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ := f.MarshalJSON()
	var errs []string
	containsJSON(parse(t, enc), parse(t, []byte(doc)), "flag", &errs)
	for _, e := range errs {
		t.Error(e)
	}
	seg := `{"key":"s","creationDate":123,"rules":[{"clauses":[],"_x":1}],"includedContexts":[{"values":[],"_y":2}]}`
	s, err := model.DecodeSegment([]byte(seg))
	if err != nil {
		t.Fatal(err)
	}
	enc, _ = s.MarshalJSON()
	errs = nil
	containsJSON(parse(t, enc), parse(t, []byte(seg)), "segment", &errs)
	for _, e := range errs {
		t.Error(e)
	}
}

func TestNullMeansAbsent(t *testing.T) {
	f, err := model.DecodeFlag([]byte(`{"key":"f","version":null,"on":null,"offVariation":null,"variations":null,
		"fallthrough":null,"rules":null,"targets":null,"prerequisites":null,"salt":null,"clientSideAvailability":null,
		"debugEventsUntilDate":null,"samplingRatio":null,"migration":null,
		"contextTargets":[{"contextKind":null,"values":null,"variation":null}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.OffVariation != nil || f.Variations != nil || f.Fallthrough.Rollout != nil || f.ClientSideAvailability != nil ||
		f.DebugEventsUntilDate != nil || f.Migration != nil || f.SamplingRatio != nil {
		t.Errorf("%+v", f)
	}
	if a := f.Availability(); !a.UsingMobileKey || a.UsingEnvironmentID {
		t.Errorf("default availability %+v", a)
	}
}

func TestTombstone(t *testing.T) {
	f, err := model.DecodeFlag([]byte(`{"key":"gone","version":9,"deleted":true}`))
	if err != nil || !f.Deleted || f.Version != 9 {
		t.Fatalf("%+v %v", f, err)
	}
	s, err := model.DecodeSegment([]byte(`{"key":"gone","version":9,"deleted":true}`))
	if err != nil || !s.Deleted || s.Version != 9 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		doc, want string
	}{
		{``, `model: flag (key unknown): expected an object, got end of document`},
		{`null`, `expected an object, got null`},
		{`[1]`, `expected an object, got array`},
		{`{"key":"f"`, `flag "f": expected ',' or '}' after object property, got end of document`},
		{`{"key":"f"} x`, `unexpected invalid character 'x' after the document`},
		{`{"key":"f","on":"yes"}`, `flag "f": on: expected a boolean, got string`},
		{`{"on":"yes","key":"f"}`, `flag "f": on: expected a boolean, got string`},
		{`{"key":7}`, `flag (key unknown): key: expected a string, got number`},
		{`{"version":1}`, `key: missing or empty`},
		{`{"key":""}`, `key: missing or empty`},
		{`{"key":"f","version":1.5}`, `version: expected a whole number, got 1.5`},
		{`{"key":"f","version":1e400}`, `version: number 1e400 is out of range`},
		{`{"key":"f","rules":[{"clauses":[{"op":"in"},{"op":5}]}]}`, `rules[0].clauses[1].op: expected a string, got number`},
		{`{"key":"f","targets":[{"values":["a",1]}]}`, `targets[0].values[1]: expected a string, got number`},
		{`{"key":"f","fallthrough":{"rollout":{"variations":[{"weight":"x"}]}}}`, `fallthrough.rollout.variations[0].weight: expected a number, got string`},
		{`{"key":"f","variations":[1,]}`, `variations[1]: expected a JSON value, got invalid character ']'`},
		{`{"key":"f","variations":[01]}`, `variations: expected ',' or ']' after array element, got number`},
		{`{"key":"f","variations":[-]}`, `variations[0]: invalid number`},
		{`{"key":"f","variations":[1.]}`, `no digits after decimal point`},
		{`{"key":"f","variations":[1e+]}`, `no digits in exponent`},
		{`{"key":"f","variations":[[1,]]}`, `variations[0]: expected a JSON value, got invalid character ']'`},
		{`{"key":"f","x":"abc`, `unterminated string`},
		{`{"key":"f","x":"\u12"}`, `invalid \u escape`},
		{`{"key":"f","x":"a` + "\x01" + `"}`, `invalid control character`},
		{`{"key":"f","x":tru}`, `invalid literal, expected true`},
		{`{"key":"f","prerequisites":{}}`, `prerequisites: expected an array, got object`},
		{`{"key":"f","rules":[5]}`, `rules[0]: expected an object, got number`},
		{`{"key":"f","clientSideAvailability":[]}`, `clientSideAvailability: expected an object, got array`},
		{`{"key":"f",}`, `expected a property name, got invalid character '}'`},
		{`{"key":"f" "on":true}`, `expected ',' or '}' after object property`},
		{`{"key" "f"}`, `expected ':' after property name`},
		{`{"key":"f","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`, `nesting too deep`},
	}
	for _, tc := range cases {
		_, err := model.DecodeFlag([]byte(tc.doc))
		if err == nil {
			t.Errorf("DecodeFlag(%.60s) succeeded, want error %q", tc.doc, tc.want)
			continue
		}
		var de *model.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("DecodeFlag(%.60s): %T is not a *DecodeError", tc.doc, err)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeFlag(%.60s) = %q, want it to contain %q", tc.doc, err, tc.want)
		}
	}
	segCases := []struct{ doc, want string }{
		{`{"key":"s","included":"a"}`, `segment "s": included: expected an array, got string`},
		{`{"key":"s","rules":[{"weight":"1"}]}`, `rules[0].weight: expected a number, got string`},
		{`{"key":"s","generation":true}`, `generation: expected a number, got boolean`},
		{`{"key":"s","unbounded":1}`, `unbounded: expected a boolean, got number`},
		{`{"included":[]}`, `segment (key unknown): key: missing or empty`},
	}
	for _, tc := range segCases {
		_, err := model.DecodeSegment([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("DecodeSegment(%s) = %v, want error containing %q", tc.doc, err, tc.want)
		}
	}
}

func TestDecodeStrings(t *testing.T) {
	f, err := model.DecodeFlag([]byte(`{"key":"f\u00e9\ud83d\ude00\n\"\\\/","salt":"` + "caf\xe9" + `","variations":["\ud800x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != "fé😀\n\"\\/" {
		t.Errorf("key %q", f.Key)
	}
	if f.Salt != "caf\uFFFD" {
		t.Errorf("invalid UTF-8 should become U+FFFD: %q", f.Salt)
	}
	if f.Variations[0].Str() != "\uFFFDx" {
		t.Errorf("lone surrogate: %q", f.Variations[0].Str())
	}
}

func TestUnmarshalJSON(t *testing.T) {
	var f model.Flag
	if err := json.Unmarshal([]byte(`{"key":"f","on":true,"variations":[1]}`), &f); err != nil || f.Key != "f" || !f.On {
		t.Fatalf("%+v %v", f, err)
	}
	var s model.Segment
	if err := json.Unmarshal([]byte(`{"key":"s","included":["a"]}`), &s); err != nil || !s.IncludesKey("a") {
		t.Fatalf("%+v %v", s, err)
	}
	if err := json.Unmarshal([]byte(`{"key":1}`), &s); err == nil {
		t.Error("want error")
	}
}
