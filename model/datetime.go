package model

import (
	"time"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// ParseTimestamp converts a JSON value to an instant as LaunchDarkly's date
// operators (before, after) read it: a number is Unix epoch milliseconds
// (any fraction is truncated), a string is an RFC 3339 date-time (see
// [ParseRFC3339]); other types are not timestamps. It never allocates.
func ParseTimestamp(v jsonvalue.Value) (time.Time, bool) {
	switch v.Type() {
	case jsonvalue.NumberType:
		return time.Unix(0, int64(v.Float64())*int64(time.Millisecond)).UTC(), true
	case jsonvalue.StringType:
		return ParseRFC3339(v.Str())
	}
	return time.Time{}, false
}

// ParseRFC3339 parses an RFC 3339 date-time with a mandatory zone ("Z" or
// "±hh:mm"), as LaunchDarkly's evaluator does, including its tolerances
// (those of Go's time.Parse with time.RFC3339): the hour may have one digit,
// the seconds up to nine fractional digits, the zone hour up to 99, 't' and
// 'z' may be lower case, and out-of-range days and leap seconds roll over
// as in time.Date. Like LaunchDarkly's parser it stops reading after a "Z"
// zone. The result is in UTC. It never allocates.
func ParseRFC3339(s string) (time.Time, bool) {
	sec, nsec, ok := parseRFC3339(s)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(sec, nsec).UTC(), true
}

// Terminator sets for dateField.
const (
	termHyphen = iota
	termT
	termColon
	termSeconds  // '.', or a zone
	termFraction // a zone: 'Z', 'z', '+', '-'
	termNone     // read to the end
)

// dateField reads from s[i:] up to the next terminator of the given set and
// returns the text before it, the terminator and the index after it. ok is
// false when the text ends first, or at a NUL or non-ASCII byte (where
// LaunchDarkly's scanner stops).
func dateField(s string, i, set int) (field string, term byte, next int, ok bool) {
	start := i
	for ; i < len(s); i++ {
		c := s[i]
		if c == 0 || c >= 0x80 {
			return s[start:i], 0, i, false
		}
		var hit bool
		switch set {
		case termHyphen:
			hit = c == '-'
		case termT:
			hit = c == 'T' || c == 't'
		case termColon:
			hit = c == ':'
		case termSeconds:
			hit = c == '.' || c == 'Z' || c == 'z' || c == '+' || c == '-'
		case termFraction:
			hit = c == 'Z' || c == 'z' || c == '+' || c == '-'
		}
		if hit {
			return s[start:i], c, i + 1, true
		}
	}
	return s[start:i], 0, i, false
}

// dateNumber converts a field of minLen to maxLen digits in [lo, hi].
func dateNumber(f string, minLen, maxLen, lo, hi int) (int, bool) {
	if len(f) < minLen || len(f) > maxLen {
		return 0, false
	}
	n := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n >= lo && n <= hi
}

// dateFieldNumber reads a field with dateField and converts it with
// dateNumber. The fixed-layout path of parseRFC3339 and the zone in
// finishRFC3339 call the two directly, sparing a call on the common path.
func dateFieldNumber(s string, i, set, minLen, maxLen, lo, hi int) (n int, term byte, next int, ok bool) {
	f, term, next, ok := dateField(s, i, set)
	if !ok {
		return 0, 0, next, false
	}
	n, ok = dateNumber(f, minLen, maxLen, lo, hi)
	return n, term, next, ok
}

func parseRFC3339(s string) (sec int64, nsec int64, ok bool) {
	var term byte
	i := 0
	var year, month, day, hour, minute, second int
	if len(s) >= 20 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == 't') && s[13] == ':' && s[16] == ':' {
		// The usual layout, with every field at its fixed place: the same
		// result as the general path below, without scanning for separators.
		switch s[19] {
		case '.', 'Z', 'z', '+', '-':
			if year, ok = dateNumber(s[0:4], 4, 4, 0, 9999); !ok {
				return 0, 0, false
			}
			if month, ok = dateNumber(s[5:7], 2, 2, 1, 12); !ok {
				return 0, 0, false
			}
			if day, ok = dateNumber(s[8:10], 2, 2, 1, 31); !ok {
				return 0, 0, false
			}
			if hour, ok = dateNumber(s[11:13], 1, 2, 0, 23); !ok {
				return 0, 0, false
			}
			if minute, ok = dateNumber(s[14:16], 2, 2, 0, 59); !ok {
				return 0, 0, false
			}
			if second, ok = dateNumber(s[17:19], 2, 2, 0, 60); !ok {
				return 0, 0, false
			}
			return finishRFC3339(s, 20, s[19], year, month, day, hour, minute, second)
		}
	}
	if year, _, i, ok = dateFieldNumber(s, i, termHyphen, 4, 4, 0, 9999); !ok {
		return 0, 0, false
	}
	if month, _, i, ok = dateFieldNumber(s, i, termHyphen, 2, 2, 1, 12); !ok {
		return 0, 0, false
	}
	if day, _, i, ok = dateFieldNumber(s, i, termT, 2, 2, 1, 31); !ok {
		return 0, 0, false
	}
	if hour, _, i, ok = dateFieldNumber(s, i, termColon, 1, 2, 0, 23); !ok {
		return 0, 0, false
	}
	if minute, _, i, ok = dateFieldNumber(s, i, termColon, 2, 2, 0, 59); !ok {
		return 0, 0, false
	}
	if second, term, i, ok = dateFieldNumber(s, i, termSeconds, 2, 2, 0, 60); !ok {
		return 0, 0, false
	}
	return finishRFC3339(s, i, term, year, month, day, hour, minute, second)
}

// finishRFC3339 reads the optional fraction and the zone, starting at i,
// just after the terminator term that ended the seconds.
func finishRFC3339(s string, i int, term byte, year, month, day, hour, minute, second int) (sec int64, nsec int64, ok bool) {
	var f string
	if term == '.' {
		if f, term, i, ok = dateField(s, i, termFraction); !ok {
			return 0, 0, false
		}
		var frac int
		if frac, ok = dateNumber(f, 1, 9, 0, 999999999); !ok {
			return 0, 0, false
		}
		for n := len(f); n < 9; n++ {
			frac *= 10
		}
		nsec = int64(frac)
	}
	offset := 0
	if term == '+' || term == '-' {
		var hh, mm int
		if f, _, i, ok = dateField(s, i, termColon); !ok {
			return 0, 0, false
		}
		if hh, ok = dateNumber(f, 2, 2, 0, 99); !ok {
			return 0, 0, false
		}
		// The zone minutes run to the end of the text (or to a NUL or
		// non-ASCII byte).
		f, _, _, _ = dateField(s, i, termNone)
		if mm, ok = dateNumber(f, 2, 2, 0, 59); !ok {
			return 0, 0, false
		}
		offset = (hh*60 + mm) * 60
		if term == '+' {
			offset = -offset
		}
	}
	days := daysFromCivil(year, month, day)
	sec = days*86400 + int64(hour*3600+minute*60+second+offset)
	return sec, nsec, true
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date. A day past the end of its month rolls over into
// the next month, as in time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400          // [0, 399]
	mp := (m + 9) % 12          // March = 0
	doy := (153*mp+2)/5 + d - 1 // day of the March-based year
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
