package jsontok

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzGrammar checks the tokenizer's grammar against encoding/json: Skip
// followed by End accepts exactly the documents json.Valid accepts (up to
// the nesting limit), returns the value's text, and every string reads as
// encoding/json decodes it.
// jsonvalue's FuzzParse checks the values built on it.
func FuzzGrammar(f *testing.F) {
	for _, s := range []string{`null`, ` true `, `-0.5e+2`, `"a\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"`,
		`[1,[2,{}]]`, `{"a":{"b":[null,false]}}`, "\"\xff\"", `[1,]`, `{"a" 1}`, `01`, `"\ud800"`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sc Scanner
		sc.Reset(string(data))
		text := sc.Skip()
		sc.End()
		problem, _, failed := sc.Err()
		valid := json.Valid(data)
		if failed && valid && problem != "nesting too deep" {
			t.Fatalf("tokenizer rejects %q (%s), json.Valid accepts it", data, problem)
		}
		if !failed && !valid {
			t.Fatalf("tokenizer accepts %q, encoding/json does not", data)
		}
		if failed {
			return
		}
		if text != string(bytes.TrimSpace(data)) && text != string(bytes.Trim(data, " \t\r\n")) {
			t.Fatalf("Skip returned %q for %q", text, data)
		}
		if text[0] == '"' {
			var want string
			_ = json.Unmarshal(data, &want)
			sc.Reset(string(data))
			if got := sc.Str(); got != want {
				t.Fatalf("string %q reads as %q, encoding/json %q", data, got, want)
			}
		}
	})
}
