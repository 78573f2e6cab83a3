package jsonvalue

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"null", "null", "null"},
		{"true", " true ", "true"},
		{"false", "\n\tfalse\r", "false"},
		{"zero", "0", "0"},
		{"negative zero", "-0", "-0"},
		{"int", "123", "123"},
		{"fraction", "-12.5", "-12.5"},
		{"exponent", "1E2", "100"},
		{"exponent sign", "1e-2", "0.01"},
		{"exponent plus", "2.5e+3", "2500"},
		{"tiny", "1e-7", "1e-7"},
		{"big", "1e21", "1e+21"},
		{"big int", "12345678901234567890", "12345678901234567000"},
		{"string", `"abc"`, `"abc"`},
		{"escapes", `"\"\\\/\b\f\n\r\t"`, `"\"\\/\b\f\n\r\t"`},
		{"unicode escape", `"\u00e9\u0041"`, `"éA"`},
		{"surrogate pair", `"\ud83d\ude00"`, `"😀"`},
		{"lone high surrogate", `"\ud83dx"`, "\"\uFFFDx\""},
		{"lone low surrogate", `"\ude00"`, "\"\uFFFD\""},
		{"high then non-low", `"\ud83d\u0041"`, "\"\uFFFDA\""},
		{"high then bad escape hex", `"\ud83d\uzzzz"`, ""},
		{"control escape", `"\u0001"`, `"\u0001"`},
		{"html", `"<&>"`, `"\u003c\u0026\u003e"`},
		{"line separator", "\"\u2028\u2029\"", `"\u2028\u2029"`},
		{"invalid utf8", "\"a\xffb\"", "\"a\uFFFDb\""},
		{"invalid utf8 with escape", "\"\\n\xff\"", "\"\\n\uFFFD\""},
		{"empty array", "[ ]", "[]"},
		{"array", "[1, [2, []], {}]", "[1,[2,[]],{}]"},
		{"empty object", "{ }", "{}"},
		{"object sorted", `{"b":1,"a":{"d":[],"c":null}}`, `{"a":{"c":null,"d":[]},"b":1}`},
		{"duplicate key last wins", `{"a":1,"a":2}`, `{"a":2}`},
		{"unicode key", `{"é":1}`, `{"é":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse([]byte(tt.in))
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) succeeded: %s", tt.in, v.JSON())
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got := string(v.JSON()); got != tt.want {
				t.Errorf("JSON = %s, want %s", got, tt.want)
			}
			checkLikeEncodingJSON(t, []byte(tt.in), v)
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"space", "   "},
		{"bare word", "nul"},
		{"truex", "truex"},
		{"two values", "1 2"},
		{"trailing comma array", "[1,]"},
		{"trailing comma object", `{"a":1,}`},
		{"missing colon", `{"a" 1}`},
		{"missing value", `{"a":}`},
		{"unquoted key", `{a:1}`},
		{"single quotes", `'a'`},
		{"unterminated string", `"abc`},
		{"unterminated escape", `"abc\`},
		{"bad escape", `"\x"`},
		{"short unicode", `"\u12"`},
		{"bad unicode", `"\u12g4"`},
		{"control char", "\"a\nb\""},
		{"control char after escape", "\"\\n\x01\""},
		{"leading zero", "01"},
		{"leading plus", "+1"},
		{"dot only", "1."},
		{"leading dot", ".5"},
		{"exponent only", "1e"},
		{"exponent sign only", "1e+"},
		{"minus only", "-"},
		{"minus letter", "-a"},
		{"out of range", "1e400"},
		{"negative out of range", "-1e400"},
		{"nan", "NaN"},
		{"infinity", "Infinity"},
		{"unclosed array", "[1"},
		{"unclosed array after comma", "[1,"},
		{"unclosed object", `{"a":1`},
		{"unclosed object key", `{"a"`},
		{"bad array separator", "[1;2]"},
		{"bad object separator", `{"a":1;"b":2}`},
		{"object non-string key", `{1:2}`},
		{"closing bracket", "]"},
		{"comment", "// x\n1"},
		{"BOM", "\ufeff1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) should fail", tt.in)
			}
			if !strings.HasPrefix(err.Error(), "jsonvalue:") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			var target any
			if json.Unmarshal([]byte(tt.in), &target) == nil {
				t.Errorf("encoding/json accepts %q but Parse does not", tt.in)
			}
		})
	}
}

func TestParseSyntaxErrorOffset(t *testing.T) {
	_, err := Parse([]byte(`[1, x]`))
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("want *SyntaxError, got %T %v", err, err)
	}
	if se.Offset != 4 {
		t.Errorf("Offset = %d, want 4", se.Offset)
	}
}

func TestParseDepthLimit(t *testing.T) {
	deep := strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1)
	if _, err := Parse([]byte(deep)); err == nil {
		t.Error("nesting beyond maxDepth should fail")
	}
	deepObj := strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1)
	if _, err := Parse([]byte(deepObj)); err == nil {
		t.Error("object nesting beyond maxDepth should fail")
	}
	ok := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	if _, err := Parse([]byte(ok)); err != nil {
		t.Errorf("nesting of maxDepth should parse: %v", err)
	}
}

func TestUnmarshalJSON(t *testing.T) {
	var doc struct {
		A Value            `json:"a"`
		B []Value          `json:"b"`
		C map[string]Value `json:"c"`
		D Value            `json:"d"`
	}
	in := `{"a":{"x":[1,2]},"b":[true,null],"c":{"k":"v"},"d":null}`
	if err := json.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.A.String() != `{"x":[1,2]}` || len(doc.B) != 2 || !doc.B[0].Bool() || doc.C["k"].Str() != "v" || !doc.D.IsNull() {
		t.Errorf("decoded %+v", doc)
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("re-encoded %s, want %s", out, in)
	}
	var v Value
	if err := v.UnmarshalJSON([]byte("{")); err == nil {
		t.Error("UnmarshalJSON of bad JSON should fail")
	}
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	numbers := []float64{0, 1, -1, 0.1, 1e-6, 1e-7, 9.999999e-7, 1e20, 1e21, 123456789e15,
		math.MaxFloat64, math.SmallestNonzeroFloat64, -1e-10, 3.14159, 1 << 53, 5e-324}
	for _, f := range numbers {
		want, _ := json.Marshal(f)
		if got := Float(f).JSON(); string(got) != string(want) {
			t.Errorf("Float(%v).JSON() = %s, want %s", f, got, want)
		}
	}
	var sb strings.Builder
	for r := rune(0); r < 0x80; r++ {
		sb.WriteRune(r)
	}
	sb.WriteString("\u2028\u2029é😀\xff\xc3")
	for _, s := range []string{sb.String(), "", "plain", "tab\tend"} {
		want, _ := json.Marshal(s)
		if got := String(s).JSON(); string(got) != string(want) {
			t.Errorf("String(%q).JSON() = %s, want %s", s, got, want)
		}
	}
}

// checkLikeEncodingJSON verifies that Parse and encoding/json agree on the
// value and that JSON() writes what json.Marshal writes.
func checkLikeEncodingJSON(t *testing.T, data []byte, v Value) {
	t.Helper()
	var x any
	if err := json.Unmarshal(data, &x); err != nil {
		t.Fatalf("encoding/json rejects %q: %v", data, err)
	}
	want, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.JSON(); string(got) != string(want) {
		t.Errorf("JSON() = %s, encoding/json = %s", got, want)
	}
}

func TestParseMembersKeepsDocumentOrder(t *testing.T) {
	doc := ` { "a" : 1 , "b\"}" : {"x":[1,"]",{}]} ,"a":"s\\","c":[],"d":null} `
	v, members, err := ParseMembers([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range members {
		got = append(got, m.Name+"="+string(m.Value.JSON()))
	}
	want := []string{`a=1`, `b"}={"x":[1,"]",{}]}`, `a="s\\"`, `c=[]`, `d=null`}
	if !slices.Equal(got, want) {
		t.Errorf("members = %q, want %q", got, want)
	}
	if a, _ := v.Get("a"); a.Str() != `s\` {
		t.Errorf("the object keeps %s for a repeated name, want the last", a)
	}
	for _, bad := range []string{``, `{`, `{"a"}`, `{"a":}`, `{"a":1 "b":2}`, `{"a":1,}`, `{"a":[`, `{1:2}`, `{} x`} {
		if _, _, err := ParseMembers([]byte(bad)); err == nil {
			t.Errorf("ParseMembers(%q) gives no error", bad)
		}
	}
	if v, members, err := ParseMembers([]byte(`[1]`)); err != nil || members != nil || !v.IsArray() {
		t.Errorf("ParseMembers of an array = %s, %v, %v", v, members, err)
	}
}
