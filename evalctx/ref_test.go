package evalctx

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestNewRef(t *testing.T) {
	tests := []struct {
		in    string
		comps []string // nil means invalid
	}{
		{"name", []string{"name"}},
		{"a/b", []string{"a/b"}},
		{"a~b", []string{"a~b"}},
		{"~0", []string{"~0"}},
		{"/name", []string{"name"}},
		{"/a/b", []string{"a", "b"}},
		{"/a/b/c", []string{"a", "b", "c"}},
		{"/a~1b", []string{"a/b"}},
		{"/a~0b", []string{"a~b"}},
		{"/~01", []string{"~1"}},
		{"/~10", []string{"/0"}},
		{"/a/~1~0/c", []string{"a", "/~", "c"}},
		{"/0/1", []string{"0", "1"}},
		{"/ /x", []string{" ", "x"}},
		{"", nil},
		{"/", nil},
		{"//", nil},
		{"//a", nil},
		{"/a/", nil},
		{"/a//b", nil},
		{"/a~", nil},
		{"/a~2", nil},
		{"/a/b~x", nil},
		{"/~", nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := NewRef(tt.in)
			if r.String() != tt.in {
				t.Errorf("String() = %q, want %q", r.String(), tt.in)
			}
			if tt.comps == nil {
				if r.Err() == nil {
					t.Fatalf("NewRef(%q) should be invalid", tt.in)
				}
				if !errors.Is(r.Err(), ErrInvalidRef) {
					t.Errorf("error %v should wrap ErrInvalidRef", r.Err())
				}
				if r.Depth() != 0 || r.Component(0) != "" {
					t.Errorf("invalid ref has Depth %d, Component(0) %q", r.Depth(), r.Component(0))
				}
				return
			}
			if r.Err() != nil {
				t.Fatalf("NewRef(%q): %v", tt.in, r.Err())
			}
			if r.Depth() != len(tt.comps) {
				t.Fatalf("Depth = %d, want %d", r.Depth(), len(tt.comps))
			}
			for i, c := range tt.comps {
				if r.Component(i) != c {
					t.Errorf("Component(%d) = %q, want %q", i, r.Component(i), c)
				}
			}
			if r.Component(-1) != "" || r.Component(len(tt.comps)) != "" {
				t.Error("out-of-range Component should be empty")
			}
		})
	}
}

func TestNewLiteralRef(t *testing.T) {
	tests := []struct {
		name, str string
	}{
		{"plain", "plain"},
		{"a/b", "a/b"},
		{"/a", "/~1a"},
		{"/a/b", "/~1a~1b"},
		{"/a~b", "/~1a~0b"},
		{"~", "~"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewLiteralRef(tt.name)
			if r.Err() != nil {
				t.Fatal(r.Err())
			}
			if r.Depth() != 1 || r.Component(0) != tt.name {
				t.Errorf("Depth %d Component(0) %q, want 1 %q", r.Depth(), r.Component(0), tt.name)
			}
			if r.String() != tt.str {
				t.Errorf("String() = %q, want %q", r.String(), tt.str)
			}
			back := NewRef(r.String())
			if back.Err() != nil || back.Depth() != 1 || back.Component(0) != tt.name {
				t.Errorf("NewRef(%q) does not read back the literal name", r.String())
			}
			if !back.Equal(r) {
				t.Error("the parsed String form should Equal the literal ref")
			}
		})
	}
	if NewLiteralRef("").Err() == nil {
		t.Error("an empty literal name must be invalid")
	}
}

func TestRefZeroAndEqual(t *testing.T) {
	var z Ref
	if z.Err() == nil || z.Depth() != 0 || z.String() != "" || z.Component(0) != "" {
		t.Error("zero Ref must be invalid and empty")
	}
	if !NewRef("/a/b").Equal(NewRef("/a/b")) || NewRef("/a/b").Equal(NewRef("/a/c")) {
		t.Error("Equal on paths")
	}
	if NewRef("a").Equal(NewRef("/a")) {
		t.Error("refs written differently are not Equal")
	}
	if NewRef("//").Equal(NewRef("/a")) {
		t.Error("invalid and valid refs differ")
	}
}

func TestRefJSON(t *testing.T) {
	var holder struct {
		A Ref `json:"a"`
		B Ref `json:"b"`
		C Ref `json:"c"`
	}
	if err := json.Unmarshal([]byte(`{"a":"/x/y","b":null,"c":"//"}`), &holder); err != nil {
		t.Fatal(err)
	}
	if holder.A.Depth() != 2 || holder.A.Component(1) != "y" {
		t.Errorf("a = %+v", holder.A)
	}
	if holder.B.String() != "" {
		t.Error("null should give the zero Ref")
	}
	if holder.C.Err() == nil || holder.C.String() != "//" {
		t.Error("an invalid ref string is kept, with its error")
	}
	out, err := json.Marshal(holder)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"a":"/x/y","b":null,"c":"//"}` {
		t.Errorf("marshal = %s", out)
	}
	var r Ref
	if err := json.Unmarshal([]byte(`12`), &r); err == nil || !errors.Is(err, ErrInvalidRef) {
		t.Errorf("a number is not a ref: %v", err)
	}
}
