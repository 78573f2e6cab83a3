package writer_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/writer"
)

// wtFile writes content to name in dir and returns its path.
func wtFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wtProblems returns the problems of a *ValidationError, failing t on any
// other error.
func wtProblems(t *testing.T, err error) []writer.Problem {
	t.Helper()
	var ve *writer.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T) is not a *ValidationError", err, err)
	}
	return ve.Problems
}

// wtJSON decodes JSON into a generic value, for comparisons that ignore
// property order and spacing.
func wtJSON(t testing.TB, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", data, err)
	}
	return v
}

const wtSameJSON = `{
  "flags": {
    "f1": {"key": "f1", "version": 7, "on": true, "variations": [1, 2], "fallthrough": {"variation": 0}},
    "f2": {"on": false, "variations": ["a", "b"], "offVariation": 1, "fallthrough": {"variation": 0}}
  },
  "segments": {
    "s1": {"included": ["u1"], "version": 2}
  },
  "flagValues": {
    "banner": {"text": "hello", "n": 3}
  }
}`

const wtSameYAML = `# the same data as wtSameJSON
flags:
  f1:
    key: f1
    version: 7
    "on": true
    variations: [1, 2]
    fallthrough: {variation: 0}
  f2:
    "on": false
    variations: [a, b]
    offVariation: 1
    fallthrough:
      variation: 0
segments:
  s1:
    included: [u1]
    version: 2
flagValues:
  banner:
    text: hello
    n: 3
`

func TestParseFormats(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"flags.json", wtSameJSON},
		{"flags.yaml", wtSameYAML},
		{"flags.yml", wtSameYAML},
		{"flags.txt", wtSameJSON}, // sniffed: begins with '{'
		{"flags", wtSameYAML},     // sniffed: YAML
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := writer.Parse(tc.name, []byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.FlagKeys(); !reflect.DeepEqual(got, []string{"banner", "f1", "f2"}) {
				t.Fatalf("flags %v", got)
			}
			if got := d.SegmentKeys(); !reflect.DeepEqual(got, []string{"s1"}) {
				t.Fatalf("segments %v", got)
			}
			f1 := d.Flags["f1"]
			if !f1.HasVersion || f1.Version != 7 {
				t.Errorf("f1 version %d %v, want 7", f1.Version, f1.HasVersion)
			}
			if d.Flags["f2"].HasVersion {
				t.Errorf("f2 has a version")
			}
			f2 := wtJSON(t, d.Flags["f2"].Data).(map[string]any)
			if f2["key"] != "f2" {
				t.Errorf("f2's key property was not filled in: %s", d.Flags["f2"].Data)
			}
			banner := wtJSON(t, d.Flags["banner"].Data)
			want := wtJSON(t, []byte(`{"key":"banner","on":true,"fallthrough":{"variation":0},"variations":[{"text":"hello","n":3}]}`))
			if !reflect.DeepEqual(banner, want) {
				t.Errorf("flagValues flag = %s", d.Flags["banner"].Data)
			}
			if _, err := writer.Validate(d); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if d.Flags["f1"].Source.Line == 0 || d.Flags["f1"].Source.Column == 0 {
				t.Errorf("no source position: %+v", d.Flags["f1"].Source)
			}
		})
	}
}

