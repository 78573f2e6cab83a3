package model_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/model"
)

var (
	flagSink    *model.Flag
	segmentSink *model.Segment
)

func benchDecodeFlag(b *testing.B, doc []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		f, err := model.DecodeFlag(doc)
		if err != nil {
			b.Fatal(err)
		}
		flagSink = f
	}
}

// BenchmarkDecodeFlagAllProperties decodes (and preprocesses) a flag that
// uses every property.
func BenchmarkDecodeFlagAllProperties(b *testing.B) {
	benchDecodeFlag(b, readFile(b, "flag-all-properties.json"))
}

// BenchmarkDecodeFlagMinimal decodes a flag with only the required
// properties.
func BenchmarkDecodeFlagMinimal(b *testing.B) {
	benchDecodeFlag(b, []byte(`{"key":"flag","version":1,"on":true,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1,"salt":"abc"}`))
}

func largeSegment() []byte {
	var sb strings.Builder
	sb.WriteString(`{"key":"large","version":3,"salt":"s","included":[`)
	for i := 0; i < 10000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"user-key-%08d"`, i)
	}
	sb.WriteString(`],"excluded":[`)
	for i := 0; i < 1000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"excluded-key-%06d"`, i)
	}
	sb.WriteString(`],"rules":[{"id":"r","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`)
	return []byte(sb.String())
}

// BenchmarkDecodeSegmentLarge decodes a segment of 10000 included and 1000
// excluded keys (and builds their hash sets).
func BenchmarkDecodeSegmentLarge(b *testing.B) {
	doc := largeSegment()
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	for i := 0; i < b.N; i++ {
		s, err := model.DecodeSegment(doc)
		if err != nil {
			b.Fatal(err)
		}
		segmentSink = s
	}
}

// BenchmarkDecodeFlagEncodingJSONBaseline is for comparison only: the same
// all-properties flag decoded by encoding/json into generic maps (no
// validation, no preprocessing).
func BenchmarkDecodeFlagEncodingJSONBaseline(b *testing.B) {
	doc := readFile(b, "flag-all-properties.json")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		var m map[string]any
		if err := json.Unmarshal(doc, &m); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeFlagAllProperties encodes the all-properties flag.
func BenchmarkEncodeFlagAllProperties(b *testing.B) {
	f, err := model.DecodeFlag(readFile(b, "flag-all-properties.json"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := f.MarshalJSON(); err != nil {
			b.Fatal(err)
		}
	}
}

var boolSink bool

// BenchmarkMatchValueNoAlloc matches one attribute value against a
// preprocessed clause, per operator family.
func BenchmarkMatchValueNoAlloc(b *testing.B) {
	cases := []struct{ name, clause, value string }{
		{"in", `{"attribute":"a","op":"in","values":["x","y","z"]}`, `"z"`},
		{"inSet", `{"attribute":"a","op":"in","values":[` + strings.Repeat(`"v",`, 20) + `"z"]}`, `"z"`},
		{"contains", `{"attribute":"a","op":"contains","values":["needle"]}`, `"haystack with a needle"`},
		{"matches", `{"attribute":"a","op":"matches","values":["^[a-z]+@example\\.com$"]}`, `"bob@example.com"`},
		{"greaterThan", `{"attribute":"a","op":"greaterThan","values":[10]}`, `42`},
		{"before", `{"attribute":"a","op":"before","values":["2020-01-01T00:00:00Z"]}`, `"2019-03-04T05:06:07.123Z"`},
		{"semVerLessThan", `{"attribute":"a","op":"semVerLessThan","values":["2.0.0"]}`, `"1.9.3-rc.1+build"`},
	}
	for _, tc := range cases {
		f, err := model.DecodeFlag([]byte(`{"key":"f","rules":[{"clauses":[` + tc.clause + `]}]}`))
		if err != nil {
			b.Fatal(err)
		}
		c := &f.Rules[0].Clauses[0]
		v := parse(b, []byte(tc.value))
		b.Run(tc.name, func(b *testing.B) {
			if !c.MatchValue(v) {
				b.Fatal("setup: no match")
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				boolSink = c.MatchValue(v)
			}
		})
	}
}

// BenchmarkParseNoAlloc parses a timestamp and a semantic version.
func BenchmarkParseNoAlloc(b *testing.B) {
	b.Run("rfc3339", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, boolSink = model.ParseRFC3339("2017-12-06T00:00:00.123-07:00")
		}
	})
	b.Run("semver", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, boolSink = model.ParseSemVer("10.20.30-rc.1.alpha+build.5")
		}
	})
}

// typicalFlag is the flag shape of bench's 10,000-flag datasets (item 4 of
// issue 17): ten targets, two rules of one clause each, a percentage
// rollout; about 600 bytes of JSON.
func typicalFlag(key string) []byte {
	var targets strings.Builder
	for i := range 10 {
		if i > 0 {
			targets.WriteByte(',')
		}
		fmt.Fprintf(&targets, `"vip-%d"`, i)
	}
	return []byte(`{"key":"` + key + `","version":1,"on":true,"variations":[false,true],"offVariation":0,` +
		`"salt":"` + key + `-salt","targets":[{"variation":1,"values":[` + targets.String() + `]}],` +
		`"rules":[{"id":"r1","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.org"]}]},` +
		`{"id":"r2","variation":0,"clauses":[{"attribute":"country","op":"in","values":["fr","de","it"]}]}],` +
		`"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":30000},{"variation":1,"weight":70000}]}}}`)
}

// BenchmarkDecodeFlagTypical decodes (and preprocesses) the flag a cache
// miss of bench's BenchmarkFirstEvaluation decodes.
func BenchmarkDecodeFlagTypical(b *testing.B) {
	benchDecodeFlag(b, typicalFlag("flag-00042"))
}
