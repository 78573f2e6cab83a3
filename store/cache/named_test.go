package cache

import (
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

func TestNamedRefs(t *testing.T) {
	var n namedRefs
	seg := ref{store.Segments, "s1"}
	pre := ref{store.Features, "p1"}
	if n.has(seg) {
		t.Fatal("an empty set has s1")
	}
	n.add(nil)
	n.add([]ref{seg})
	if !n.has(seg) {
		t.Fatal("s1 not recorded")
	}
	if n.has(pre) || n.has(ref{store.Features, "s1"}) {
		t.Fatal("a name of another kind or key counts as recorded")
	}
	n.add([]ref{seg, pre})
	if !n.has(seg) || !n.has(pre) {
		t.Fatal("a second add lost a name")
	}
}
