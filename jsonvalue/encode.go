package jsonvalue

import (
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// JSON returns the JSON encoding of v, byte for byte what encoding/json
// writes for v.Any(): object keys sorted, '<', '>', '&', U+2028 and U+2029
// escaped. A non-finite number (possible only through [Float]) is written as
// null.
func (v Value) JSON() []byte {
	return v.AppendJSON(nil)
}

// AppendJSON appends the JSON encoding of v (as [Value.JSON] writes it) to
// dst and returns the extended slice.
func (v Value) AppendJSON(dst []byte) []byte {
	switch v.typ {
	case BoolType:
		return strconv.AppendBool(dst, v.n != 0)
	case NumberType:
		return appendNumber(dst, v.num())
	case StringType:
		return appendString(dst, v.str())
	case ArrayType:
		dst = append(dst, '[')
		for i, e := range v.arr() {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = e.AppendJSON(dst)
		}
		return append(dst, ']')
	case ObjectType:
		obj := v.obj()
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = obj[k].AppendJSON(dst)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

// String returns the JSON encoding of v as a string, for every type
// (a string value comes back quoted; use [Value.Str] for its contents).
func (v Value) String() string {
	return string(v.JSON())
}

// MarshalJSON implements json.Marshaler with [Value.JSON]; it never fails.
func (v Value) MarshalJSON() ([]byte, error) {
	return v.JSON(), nil
}

// appendNumber formats f as encoding/json does (ES6 number formatting).
func appendNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Shorten a two-digit negative exponent, e-07 to e-7, as JavaScript does.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does with HTML escaping on.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
