package model_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

func TestParseSemVer(t *testing.T) {
	good := map[string]model.SemVer{
		"2":                  {Major: 2},
		"2.0":                {Major: 2},
		"2.0.0":              {Major: 2},
		"10.20.30":           {Major: 10, Minor: 20, Patch: 30},
		"0.0.0":              {},
		"2.0.0+build":        {Major: 2},
		"2+build.1.02":       {Major: 2},
		"2-rc":               {Major: 2, Prerelease: "rc"},
		"2.1-rc.1":           {Major: 2, Minor: 1, Prerelease: "rc.1"},
		"1.2.3-beta1.0yes":   {Major: 1, Minor: 2, Patch: 3, Prerelease: "beta1.0yes"},
		"1.2.3----":          {Major: 1, Minor: 2, Patch: 3, Prerelease: "---"},
		"1.2.3-0.a+b.c":      {Major: 1, Minor: 2, Patch: 3, Prerelease: "0.a"},
		"1.2.3-rc-1+build-2": {Major: 1, Minor: 2, Patch: 3, Prerelease: "rc-1"},
	}
	for s, want := range good {
		got, ok := model.ParseSemVer(s)
		if !ok || got != want {
			t.Errorf("ParseSemVer(%q) = %+v, %v; want %+v", s, got, ok, want)
		}
	}
	bad := []string{"", "v2.0.0", "02.0.0", "2.01.0", "2.0.00", "2.0.0.0", "2.", "2..0", ".2", "2.0.0-", "2.0.0+",
		"2.0.0-a..b", "2.0.0+a..b", "2.0.0-01", "2.0.0-beta!", "2.0.0+build!", "2x", "2.0x", "2.0.0x", " 2.0.0",
		"2.0.0 ", "🔥2.0.0", "2.0.0-β", "-1.0.0", "1.-1.0"}
	for _, s := range bad {
		if v, ok := model.ParseSemVer(s); ok {
			t.Errorf("ParseSemVer(%q) = %+v, want failure", s, v)
		}
	}
}

