package jsonvalue

import (
	"encoding/json"
	"testing"
)

// FuzzParse checks that Parse never panics, that it accepts exactly what
// encoding/json accepts (apart from numbers beyond float64, which both
// reject), and that Parse -> JSON -> Parse gives an equal value whose JSON
// matches encoding/json's.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`null`, `true`, `0`, `-1.5e10`, `"a\u00e9\ud83d\ude00"`, `[1,[2,{}]]`,
		`{"a":{"b":[null,false]}}`, `{"a":1,"a":2}`, "\"\xff\"", `[1,]`, `1e400`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		var x any
		stdErr := json.Unmarshal(data, &x)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("Parse err %v, encoding/json err %v, input %q", err, stdErr, data)
		}
		if err != nil {
			return
		}
		out := v.JSON()
		want, _ := json.Marshal(x)
		if string(out) != string(want) {
			t.Fatalf("JSON() = %s, encoding/json = %s", out, want)
		}
		v2, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !v.Equal(v2) {
			t.Fatalf("round trip differs: %s vs %s", out, v2.JSON())
		}
	})
}
