package model

import (
	"testing"
	"unsafe"
)

// TestCachedSizes guards the sizes that make up the memory of a cached flag
// (bench BenchmarkMemory): each type is within a size class of Go's
// allocator that a field added carelessly would push it out of.
func TestCachedSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Flag", unsafe.Sizeof(Flag{}), 240},
		{"Segment", unsafe.Sizeof(Segment{}), 256},
		{"Target", unsafe.Sizeof(Target{}), 64},
		{"SegmentTarget", unsafe.Sizeof(SegmentTarget{}), 56},
		{"FlagRule", unsafe.Sizeof(FlagRule{}), 80},
		{"Clause", unsafe.Sizeof(Clause{}), 112},
		{"Rollout", unsafe.Sizeof(Rollout{}), 112},
		{"SegmentRule", unsafe.Sizeof(SegmentRule{}), 112},
		{"WeightedVariation", unsafe.Sizeof(WeightedVariation{}), 32},
		{"Prerequisite", unsafe.Sizeof(Prerequisite{}), 32},
		{"keySet", unsafe.Sizeof(keySet{}), 8},
		{"rawFields", unsafe.Sizeof(rawFields{}), 8},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than %d", c.name, c.size, c.max)
		}
	}
}

// TestSharedParts: decoded flags share small optional numbers and boolean
// variation lists, and still read back exactly what the document says.
func TestSharedParts(t *testing.T) {
	for _, c := range []struct {
		doc    string
		off    int
		vars   string
		shared bool
	}{
		{`{"key":"a","offVariation":1,"variations":[false,true]}`, 1, `[false,true]`, true},
		{`{"key":"b","offVariation":255,"variations":[true,false]}`, 255, `[true,false]`, true},
		{`{"key":"c","offVariation":256,"variations":[true,true]}`, 256, `[true,true]`, false},
		{`{"key":"d","offVariation":-1,"variations":[false,true,false]}`, -1, `[false,true,false]`, false},
	} {
		f, err := DecodeFlag([]byte(c.doc))
		if err != nil {
			t.Fatal(err)
		}
		if f.OffVariation == nil || *f.OffVariation != c.off {
			t.Errorf("%s: offVariation %v", c.doc, f.OffVariation)
		}
		got := "["
		for i, v := range f.Variations {
			if i > 0 {
				got += ","
			}
			got += v.String()
		}
		if got += "]"; got != c.vars {
			t.Errorf("%s: variations %s", c.doc, got)
		}
		shared := &f.Variations[0] == &boolVariations[0][0] || &f.Variations[0] == &boolVariations[1][0]
		if shared != c.shared {
			t.Errorf("%s: variations shared %v, want %v", c.doc, shared, c.shared)
		}
	}
}