func TestSemVerCompare(t *testing.T) {
	// Each is lower than the next.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0-rc.2.green", "2.0.0-rc.2.green.1",
		"2.0.0-rc.2.red", "2.0.0-rc.10.green", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			a, _ := model.ParseSemVer(order[i])
			b, _ := model.ParseSemVer(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := a.Compare(b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	a, _ := model.ParseSemVer("2.0.0+a")
	b, _ := model.ParseSemVer("2+b")
	if a.Compare(b) != 0 {
		t.Error("build metadata must not affect precedence")
	}
}

func TestParseRFC3339(t *testing.T) {
	ref := time.Date(2017, 12, 6, 7, 0, 0, 0, time.UTC)
	good := map[string]time.Time{
		"2017-12-06T07:00:00Z":                ref,
		"2017-12-06T07:00:00.000Z":            ref,
		"2017-12-06T00:00:00.000-07:00":       ref,
		"2017-12-06T08:30:00+01:30":           ref,
		"2017-12-06t07:00:00z":                ref,
		"2017-12-06T7:00:00Z":                 ref, // Go's time.Parse accepts a 1-digit hour
		"2017-12-06T07:00:00.123456789Z":      ref.Add(123456789),
		"2017-12-06T07:00:00.5Z":              ref.Add(500 * time.Millisecond),
		"2017-12-06T07:00:00Zanything":        ref, // LaunchDarkly stops reading after Z
		"2017-12-06T07:00:00+00:00":           ref,
		"2017-02-31T00:00:00Z":                time.Date(2017, 3, 3, 0, 0, 0, 0, time.UTC),
		"2016-12-31T23:59:60Z":                time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC),
		"2017-12-06T07:00:00+99:00":           ref.Add(-99 * time.Hour),
		"2017-12-06T07:00:00.000000000+00:00": ref,
	}
	for s, want := range good {
		got, ok := model.ParseRFC3339(s)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseRFC3339(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
	bad := []string{"", "2017-12-06", "2017-12-06T07:00:00", "2017-12-06X07:00:00Z", "00:00:00.000-07.00",
		"badstring", "1512543600000", "17-12-06T07:00:00Z", "2017-13-06T07:00:00Z", "2017-12-32T07:00:00Z",
		"2017-12-06T24:00:00Z", "2017-12-06T07:60:00Z", "2017-12-06T07:00:61Z", "2017-12-06T07:00:00.Z",
		"2017-12-06T07:00:00.1234567890Z", "2017-12-06T07:00:00+0700", "2017-12-06T07:00:00+07:0",
		"2017-12-06T07:00:00+07:60", "2017-12-06T07:00:00+07:00x", "2017-12-06T07:00:00.12a4Z",
		"2017-12-06T07:00Z", "２017-12-06T07:00:00Z", "2017-12-06T07:00:00.000"}
	for _, s := range bad {
		if got, ok := model.ParseRFC3339(s); ok {
			t.Errorf("ParseRFC3339(%q) = %v, want failure", s, got)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		v    jsonvalue.Value
		want int64 // Unix ms; -1 means invalid
	}{
		{jsonvalue.Float(1512543600000), 1512543600000},
		{jsonvalue.Float(1512543600000.9), 1512543600000}, // fractions truncate
		{jsonvalue.Float(-1000.5), -1000},
		{jsonvalue.Int(0), 0},
		{jsonvalue.String("2017-12-06T07:00:00Z"), 1512543600000},
		{jsonvalue.String("1512543600000"), -1},
		{jsonvalue.Bool(true), -1},
		{jsonvalue.Null(), -1},
		{jsonvalue.Array(jsonvalue.Int(1)), -1},
	}
	for _, tc := range cases {
		got, ok := model.ParseTimestamp(tc.v)
		switch {
		case tc.want == -1 && ok:
			t.Errorf("ParseTimestamp(%s) = %v, want invalid", tc.v, got)
		case tc.want != -1 && (!ok || got.UnixMilli() != tc.want):
			t.Errorf("ParseTimestamp(%s) = %v (%d), %v; want %d", tc.v, got, got.UnixMilli(), ok, tc.want)
		}
	}
}

// clause decodes a one-clause flag and returns its (preprocessed) clause.
func clause(t *testing.T, c string) *model.Clause {
	t.Helper()
	f, err := model.DecodeFlag([]byte(`{"key":"f","rules":[{"clauses":[` + c + `]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	return &f.Rules[0].Clauses[0]
}

func val(t *testing.T, s string) jsonvalue.Value {
	t.Helper()
	v, err := jsonvalue.Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMatchValue(t *testing.T) {
	cases := []struct {
		op, values, value string
		want              bool
	}{
		// in: same type and value; booleans never equal numbers.
		{"in", `["a","b"]`, `"b"`, true},
		{"in", `["a","b"]`, `"c"`, false},
		{"in", `[1]`, `1.0`, true},
		{"in", `[0]`, `-0`, true},
		{"in", `[1]`, `true`, false},
		{"in", `[true]`, `1`, false},
		{"in", `[0]`, `false`, false},
		{"in", `["1"]`, `1`, false},
		{"in", `[null]`, `null`, false},
		{"in", `[[1]]`, `[1]`, false},
		{"in", `[{"a":1}]`, `{"a":1}`, false},
		{"in", `[]`, `"a"`, false},
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,true]`, `"j"`, true}, // a hash set
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,true]`, `1`, true},
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,true]`, `true`, true},
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,true]`, `false`, false},
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,-0]`, `0`, true},
		{"in", `["a","b","c","d","e","f","g","h","i","j",1,true]`, `"1"`, false},
		// string operators: both strings, case-sensitive.
		{"startsWith", `["pre"]`, `"prefix"`, true},
		{"startsWith", `["pre"]`, `"Prefix"`, false},
		{"startsWith", `[""]`, `"x"`, true},
		{"startsWith", `["true"]`, `true`, false},
		{"endsWith", `["fix"]`, `"prefix"`, true},
		{"endsWith", `[1,"x"]`, `"1x"`, true},
		{"endsWith", `["99"]`, `99`, false},
		{"contains", `["efi"]`, `"prefix"`, true},
		{"contains", `["EFI"]`, `"prefix"`, false},
		{"contains", `["null"]`, `null`, false},
		// matches: unanchored RE2 search; invalid patterns never match.
		{"matches", `["^[A-Za-z]+"]`, `"matchThis"`, true},
		{"matches", `["^[A-Za-z]+"]`, `"_nope"`, false},
		{"matches", `["b+c"]`, `"abbbcd"`, true},
		{"matches", `["(", "x"]`, `"x("`, true},
		{"matches", `["("]`, `"("`, false},
		{"matches", `["1"]`, `1`, false},
		{"matches", `[1]`, `"1"`, false},
		{"matches", `["(?i)ABC"]`, `"xabcx"`, true},
		// numeric: both numbers, never numeric strings.
		{"lessThan", `[100]`, `99`, true},
		{"lessThan", `[100]`, `100`, false},
		{"lessThan", `[100]`, `"99"`, false},
		{"lessThan", `["100"]`, `99`, false},
		{"lessThanOrEqual", `[100]`, `100`, true},
		{"lessThanOrEqual", `[100]`, `100.1`, false},
		{"greaterThan", `[100]`, `100.1`, true},
		{"greaterThan", `[100]`, `100`, false},
		{"greaterThanOrEqual", `[100]`, `100`, true},
		{"greaterThanOrEqual", `[100, 50]`, `60`, true},
		{"greaterThanOrEqual", `[100]`, `true`, false},
		// dates: RFC 3339 strings with a zone, or epoch milliseconds.
		{"before", `["2017-12-06T07:00:00Z"]`, `1512543599999`, true},
		{"before", `["2017-12-06T07:00:00Z"]`, `1512543600000`, false}, // equal instants fail both
		{"after", `["2017-12-06T07:00:00Z"]`, `1512543600000`, false},
		{"after", `[1512543600000]`, `"2017-12-06T00:00:00.001-07:00"`, true},
		{"after", `[1512543600000]`, `1512543600000.9`, false}, // truncated to the same ms
		{"before", `["2017-12-06"]`, `0`, false},
		{"before", `[true]`, `0`, false},
		{"before", `["2017-12-06T07:00:00Z"]`, `"1512543599999"`, false},
		{"before", `["2017-12-06T07:00:00Z"]`, `null`, false},
		{"after", `["0001-01-01T00:00:00Z"]`, `0`, false}, // LaunchDarkly treats the zero time as invalid
		{"after", `["bad", 0]`, `1`, true},
		// semantic versions.
		{"semVerEqual", `["2.0.0"]`, `"2"`, true},
		{"semVerEqual", `["2.0.0"]`, `"2.0.0+build"`, true},
		{"semVerEqual", `["2.0.0"]`, `"v2.0.0"`, false},
		{"semVerEqual", `["2.0.0"]`, `"02.0.0"`, false},
		{"semVerEqual", `["2.0.0"]`, `"2.0.0.0"`, false},
		{"semVerEqual", `["2.0.0"]`, `2`, false},
		{"semVerLessThan", `["2.0.0"]`, `"2.0.0-rc"`, true},
		{"semVerLessThan", `["2.0.0-rc.10"]`, `"2.0.0-rc.2"`, true},
		{"semVerGreaterThan", `["2.0"]`, `"2.0.1"`, true},
		{"semVerGreaterThan", `["2.0.1"]`, `"2.0.1"`, false},
		{"semVerGreaterThan", `["bad","1"]`, `"1.0.1"`, true},
		// segmentMatch and unknown operators never match here.
		{"segmentMatch", `["a"]`, `"a"`, false},
		{"isAwesome", `["a"]`, `"a"`, false},
		{"", `["a"]`, `"a"`, false},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s %s %s", tc.value, tc.op, tc.values)
		c := clause(t, `{"attribute":"a","op":"`+tc.op+`","values":`+tc.values+`}`)
		if got := c.MatchValue(val(t, tc.value)); got != tc.want {
			t.Errorf("%s: got %v, want %v", name, got, tc.want)
		}
		// A clause built by hand (never preprocessed) gives the same answers.
		raw := model.Clause{Attribute: evalctx.NewLiteralRef("a"), Op: model.Operator(tc.op), Values: c.Values}
		if got := raw.MatchValue(val(t, tc.value)); got != tc.want {
			t.Errorf("%s (not preprocessed): got %v, want %v", name, got, tc.want)
		}
	}
}

