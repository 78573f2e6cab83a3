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

// checkCount checks CountRest from the first element of s, when it has
// one, against elemsByLoop, and that it leaves the scanner where it was.
func checkCount(t *testing.T, s string) {
	var sc Scanner
	sc.Reset(s)
	var it ArrIter
	if !sc.Array(&it) || !sc.Elem(&it) {
		return
	}
	at := sc.Pos()
	got := sc.CountRest()
	if want := elemsByLoop(s); got != want {
		t.Fatalf("CountRest(%q) from the first element = %d, want %d", s, got, want)
	}
	if sc.Pos() != at || sc.Failed() {
		t.Fatalf("CountRest(%q) moved the scanner to %d (failed %v)", s, sc.Pos(), sc.Failed())
	}
}

func TestCountRest(t *testing.T) {
	for _, s := range []string{
		`[1]`, `[ 1 , 2 ,3 ]`, `["a","b"]`, `[{"a":[1,2]},[3,4],null]`,
		`["é","ü"]`, `["\u00e9",1]`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`[1,]`, `[1 2]`, `[1`, `[1,`, `[01]`, `["a",{"b":}]`, `["é",]`,
	} {
		checkCount(t, s)
	}
}

// FuzzCountRest checks CountRest against the Array/Elem/Skip loop.
func FuzzCountRest(f *testing.F) {
	for _, s := range []string{`[1]`, `[1,"a",{"b":[true]}]`, `["é",null]`, `[1,]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkCount(t, s) })
}
