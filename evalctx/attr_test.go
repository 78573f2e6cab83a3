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
