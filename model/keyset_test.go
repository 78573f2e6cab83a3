package model

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestKeySet checks the target index against a scan of the list, for lists
// around the scan threshold and long ones, with duplicates, an empty key
// and keys that differ only in their last byte.
func TestKeySet(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, setThreshold, setThreshold + 1, 10, 11, 16, 17, 100, 1000, 5000, maxNarrow, maxNarrow + 1, 100000} {
		list := make([]string, n)
		for i := range list {
			switch rng.IntN(10) {
			case 0:
				list[i] = ""
			case 1:
				if i > 0 {
					list[i] = list[rng.IntN(i)] // a duplicate
					continue
				}
				fallthrough
			default:
				list[i] = fmt.Sprintf("user-%d", rng.IntN(2*n+1))
			}
		}
		set := newKeySet(list)
		size := set.size()
		if (size != 0) != (n > setThreshold) {
			t.Errorf("n=%d: indexed %v", n, size != 0)
		}
		if size != 0 && (3*n >= 2*size || size&(size-1) != 0) {
			t.Errorf("n=%d: %d slots, not a power of two or more than two-thirds full", n, size)
		}
		if wide := set.p != nil && *set.p&wideSlots != 0; wide != (n > maxNarrow) {
			t.Errorf("n=%d: wide slots %v", n, wide)
		}
		in := map[string]bool{}
		for _, k := range list {
			in[k] = true
		}
		probes := []string{"", "user-", "nobody"}
		for i := range 2*n + 2 {
			probes = append(probes, fmt.Sprintf("user-%d", i))
		}
		for _, k := range probes {
			if got := containsKey(set, list, k); got != in[k] {
				t.Errorf("n=%d: containsKey(%q) = %v, want %v", n, k, got, in[k])
			}
		}
	}
}

// TestKeySetTargetsAndSegments checks the index through the exported
// lookups of decoded targets and segments.
func TestKeySetTargetsAndSegments(t *testing.T) {
	f, err := DecodeFlag([]byte(`{"key":"f","targets":[{"variation":0,"values":["a","b","c","d","e","f","g","h","i","j"]}],
		"contextTargets":[{"contextKind":"org","variation":0,"values":["k0","k1","k2","k3","k4","k5","k6","k7","k8","k9","k10"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeSegment([]byte(`{"key":"s","included":["a","b","c","d","e","f","g","h","i","j"],
		"excluded":["v","w","x","y","z","a1","b1","c1","d1"],
		"includedContexts":[{"contextKind":"org","values":["o0","o1","o2","o3","o4","o5","o6","o7","o8","o9"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"target j", f.Targets[0].Contains("j"), true},
		{"target k", f.Targets[0].Contains("k"), false},
		{"context target k10", f.ContextTargets[0].Contains("k10"), true},
		{"context target k1 prefix", f.ContextTargets[0].Contains("k"), false},
		{"included a", s.IncludesKey("a"), true},
		{"included z", s.IncludesKey("z"), false},
		{"excluded d1", s.ExcludesKey("d1"), true},
		{"excluded a", s.ExcludesKey("a"), false},
		{"included context o9", s.IncludedContexts[0].Contains("o9"), true},
		{"included context o10", s.IncludedContexts[0].Contains("o10"), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.name, c.got, c.want)
		}
	}
}
