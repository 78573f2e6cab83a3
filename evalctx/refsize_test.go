package evalctx

import (
	"errors"
	"testing"
	"unsafe"
)

// TestRefSize: a Ref is five words (flags hold one per clause and rollout);
// a path's components and an error live behind its one pointer.
func TestRefSize(t *testing.T) {
	if got, want := unsafe.Sizeof(Ref{}), 5*unsafe.Sizeof(uintptr(0)); got != want {
		t.Fatalf("unsafe.Sizeof(Ref{}) = %d, want %d", got, want)
	}
	if r := NewRef("name"); r.x != nil {
		t.Error("an attribute name allocates its extra part")
	}
}

// TestRefCompactForms checks every form of the compact representation:
// name, path, literal, invalid and zero.
func TestRefCompactForms(t *testing.T) {
	for _, c := range []struct {
		ref   Ref
		err   bool
		depth int
		comps []string
		str   string
	}{
		{NewRef("email"), false, 1, []string{"email"}, "email"},
		{NewRef("/a/b~1c/d~0"), false, 3, []string{"a", "b/c", "d~"}, "/a/b~1c/d~0"},
		{NewLiteralRef("/x"), false, 1, []string{"/x"}, "/~1x"},
		{NewRef("/a//b"), true, 0, nil, "/a//b"},
		{NewRef("/"), true, 0, nil, "/"},
		{NewLiteralRef(""), true, 0, nil, ""},
		{Ref{}, true, 0, nil, ""},
	} {
		if (c.ref.Err() != nil) != c.err || c.err && !errors.Is(c.ref.Err(), ErrInvalidRef) {
			t.Errorf("%q: Err() = %v", c.str, c.ref.Err())
		}
		if c.ref.Depth() != c.depth || c.ref.String() != c.str {
			t.Errorf("%q: depth %d, string %q", c.str, c.ref.Depth(), c.ref.String())
		}
		for i, want := range c.comps {
			if got := c.ref.Component(i); got != want {
				t.Errorf("%q: component %d = %q, want %q", c.str, i, got, want)
			}
		}
		if got := c.ref.Component(len(c.comps)); got != "" {
			t.Errorf("%q: component past the end = %q", c.str, got)
		}
		if !c.ref.Equal(c.ref) {
			t.Errorf("%q: not equal to itself", c.str)
		}
	}
	if NewRef("/a").Equal(NewLiteralRef("a")) {
		t.Error(`"/a" and the literal "a" are written differently, so not Equal`)
	}
}
