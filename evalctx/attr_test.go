package evalctx

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// TestAttrsSorted: attributes set in any order, replaced and removed (by a
// null), are found by name on both sides of linearAttrs and kept sorted, and
// a builder reused after Build leaves the built context unchanged.
func TestAttrsSorted(t *testing.T) {
	for _, n := range []int{1, linearAttrs, linearAttrs + 1, 40} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			b := NewBuilder("k")
			for i := n - 1; i >= 0; i-- { // reverse order: every Set inserts at the front
				b.SetInt(fmt.Sprintf("a%02d", i), i)
			}
			b.SetString("a00", "replaced")
			b.Set(fmt.Sprintf("a%02d", n-1), jsonvalue.Null()) // removed
			b.Set("absent", jsonvalue.Null())                  // removing what is not there changes nothing
			c := b.Build()
			b.SetInt("a00", -1).SetInt("later", 1) // after Build: must not show in c
			names := c.CustomAttributeNames()
			if len(names) != n-1 || !slices.IsSorted(names) {
				t.Fatalf("names = %v, want %d sorted names", names, n-1)
			}
			for i := range n {
				v, ok := c.GetValue(fmt.Sprintf("a%02d", i))
				switch {
				case i == n-1:
					if ok {
						t.Errorf("a%02d = %v after its removal", i, v)
					}
				case i == 0:
					if !ok || v.Str() != "replaced" {
						t.Errorf("a00 = %v, %v; want the replaced string", v, ok)
					}
				case !ok || v.Float64() != float64(i):
					t.Errorf("a%02d = %v, %v; want %d", i, v, ok, i)
				}
			}
			for _, missing := range []string{"later", "", "a", "b", strings.Repeat("a", 3)} {
				if v, ok := c.GetValue(missing); ok {
					t.Errorf("GetValue(%q) = %v, found; want absent", missing, v)
				}
			}
		})
	}
}

// TestAttrHeads: names that share their first 8 bytes, or differ only there,
// or are prefixes of each other, are told apart, by the linear lookup (up
// to linearAttrs names) and by halving.
func TestAttrHeads(t *testing.T) {
	names := []string{"", "a", "ab", "abcdefg", "abcdefgh", "abcdefgi", "abcdefghi", "abcdefghj", "bbcdefghi", "abcdefgh\x00", "\x00"}
	for _, set := range [][]string{names[:linearAttrs], names[len(names)-linearAttrs:], names} {
		b := NewBuilder("k")
		for _, n := range set {
			b.SetInt(n, len(n))
		}
		c := b.Build()
		for _, n := range set {
			if v, ok := c.GetValue(n); !ok || v.Float64() != float64(len(n)) {
				t.Errorf("%d names: GetValue(%q) = %v, %v; want %d", len(set), n, v, ok, len(n))
			}
		}
		for _, n := range append([]string{"abcdefgj", "abcdefghk", "abc", "\x00\x00"}, slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(set, n) })...) {
			if v, ok := c.GetValue(n); ok {
				t.Errorf("%d names: GetValue(%q) = %v; want absent", len(set), n, v)
			}
		}
	}
}
