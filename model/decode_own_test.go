package model_test

import (
	"bytes"
	"testing"

	"github.com/daemonflag/daemonflag/model"
)

// TestDecodedStringsOwnTheirMemory decodes flags whose strings are views of
// the input (copied together after decoding), escaped strings (built by the
// scanner), repeated properties (the last wins; a string recorded twice)
// and lists of one, two and more objects (which move as they grow), then
// overwrites the input: the flag must encode the same, and its lists must
// have the lengths of the document's.
func TestDecodedStringsOwnTheirMemory(t *testing.T) {
	for _, doc := range []string{
		`{"key":"a","key":"abcdefgh","salt":"s","salt":"s\u00e9","variations":["x","y\n",3]}`,
		`{"key":"f","targets":[{"values":["a","b"],"values":["c"],"contextKind":"org","variation":0}]}`,
		`{"key":"f","rules":[{"id":"r1","clauses":[{"attribute":"email","op":"endsWith","values":["@a.b"]}]}]}`,
		`{"key":"f","rules":[{"id":"r1","id":"r1b"},{"id":"r2","clauses":[{"contextKind":"org","attribute":"k","op":"in","values":["p","q"]}]}]}`,
		`{"key":"f","rules":[{"id":"r1"},{"id":"r2\u0041"},{"id":"r3"},{"id":"r4","rollout":{"contextKind":"org2","variations":[{"variation":0,"weight":1},{"variation":1,"weight":2},{"variation":0,"weight":3}]}}]}`,
		`{"key":"f","prerequisites":[{"key":"p1"},{"key":"p2"},{"key":"p3"}],"fallthrough":{"rollout":{"kind":"experiment","variations":[{"variation":0,"weight":1}]}}}`,
	} {
		data := []byte(doc)
		f, err := model.DecodeFlag(data)
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		enc, err := f.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		want, err := model.DecodeFlag([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Rules) != len(want.Rules) || len(f.Prerequisites) != len(want.Prerequisites) {
			t.Fatalf("%s: list lengths differ between two decodings", doc)
		}
		for i := range f.Rules {
			if cap(f.Rules) != len(f.Rules) || cap(f.Rules[i].Clauses) != len(f.Rules[i].Clauses) {
				t.Errorf("%s: a list keeps spare capacity", doc)
			}
		}
		scribble(data)
		if after, _ := f.MarshalJSON(); !bytes.Equal(enc, after) {
			t.Errorf("flag changed with the input buffer:\n%s\n%s", enc, after)
		}
	}
	f, err := model.DecodeFlag([]byte(`{"key":"a","key":"abcdefgh","rules":[{"id":"r1"},{"id":"r2"},{"id":"r3"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if f.Key != "abcdefgh" || len(f.Rules) != 3 || f.Rules[0].ID != "r1" || f.Rules[1].ID != "r2" || f.Rules[2].ID != "r3" {
		t.Errorf("key %q, rules %+v", f.Key, f.Rules)
	}
}
