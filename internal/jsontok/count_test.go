package jsontok

import "testing"

// elemsByLoop counts an array's elements with Array, Elem and Skip: -1 when
// the value is not a valid array.
func elemsByLoop(s string) int {
	var sc Scanner
	sc.Reset(s)
	var it ArrIter
	if !sc.Array(&it) {
		return -1
	}
	for sc.Elem(&it) {
		sc.Skip()
	}
	if sc.Failed() {
		return -1
	}
	return it.I + 1
}

func checkCount(t *testing.T, s string) {
	var sc Scanner
	sc.Reset(s)
	got := sc.CountElems()
	if want := elemsByLoop(s); got != want {
		t.Fatalf("CountElems(%q) = %d, want %d", s, got, want)
	}
	if sc.Pos() != 0 || sc.Failed() {
		t.Fatalf("CountElems(%q) moved the scanner to %d (failed %v)", s, sc.Pos(), sc.Failed())
	}
	// CountRest from the first element counts the same.
	var it ArrIter
	if got != 0 && sc.Array(&it) && sc.Elem(&it) {
		at := sc.Pos()
		if rest := sc.CountRest(); rest != got {
			t.Fatalf("CountRest(%q) from the first element = %d, want %d", s, rest, got)
		}
		if sc.Pos() != at || sc.Failed() {
			t.Fatalf("CountRest(%q) moved the scanner", s)
		}
	}
}

func TestCountElems(t *testing.T) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `["a","b"]`, `[{"a":[1,2]},[3,4],null]`,
		`["é","ü"]`, `["\u00e9",1]`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`[1,]`, `[1 2]`, `[`, `[1`, `{}`, `"x"`, ``, `[01]`, `["a",{"b":}]`,
	} {
		checkCount(t, s)
	}
}

// FuzzCountElems checks CountElems and CountRest against the
// Array/Elem/Skip loop.
func FuzzCountElems(f *testing.F) {
	for _, s := range []string{`[]`, `[1,"a",{"b":[true]}]`, `["é",null]`, `[1,]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkCount(t, s) })
}
