package model_test

import (
	"bytes"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// The seed corpora are in testdata/fuzz/<FuzzName>; f.Add adds a few more.

// FuzzDecodeFlag: decoding never panics; a decoded flag encodes to valid
// JSON that decodes again to the same encoding; a failure is a
// *DecodeError.
func FuzzDecodeFlag(f *testing.F) {
	f.Add([]byte(`{"key":"f","on":true,"variations":[1,"a"],"fallthrough":{"variation":0}}`))
	f.Add([]byte(`{"key":"f","rules":[{"clauses":[{"attribute":"/a/b","contextKind":"x","op":"matches","values":["("]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := model.DecodeFlag(data)
		if err != nil {
			if _, ok := err.(*model.DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			_ = err.Error()
			return
		}
		enc, err := fl.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jsonvalue.Parse(enc); err != nil {
			t.Fatalf("encoding is not JSON: %v\n%s", err, enc)
		}
		again, err := model.DecodeFlag(enc)
		if err != nil {
			t.Fatalf("re-decoding failed: %v\n%s", err, enc)
		}
		enc2, _ := again.MarshalJSON()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

// FuzzDecodeSegment: as FuzzDecodeFlag, for segments.
func FuzzDecodeSegment(f *testing.F) {
	f.Add([]byte(`{"key":"s","included":["a"],"rules":[{"clauses":[],"weight":5000,"bucketBy":"/a"}]}`))
	f.Add([]byte(`{"key":"s","unbounded":true,"generation":2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := model.DecodeSegment(data)
		if err != nil {
			if _, ok := err.(*model.DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			_ = err.Error()
			return
		}
		enc, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := model.DecodeSegment(enc)
		if err != nil {
			t.Fatalf("re-decoding failed: %v\n%s", err, enc)
		}
		enc2, _ := again.MarshalJSON()
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		_ = s.BigSegmentRef()
	})
}
