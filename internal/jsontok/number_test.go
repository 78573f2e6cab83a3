package jsontok

import (
	"math"
	"strconv"
	"testing"
)

// Number reads every number as strconv.ParseFloat does, through the
// small-integer fast path (up to 15 digits) and past it: signs, -0, the
// largest 15-digit integers, 16 digits, fractions and exponents.
func TestNumberMatchesParseFloat(t *testing.T) {
	for _, text := range []string{"0", "-0", "7", "-7", "100000", "70000", "999999999999999", "-999999999999999",
		"1000000000000000", "9007199254740993", "12345678901234567890", "1.5", "-0.0", "1e3", "1E-2", "2.50"} {
		checkNumber(t, text)
	}
}

// FuzzNumber compares Number with strconv.ParseFloat on any number the
// grammar accepts.
func FuzzNumber(f *testing.F) {
	for _, s := range []string{"0", "-0", "42", "-123456789012345", "1234567890123456", "3.0", "1e2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		var sc Scanner
		sc.Reset(text)
		if got := sc.NumberText(); sc.failed || got != text {
			return // not exactly one number
		}
		checkNumber(t, text)
	})
}

func checkNumber(t *testing.T, text string) {
	t.Helper()
	want, err := strconv.ParseFloat(text, 64)
	var sc Scanner
	sc.Reset(text)
	got := sc.Number()
	_, _, failed := sc.Err()
	if err != nil {
		if !failed {
			t.Errorf("Number(%q) = %v, want a failure like ParseFloat's %v", text, got, err)
		}
		return
	}
	if failed || math.Float64bits(got) != math.Float64bits(want) {
		t.Errorf("Number(%q) = %v (failed %v), ParseFloat %v", text, got, failed, want)
	}
	if f, ok := smallInteger(text); ok && math.Float64bits(f) != math.Float64bits(want) {
		t.Errorf("smallInteger(%q) = %v, want %v", text, f, want)
	}
}
