package client

import (
	"errors"
	"fmt"
	"testing"

	"github.com/daemonflag/daemonflag/evaluation"
)

func TestErrCacheSharesErrorsWithoutCause(t *testing.T) {
	var ec errCache
	a := ec.get("flag", evaluation.ErrorFlagNotFound)
	b := ec.get("flag", evaluation.ErrorFlagNotFound)
	if a != b {
		t.Fatal("the same key and kind gave two errors")
	}
	if a.FlagKey != "flag" || a.Kind != evaluation.ErrorFlagNotFound || a.Err != nil {
		t.Fatalf("error = %+v", a)
	}
	if !errors.Is(a, ErrFlagNotFound) {
		t.Fatal("not ErrFlagNotFound")
	}
	if m := ec.get("flag", evaluation.ErrorMalformedFlag); m == a || !errors.Is(m, ErrMalformedFlag) {
		t.Fatalf("another kind gave %+v", m)
	}
	if allocs := testing.AllocsPerRun(100, func() { ec.get("flag", evaluation.ErrorFlagNotFound) }); allocs != 0 {
		t.Fatalf("a known pair allocates %v times", allocs)
	}
}

func TestErrCacheIsBounded(t *testing.T) {
	var ec errCache
	for i := range errCacheMax + 10 {
		ec.get(fmt.Sprint("k", i), evaluation.ErrorFlagNotFound)
	}
	if n := len(*ec.read.Load()); n != errCacheMax {
		t.Fatalf("%d pairs kept, want %d", n, errCacheMax)
	}
	late := fmt.Sprint("k", errCacheMax+5)
	a, b := ec.get(late, evaluation.ErrorFlagNotFound), ec.get(late, evaluation.ErrorFlagNotFound)
	if a == b || a.FlagKey != late || !errors.Is(b, ErrFlagNotFound) {
		t.Fatalf("past the bound: %+v %+v", a, b)
	}
}

func TestLoggedOncePerVersion(t *testing.T) {
	var l logged
	if !l.first(malformedKey{"f", 1}) || l.first(malformedKey{"f", 1}) {
		t.Fatal("version 1 not logged exactly once")
	}
	if !l.first(malformedKey{"f", 2}) {
		t.Fatal("version 2 not logged")
	}
	if allocs := testing.AllocsPerRun(100, func() { l.first(malformedKey{"f", 1}) }); allocs != 0 {
		t.Fatalf("a logged version allocates %v times", allocs)
	}
}