func TestClauseAttributes(t *testing.T) {
	cases := []struct {
		clause     string
		hasAttr    bool
		errOK      bool
		kindAttr   bool
		depth      int
		component0 string
	}{
		{`{"attribute":"kind","op":"in"}`, true, true, true, 1, "kind"},
		{`{"contextKind":"user","attribute":"kind","op":"in"}`, true, true, true, 1, "kind"},
		{`{"contextKind":"user","attribute":"/kind","op":"in"}`, true, true, false, 1, "kind"},
		{`{"attribute":"/kind","op":"in"}`, true, true, false, 1, "/kind"},
		{`{"attribute":"a~b","op":"in"}`, true, true, false, 1, "a~b"},
		{`{"contextKind":"org","attribute":"/a~1b/c~0d","op":"in"}`, true, true, false, 2, "a/b"},
		{`{"contextKind":"org","attribute":"/a~2","op":"in"}`, true, false, false, 0, ""},
		{`{"attribute":"","op":"in"}`, false, false, false, 0, ""},
		{`{"op":"in"}`, false, false, false, 0, ""},
	}
	for _, tc := range cases {
		c := clause(t, tc.clause)
		if c.HasAttribute() != tc.hasAttr || (c.AttributeErr() == nil) != tc.errOK || c.IsKindAttribute() != tc.kindAttr ||
			c.Attribute.Depth() != tc.depth || c.Attribute.Component(0) != tc.component0 {
			t.Errorf("%s: has=%v err=%v kind=%v depth=%d c0=%q", tc.clause, c.HasAttribute(), c.AttributeErr(),
				c.IsKindAttribute(), c.Attribute.Depth(), c.Attribute.Component(0))
		}
		// A clause built by hand (never preprocessed) gives the same answers.
		raw := model.Clause{ContextKind: c.ContextKind, Attribute: c.Attribute, Op: c.Op}
		if (raw.AttributeErr() == nil) != tc.errOK || raw.IsKindAttribute() != tc.kindAttr {
			t.Errorf("%s (not preprocessed): err=%v kind=%v", tc.clause, raw.AttributeErr(), raw.IsKindAttribute())
		}
	}
}

func TestClauseIsSegmentMatch(t *testing.T) {
	for _, tc := range []struct {
		clause string
		want   bool
	}{
		{`{"op":"segmentMatch","values":["s"]}`, true},
		{`{"attribute":"a","op":"in","values":["segmentMatch"]}`, false},
		{`{"attribute":"a","op":"segmentmatch","values":["s"]}`, false},
		{`{"attribute":"a","op":"unknownOp","values":["s"]}`, false},
	} {
		c := clause(t, tc.clause)
		raw := model.Clause{Attribute: c.Attribute, Op: c.Op, Values: c.Values}
		if c.IsSegmentMatch() != tc.want || raw.IsSegmentMatch() != tc.want {
			t.Errorf("%s: IsSegmentMatch %v (not preprocessed: %v), want %v", tc.clause, c.IsSegmentMatch(), raw.IsSegmentMatch(), tc.want)
		}
	}
}
