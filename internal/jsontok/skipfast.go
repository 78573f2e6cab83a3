package jsontok

// fastNesting is how deep skipFast follows arrays and objects; deeper
// values take the general path.
const fastNesting = 32

// skipFast is the fast path of [Scanner.Skip]: one loop over the bytes of
// the value starting at i, with no calls per token. It returns the value's
// end and true only when the value is valid as the general path checks it
// (RFC 8259's grammar, as encoding/json checks it) and holds only ASCII
// strings nested at most fastNesting deep; otherwise false, and the general
// path reads the value again (and reports the exact error, if any). So a
// value skipFast accepts is one the general path accepts, with the same
// end. sawString reports whether the value holds a string.
func skipFast(s string, i int) (end int, sawString, ok bool) {
	var open [fastNesting]byte // '{' or '[' of each open container
	n := 0
	for {
		// At the start of a value.
		i = skipSpace(s, i)
		if i >= len(s) {
			return 0, false, false
		}
		switch c := s[i]; {
		case c == '"':
			if i, ok = skipASCIIString(s, i); !ok {
				return 0, false, false
			}
			sawString = true
		case c == '{' || c == '[':
			i = skipSpace(s, i+1)
			if i < len(s) && (c == '{' && s[i] == '}' || c == '[' && s[i] == ']') {
				i++
				break // an empty container: a complete value
			}
			if n == len(open) {
				return 0, false, false
			}
			open[n] = c
			n++
			if c == '{' {
				if i, ok = skipName(s, i); !ok {
					return 0, false, false
				}
				sawString = true
			}
			continue // at the first element or property value
		case c == 't':
			if i, ok = skipWord(s, i, "true"); !ok {
				return 0, false, false
			}
		case c == 'f':
			if i, ok = skipWord(s, i, "false"); !ok {
				return 0, false, false
			}
		case c == 'n':
			if i, ok = skipWord(s, i, "null"); !ok {
				return 0, false, false
			}
		case c == '-' || c >= '0' && c <= '9':
			var problem string
			if i, problem = numberEnd(s, i); problem != "" {
				return 0, false, false
			}
		default:
			return 0, false, false
		}
		// After a complete value: close containers, or go on to the next
		// element or property.
		for {
			if n == 0 {
				return i, sawString, true
			}
			i = skipSpace(s, i)
			if i >= len(s) {
				return 0, false, false
			}
			c, top := s[i], open[n-1]
			if c == ',' {
				i++
				if top == '{' {
					if i, ok = skipName(s, skipSpace(s, i)); !ok {
						return 0, false, false
					}
				}
				break // at the next value
			}
			if top == '{' && c == '}' || top == '[' && c == ']' {
				i++
				n--
				continue
			}
			return 0, false, false
		}
	}
}

func skipSpace(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipName skips a property name at i, white space and the colon after it.
func skipName(s string, i int) (int, bool) {
	if i >= len(s) || s[i] != '"' {
		return 0, false
	}
	i, ok := skipASCIIString(s, i)
	if !ok {
		return 0, false
	}
	if i = skipSpace(s, i); i >= len(s) || s[i] != ':' {
		return 0, false
	}
	return i + 1, true
}

// skipASCIIString skips the string at i (a '"'): false for a control
// character, an invalid escape, a non-ASCII byte or no closing quote.
func skipASCIIString(s string, i int) (int, bool) {
	for i++; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(s) {
				return 0, false
			}
			if _, simple := simpleEscape(s[i+1]); simple {
				i++
				continue
			}
			if s[i+1] != 'u' {
				return 0, false
			}
			if _, ok := hex4(s, i+2); !ok {
				return 0, false
			}
			i += 5
		case c < 0x20 || c >= 0x80:
			return 0, false
		}
	}
	return 0, false
}

func skipWord(s string, i int, word string) (int, bool) {
	if len(s)-i < len(word) || s[i:i+len(word)] != word {
		return 0, false
	}
	return i + len(word), true
}

// numberEnd checks the JSON number grammar from i and returns the
// number's end, or, when it is not a number, the offset of the first wrong
// byte and what is wrong ("" for a valid number).
func numberEnd(s string, i int) (end int, problem string) {
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		i = digitsEnd(s, i)
	default:
		return i, "invalid number"
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, "invalid number: no digits after decimal point"
		}
		i = digitsEnd(s, i)
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return i, "invalid number: no digits in exponent"
		}
		i = digitsEnd(s, i)
	}
	return i, ""
}

// digitsEnd returns the end of the run of decimal digits at i.
func digitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
