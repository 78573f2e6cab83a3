package model

import (
	"fmt"
	"strconv"
	"strings"
)

// DecodeError describes an invalid flag or segment document.
type DecodeError struct {
	// Kind is "flag" or "segment".
	Kind string
	// Key is the item's key, or "" when it could not be read.
	Key string
	// Path locates the offending field, such as "rules[2].clauses[0].op";
	// it is empty for problems with the document as a whole.
	Path string
	// Offset is the byte offset in the document where the problem was found.
	Offset int
	// Problem says what is wrong.
	Problem string
}

// Error implements error: `model: flag "my-flag": rules[0].op: expected a
// string, got number`.
func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString("model: ")
	b.WriteString(e.Kind)
	if e.Key != "" {
		b.WriteString(" ")
		b.WriteString(strconv.Quote(e.Key))
	} else {
		b.WriteString(" (key unknown)")
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Problem)
	if e.Offset >= 0 {
		fmt.Fprintf(&b, " (at byte %d)", e.Offset)
	}
	return b.String()
}
