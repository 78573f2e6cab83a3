package openfeature

import (
	"encoding/json"
	"errors"
	"testing"
)

// FuzzToContext maps evaluation contexts decoded from JSON: never a panic;
// either a context error with a code and a message, or a valid context.
func FuzzToContext(f *testing.F) {
	for _, seed := range []string{
		`{"targetingKey":"u1","email":"a@b","age":29}`,
		`{"kind":"multi","user":{"key":"u"},"org":{"targetingKey":"o","privateAttributes":["x"]}}`,
		`{"key":"k","anonymous":true,"name":"n","privateAttributes":["/a/b"],"a":{"b":[1,{"c":null}]}}`,
		`{"kind":"no spaces","targetingKey":"u"}`,
		`{"kind":"multi"}`,
		`{}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var flat map[string]any
		if json.Unmarshal(data, &flat) != nil {
			return
		}
		c, err := ToContext(flat)
		if err != nil {
			var ce *contextError
			if !errors.As(err, &ce) || ce.code == "" || ce.msg == "" {
				t.Fatalf("error without a code or message: %v", err)
			}
			return
		}
		if c.Err() != nil {
			t.Fatalf("mapped context is invalid: %v", c.Err())
		}
	})
}
