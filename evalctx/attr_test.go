package evalctx

import (
	"fmt"
	"maps"
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

// TestManyAttrs: thousands of attributes set in reverse order, some
// replaced and some removed (through the builder's index), then changed
// again on a builder made from the built context, read back as a map of the
// same operations says, in name order; the first context stays as it was.
func TestManyAttrs(t *testing.T) {
	const n = 3000
	name := func(i int) string { return fmt.Sprintf("attr-%05d", i) }
	want := map[string]float64{}
	b := NewBuilder("k")
	for i := n - 1; i >= 0; i-- {
		b.SetInt(name(i), i)
		want[name(i)] = float64(i)
	}
	for i := 0; i < n; i += 3 {
		b.Set(name(i), jsonvalue.Null())
		delete(want, name(i))
	}
	for i := 1; i < n; i += 5 {
		b.SetInt(name(i), -i)
		want[name(i)] = float64(-i)
	}
	check := func(what string, c Context, want map[string]float64) {
		t.Helper()
		names := c.CustomAttributeNames()
		if len(names) != len(want) || !slices.IsSorted(names) {
			t.Fatalf("%s: %d names (sorted: %v), want %d", what, len(names), slices.IsSorted(names), len(want))
		}
		for i := range n {
			v, ok := c.GetValue(name(i))
			if w, in := want[name(i)]; ok != in || (in && v.Float64() != w) {
				t.Fatalf("%s: GetValue(%q) = %v, %v; want %v, %v", what, name(i), v, ok, w, in)
			}
		}
	}
	c := b.Build()
	check("first context", c, want)

	second := maps.Clone(want)
	b2 := NewBuilderFromContext(c)
	for i := 2; i < n; i += 7 {
		if i%2 == 0 {
			b2.Set(name(i), jsonvalue.Null())
			delete(second, name(i))
		} else {
			b2.SetInt(name(i), 7*i)
			second[name(i)] = float64(7 * i)
		}
	}
	c2 := b2.Build()
	check("second context", c2, second)
	check("first context after the second", c, want)
}

// BenchmarkBuildManyAttributes: 10,000 attributes set in reverse name
// order, the worst order for a builder that kept them sorted as it went
// (O(n^2) moves); this one costs O(n log n).
func BenchmarkBuildManyAttributes(b *testing.B) {
	names := make([]string, 10_000)
	for i := range names {
		names[i] = fmt.Sprintf("a%06d", len(names)-i)
	}
	b.ReportAllocs()
	for b.Loop() {
		bl := NewBuilder("k")
		for _, n := range names {
			bl.SetInt(n, 1)
		}
		bl.Build()
	}
}
