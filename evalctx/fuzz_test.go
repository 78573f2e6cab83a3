package evalctx

import (
	"testing"
)

// FuzzContextJSON checks that Parse never panics, that an error always
// comes with an invalid context, and that every context it accepts encodes
// and reads back equal, with the same fully-qualified key.
func FuzzContextJSON(f *testing.F) {
	for _, s := range []string{
		`{"kind":"user","key":"k"}`,
		`{"kind":"org","key":"a:b%c","name":"n","anonymous":true,"x":{"y":[1,null]},"_meta":{"privateAttributes":["x","/x/y","//"]}}`,
		`{"kind":"multi","user":{"key":"u"},"org":{"key":"o","z":null}}`,
		`{"key":"","name":"n","email":"e","custom":{"c":1,"key":"no"},"privateAttributeNames":["/a"],"secondary":"s"}`,
		`{"kind":"multi"}`,
		`{"kind":"kind","key":"k"}`,
		`{"key":1}`,
		`[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c.Err() == nil {
				t.Fatalf("error %v but the context is valid", err)
			}
			return
		}
		if c.Err() != nil {
			t.Fatalf("no error but the context is invalid: %v", c.Err())
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of a parsed context: %v", err)
		}
		back, err := Parse(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if !back.Equal(c) {
			t.Fatalf("round trip through %s changed the context", out)
		}
		if back.FullyQualifiedKey() != c.FullyQualifiedKey() {
			t.Fatalf("fully-qualified key %q became %q", c.FullyQualifiedKey(), back.FullyQualifiedKey())
		}
		out2, err := back.MarshalJSON()
		if err != nil || string(out2) != string(out) {
			t.Fatalf("encoding is not stable: %s vs %s", out, out2)
		}
	})
}
