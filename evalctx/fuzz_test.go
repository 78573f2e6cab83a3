package evalctx

import (
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
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
		`{"key":"k","country":"us","custom":{"country":"gb","name":"x"},"email":"e","custom":{"email":null},"country":null}`,
		`{"key":"a","key":"b","privateAttributeNames":["a"],"privateAttributeNames":["b"],"c\u006funtry":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkMembers(t, data)
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

// checkMembers checks jsonvalue.ParseMembers, on which the old user format
// is read, against jsonvalue.Parse: for every object Parse accepts, the
// members name the same properties, the last of each name holding the value
// Parse keeps.
func checkMembers(t *testing.T, data []byte) {
	v, err := jsonvalue.Parse(data)
	if err != nil || !v.IsObject() {
		return
	}
	mv, members, err := jsonvalue.ParseMembers(data)
	if err != nil || !mv.Equal(v) {
		t.Fatalf("ParseMembers = %s, %v; Parse = %s", mv, err, v)
	}
	last := map[string]jsonvalue.Value{}
	for _, m := range members {
		last[m.Name] = m.Value
	}
	if len(last) != v.Len() {
		t.Fatalf("ParseMembers found %d distinct names, Parse %d", len(last), v.Len())
	}
	for name, x := range last {
		if y, ok := v.Get(name); !ok || !x.Equal(y) {
			t.Fatalf("property %q: last member %s, Parse's %s", name, x, y)
		}
	}
}
