package model_test

import (
	"bytes"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// The seed corpora are in testdata/fuzz/<FuzzName>; f.Add adds a few more.

// scribble overwrites data, which a decoded item must not share memory
// with (the decoder scans the caller's buffer in place).
func scribble(data []byte) {
	for i := range data {
		data[i] = '#'
	}
}

// FuzzDecodeFlag: decoding never panics; a decoded flag encodes to valid
// JSON that decodes again to the same encoding, also after the input buffer
// is overwritten (and so does its error, if any); a failure is a
// *DecodeError.
func FuzzDecodeFlag(f *testing.F) {
	f.Add([]byte(`{"key":"f","on":true,"variations":[1,"a"],"fallthrough":{"variation":0}}`))
	f.Add([]byte(`{"key":"f","rules":[{"clauses":[{"attribute":"/a/b","contextKind":"x","op":"matches","values":["("]}]}]}`))
	f.Add([]byte(`{"key":"f","x":{"y":["z"]},"variations":[{"a":["b"]}],"targets":[{"values":["a","b","c","d","e","f","g","h","i","j"],"q":1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := model.DecodeFlag(data)
		if err != nil {
			if _, ok := err.(*model.DecodeError); !ok {
				t.Fatalf("error %T is not a *DecodeError", err)
			}
			msg := err.Error()
			scribble(data)
			if again := err.Error(); again != msg {
				t.Fatalf("error changed with the input buffer: %q, then %q", msg, again)
			}
			return
		}
		enc, err := fl.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		scribble(data)
		if after, _ := fl.MarshalJSON(); !bytes.Equal(enc, after) {
			t.Fatalf("flag changed with the input buffer:\n%s\n%s", enc, after)
		}
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
			msg := err.Error()
			scribble(data)
			if again := err.Error(); again != msg {
				t.Fatalf("error changed with the input buffer: %q, then %q", msg, again)
			}
			return
		}
		enc, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		scribble(data)
		if after, _ := s.MarshalJSON(); !bytes.Equal(enc, after) {
			t.Fatalf("segment changed with the input buffer:\n%s\n%s", enc, after)
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
