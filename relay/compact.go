package relay

// compactInPlace removes the insignificant white space of valid JSON in b,
// moving bytes toward the start, and returns the compacted length. It never
// needs more room than b (the output is never longer than the input).
func compactInPlace(b []byte) int {
	w, inString, escape := 0, false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escape:
				escape = false
			case c == '\\':
				escape = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			continue
		}
		b[w] = c
		w++
	}
	return w
}
