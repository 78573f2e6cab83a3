package jsontok

// CountRest returns the number of elements of an array from the current
// one to the end, the scanner being at the start of an element (after
// [Scanner.Elem] returned true), without moving it, so that a reader can
// allocate a list once at its final length; -1 when the rest of the array
// is not valid (the reader's own pass then reports the error). Elements of
// ASCII strings and shallow values are skipped with skipFast's loop; others
// with the general path on a copy of the scanner.
func (sc *Scanner) CountRest() int {
	if sc.failed {
		return -1
	}
	s := sc.s
	i := sc.pos
	n := 0
	for {
		end, _, ok := skipFast(s, i)
		if !ok {
			return sc.countRestGeneral()
		}
		n++
		i = skipSpace(s, end)
		if i >= len(s) {
			return -1
		}
		switch s[i] {
		case ',':
			i++
		case ']':
			return n
		default:
			return -1
		}
	}
}

// countRestGeneral is CountRest by the general path, on a copy of sc.
func (sc *Scanner) countRestGeneral() int {
	tmp := *sc
	it := ArrIter{started: true}
	n := 0
	for {
		tmp.Skip()
		n++
		if !tmp.Elem(&it) {
			break
		}
	}
	if tmp.failed {
		return -1
	}
	return n
}