func TestParseErrorPositions(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                string // the first problem's String()
	}{
		{"json syntax", "a.json", "{\n  \"flags\": {\n    \"x\": {\"on\": tru}\n  }\n}", "a.json:3:20: JSON syntax error: invalid literal, expected true"},
		{"json unterminated", "a.json", "{\"flags\": {", "a.json:1:12: JSON syntax error: unexpected end of file (an unclosed object, array or string?)"},
		{"json trailing", "a.json", "{}\n{}", "a.json:2:1: JSON syntax error: unexpected object after the document"},
		{"json not object", "a.json", "[1]", `a.json:1:1: the top level must be an object with "flags", "segments" or "flagValues", got an array`},
		{"json section not object", "a.json", `{"flags": [1]}`, `a.json:1:11: "flags" must be an object of key: item, got an array`},
		{"json item not object", "a.json", "{\"segments\": {\n \"s\": 5}}", `a.json:2:2: segment "s": must be a JSON object, got a number`},
		{"json key mismatch", "a.json", `{"flags": {"a": {"key": "b"}}}`, `a.json:1:12: flag "a": its "key" property is "b", but it is listed under "a"; they must be equal`},
		{"json bad version", "a.json", `{"flags": {"a": {"version": 1.5}}}`, `a.json:1:12: flag "a": "version": must be a whole number from 0 up, got 1.5`},
		{"json string version", "a.json", `{"flags": {"a": {"version": "3"}}}`, `a.json:1:12: flag "a": "version": must be a whole number, got a string`},
		{"json duplicate key", "a.json", "{\"flags\": {\n\"a\": {},\n\"a\": {}}}", `a.json:3:1: flag "a": defined twice: at a.json:2:1 and at a.json:3:1`},
		{"json flag and flagValue", "a.json", "{\"flags\": {\"a\": {}},\n\"flagValues\": {\"a\": 1}}", `a.json:2:16: flag "a": defined twice: at a.json:1:12 and at a.json:2:16`},
		{"json duplicate section", "a.json", "{\"flags\": {},\n \"flags\": {}}", `a.json:2:2: property "flags" appears twice (first at line 1)`},
		{"empty", "a.json", " \n", `a.json: file is empty (want an object with "flags", "segments" or "flagValues")`},
		{"yaml syntax", "a.yaml", "flags:\n  a: [1, 2\n", "a.yaml:2: YAML syntax error: did not find expected ',' or ']'"},
		{"yaml bad indent", "a.yaml", "flags:\n  a:\n    on: true\n   off: 1\n", "a.yaml:4: YAML syntax error: did not find expected key"},
		{"yaml scanner error", "a.yaml", "flags:\n  a: {}\n  b: c: d\n", "a.yaml:3: YAML syntax error: mapping values are not allowed in this context"},
		{"yaml tab", "a.yaml", "flags:\n\ta: {}\n", "a.yaml:2: YAML syntax error: found character that cannot start any token"},
		{"yaml late bad indent", "a.yaml", "flags:\n  a:\n    variations: [1]\n    on: true\n    offVariation: 0\n  b:\n    on: false\n      x: 1\n", "a.yaml:8: YAML syntax error: mapping values are not allowed in this context"},
		{"yaml unclosed flow in block", "a.yaml", "flags:\n  a:\n    variations: [1, 2\n    on: true\n  b: {}\n", "a.yaml:3: YAML syntax error: did not find expected ',' or ']'"},
		{"yaml top scalar", "a.yaml", "hello\n", `a.yaml:1:1: the top level must be a mapping with "flags", "segments" or "flagValues", got a string`},
		{"yaml section list", "a.yaml", "segments:\n  - a\n", `a.yaml:2:3: "segments" must be a mapping of key: item, got a sequence`},
		{"yaml two documents", "a.yaml", "flags: {}\n---\nflags: {}\n", `a.yaml:2:1: more than one YAML document (a flag data file holds one)`},
		{"yaml duplicate key", "a.yaml", "flags:\n  a: {}\n  a: {}\n", `a.yaml:3:3: flag "a": defined twice: at a.yaml:2:3 and at a.yaml:3:3`},
		{"yaml nan", "a.yaml", "flagValues:\n  a: .nan\n", `a.yaml:2:6: flag "a": .nan is not a JSON number`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := writer.Parse(tc.file, []byte(tc.content))
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			ps := wtProblems(t, err)
			if got := ps[0].String(); got != tc.want {
				t.Errorf("problem\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

// TestParseUnknownTopLevelProperty: a misspelt "flags" is an error, never
// an empty dataset that would delete every stored flag.
func TestParseUnknownTopLevelProperty(t *testing.T) {
	for name, content := range map[string]string{
		"a.json": "{\"flags\": {},\n \"flgs\": {}}",
		"a.yaml": "flags: {}\nflgs: {}\n",
	} {
		_, err := writer.Parse(name, []byte(content))
		var ve *writer.ValidationError
		if !errors.As(err, &ve) || len(ve.Problems) != 1 {
			t.Fatalf("%s: want one error, got %v", name, err)
		}
		want := name + `:2:2: unknown top-level property "flgs" (known: flags, segments, flagValues)`
		if name == "a.yaml" {
			want = name + `:2:1: unknown top-level property "flgs" (known: flags, segments, flagValues)`
		}
		if got := ve.Problems[0].String(); got != want {
			t.Errorf("%s:\n got: %s\nwant: %s", name, got, want)
		}
	}
}

func TestParseNulls(t *testing.T) {
	for name, content := range map[string]string{
		"a.json": `{"flags": null, "segments": null, "flagValues": null}`,
		"a.yaml": "flags:\nsegments: ~\n",
	} {
		d, err := writer.Parse(name, []byte(content))
		if err != nil || len(d.Flags)+len(d.Segments) != 0 {
			t.Errorf("%s: %v, %v", name, d, err)
		}
	}
}

func TestParseKeepsUnicodeAndOddKeys(t *testing.T) {
	d, err := writer.Parse("a.json", []byte(`{"flags": {"ünï<&>": {"on": false, "variations": ["x"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	it := d.Flags["ünï<&>"]
	if it == nil {
		t.Fatalf("flags %v", d.FlagKeys())
	}
	if got := wtJSON(t, it.Data).(map[string]any)["key"]; got != "ünï<&>" {
		t.Fatalf("key %v", got)
	}
}

func TestLoadFilesMerges(t *testing.T) {
	dir := t.TempDir()
	a := wtFile(t, dir, "a.json", `{"flags": {"x": {"on": false, "variations": [true]}}}`)
	b := wtFile(t, dir, "b.yaml", "segments:\n  s: {}\nflags:\n  y: {variations: [1]}\n")
	d, err := writer.LoadFiles(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.FlagKeys(); !reflect.DeepEqual(got, []string{"x", "y"}) {
		t.Fatalf("flags %v", got)
	}
	if d.Flags["y"].Source.File != b {
		t.Errorf("y's source %v", d.Flags["y"].Source)
	}
}

func TestLoadFilesDuplicateAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	a := wtFile(t, dir, "a.json", "{\"flags\": {\n  \"x\": {}}}")
	b := wtFile(t, dir, "b.yaml", "flagValues:\n  x: 1\n")
	_, err := writer.LoadFiles(a, b)
	ps := wtProblems(t, err)
	want := `flag "x": defined twice: at ` + a + `:2:3 and at ` + b + `:2:3`
	if len(ps) != 1 || !strings.HasSuffix(ps[0].String(), want) {
		t.Fatalf("problems %v; want one ending in %s", ps, want)
	}
}

func TestLoadFilesReportsEveryFile(t *testing.T) {
	dir := t.TempDir()
	a := wtFile(t, dir, "a.json", "{")
	b := wtFile(t, dir, "b.yaml", "flags: [")
	_, err := writer.LoadFiles(a, b, filepath.Join(dir, "missing.json"))
	ps := wtProblems(t, err)
	if len(ps) != 3 {
		t.Fatalf("problems %v; want one per file", ps)
	}
	if !strings.Contains(ps[2].String(), "missing.json: cannot read: no such file or directory") {
		t.Errorf("missing file: %s", ps[2])
	}
	if _, err := writer.LoadFiles(); err == nil {
		t.Error("LoadFiles() with no files succeeded")
	}
}

// FuzzLoadFile checks that the flag data file parser never panics, that it
// reports problems with positions inside the file, and that what it accepts
// is consistent: every item's Data is a JSON object carrying its key.
func FuzzLoadFile(f *testing.F) {
	f.Add("a.json", []byte(wtSameJSON))
	f.Add("a.yaml", []byte(wtSameYAML))
	f.Add("a.json", []byte(`{"flags": {"a": {"key": "a", "version": 2}}, "segments": {"s": {}}}`))
	f.Add("a.yaml", []byte("flags:\n  a: &x {on: true}\n  b: *x\nflagValues: {c: [1, {d: null}]}\n"))
	f.Add("a.json", []byte(`{"flagValues": {"a": 1e400}}`))
	f.Add("a", []byte("{\"flags\": {\"\\u0000\": {}}}"))
	f.Add("a.yaml", []byte("flags:\n  ? [a]\n  : {}\n"))
	f.Add("a.json", []byte("{\"flagValues\":{\"\xe7\":0}}")) // a key that is not UTF-8
	f.Add("a.yaml", []byte("flags:\n  a:\n    key:\n"))      // key: with no value is null
	f.Add("a.json", []byte(`{"flags": {"a": {"on": true, "key": null}}}`))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		d, err := writer.Parse(name, data)
		if err != nil {
			var ve *writer.ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("error is not a *ValidationError with problems: %v", err)
			}
			for _, p := range ve.Problems {
				if p.Source.Line < 0 || p.Source.Column < 0 {
					t.Fatalf("bad position %+v", p.Source)
				}
			}
			return
		}
		for _, m := range []map[string]*writer.Item{d.Flags, d.Segments} {
			for k, it := range m {
				var obj map[string]json.RawMessage
				if err := json.Unmarshal(it.Data, &obj); err != nil {
					t.Fatalf("item %q: Data is not a JSON object: %v: %s", k, err, it.Data)
				}
				var key string
				if err := json.Unmarshal(obj["key"], &key); err != nil || key != k {
					t.Fatalf("item %q: key property %s", k, obj["key"])
				}
			}
		}
		// Validation never panics on what parsing accepts.
		_, _ = writer.Validate(d)
	})
}

func TestLoadRejectsKeysThatAreNotUTF8(t *testing.T) {
	for _, doc := range []string{
		"{\"flagValues\":{\"\xe7\":0}}",
		"{\"flags\":{\"a\xff\":{\"on\":true}}}",
		"{\"segments\":{\"\xc3\":{}}}",
	} {
		_, err := writer.Parse("bad.json", []byte(doc))
		var ve *writer.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "not valid UTF-8") {
			t.Errorf("Parse(%q) error = %v, want a validation error about UTF-8", doc, err)
		}
	}
}

func TestMergeKeepFirst(t *testing.T) {
	a, err := writer.Parse("a.json", []byte(`{"flags":{"f":{"on":true,"variations":[true]}},"segments":{"s":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := writer.Parse("b.json", []byte(`{"flags":{"f":{"on":false,"variations":[false]},"g":{"variations":[1]}},"segments":{"s":{"included":["x"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Merge(a, b); err == nil {
		t.Fatal("Merge of duplicate keys succeeded")
	}
	d := writer.MergeKeepFirst(a, b)
	if got := d.FlagKeys(); len(got) != 2 {
		t.Fatalf("flags %v, want f and g", got)
	}
	if d.Flags["f"].Source.File != "a.json" || d.Segments["s"].Source.File != "a.json" {
		t.Errorf("kept f from %s and s from %s, want the first file's", d.Flags["f"].Source.File, d.Segments["s"].Source.File)
	}
	if len(d.Warnings) != 2 || !strings.Contains(d.Warnings[0].String(), "the first is used") || !d.Warnings[0].Warning {
		t.Errorf("warnings = %v, want one per duplicate", d.Warnings)
	}
}
