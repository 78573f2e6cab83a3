package evalctx

import (
	"fmt"
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

// checkMembers checks the old-user scanner against jsonvalue: for every
// object jsonvalue accepts, eachMember finds the same property names (the
// last of each name holding the value jsonvalue keeps) and raw values that
// parse on their own.
func checkMembers(t *testing.T, data []byte) {
	v, err := jsonvalue.Parse(data)
	if err != nil || !v.IsObject() {
		return
	}
	last := map[string]jsonvalue.Value{}
	err = eachMember(data, func(name, raw []byte) error {
		n, err := jsonvalue.Parse(name)
		if err != nil || !n.IsString() {
			return fmt.Errorf("name %s: %v", name, err)
		}
		x, err := jsonvalue.Parse(raw)
		if err != nil {
			return fmt.Errorf("value %s: %v", raw, err)
		}
		last[n.Str()] = x
		return nil
	})
	if err != nil {
		t.Fatalf("eachMember on an object jsonvalue accepts: %v", err)
	}
	if len(last) != v.Len() {
		t.Fatalf("eachMember found %d distinct names, jsonvalue %d", len(last), v.Len())
	}
	for name, x := range last {
		if y, ok := v.Get(name); !ok || !x.Equal(y) {
			t.Fatalf("property %q: eachMember's last value %s, jsonvalue's %s", name, x, y)
		}
	}
}
