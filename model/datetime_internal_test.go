package model

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// The civil-date arithmetic must agree with time.Date, including roll-over
// of out-of-range days and leap seconds.
func TestParseRFC3339AgreesWithTimeDate(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		y, mo, d := rng.Intn(10000), 1+rng.Intn(12), 1+rng.Intn(31)
		h, mi, s := rng.Intn(24), rng.Intn(60), rng.Intn(61)
		ns := rng.Intn(1000000000)
		oh, om := rng.Intn(100), rng.Intn(60)
		sign := "+-"[rng.Intn(2)]
		text := fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%09d%c%02d:%02d", y, mo, d, h, mi, s, ns, sign, oh, om)
		want := time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC)
		off := time.Duration(oh*60+om) * time.Minute
		if sign == '+' {
			want = want.Add(-off)
		} else {
			want = want.Add(off)
		}
		got, ok := ParseRFC3339(text)
		if !ok || !got.Equal(want) {
			t.Fatalf("ParseRFC3339(%q) = %v, %v; want %v", text, got, ok, want)
		}
		if y > 0 && d <= 28 && s < 60 && oh < 24 {
			std, err := time.Parse(time.RFC3339Nano, text)
			if err != nil || !std.Equal(got) {
				t.Fatalf("time.Parse(%q) = %v, %v; ours %v", text, std, err, got)
			}
		}
	}
}
