package writer

import (
	"fmt"
	"strconv"
	"strings"
)

// Source locates something in a flag data file. Line and Column count from
// 1 (Column in characters); they are zero when unknown.
type Source struct {
	File   string
	Line   int
	Column int
}

// String formats the source as "file:line:column", leaving out the parts
// that are unknown.
func (s Source) String() string {
	var b strings.Builder
	b.WriteString(s.File)
	if s.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(s.Line))
		if s.Column > 0 {
			b.WriteString(":")
			b.WriteString(strconv.Itoa(s.Column))
		}
	}
	return b.String()
}

// Problem is one finding about a dataset: an error, which stops it from
// being written, or a warning, which does not.
type Problem struct {
	// Source is where the problem is; File is empty for problems found in
	// the store rather than in a file.
	Source Source
	// Kind is "flag" or "segment" for a problem with one item, empty for a
	// problem with a file as a whole.
	Kind string
	// Key is the item's key, when Kind is set.
	Key string
	// Message says what is wrong.
	Message string
	// Warning is true for findings that LaunchDarkly accepts but that are
	// probably mistakes, such as a prerequisite naming a flag that does not
	// exist.
	Warning bool
}

// String formats the problem as one line, compiler style:
//
//	flags.yaml:12:3: flag "new-ui": rules[0].variation: 3 is out of range (2 variations)
func (p Problem) String() string {
	var b strings.Builder
	if s := p.Source.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if p.Warning {
		b.WriteString("warning: ")
	}
	if p.Kind != "" {
		b.WriteString(p.Kind)
		b.WriteString(" ")
		b.WriteString(strconv.Quote(p.Key))
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// ValidationError reports that flag data files cannot be loaded or that the
// dataset they hold is invalid. Nothing has been written when a function
// returns it.
type ValidationError struct {
	// Problems are the errors found (never warnings), in file order.
	Problems []Problem
}

// Error implements error: the first problem, and how many more there are.
// Print Problems for the full list.
func (e *ValidationError) Error() string {
	switch len(e.Problems) {
	case 0:
		return "invalid flag data"
	case 1:
		return e.Problems[0].String()
	}
	return fmt.Sprintf("%s (and %d more problems)", e.Problems[0].String(), len(e.Problems)-1)
}

// problems collects errors and warnings.
type problems struct {
	errs, warns []Problem
	// allowMalformed makes malformedf record warnings.
	allowMalformed bool
}

// malformedPrefix starts the warning for a malformed item written anyway.
const malformedPrefix = "malformed, written anyway (it evaluates as MALFORMED_FLAG): "

// malformedf records a problem that makes an item malformed for the
// evaluator although it decodes: an error, or with allowMalformed a
// warning.
func (ps *problems) malformedf(src Source, kind, key, format string, args ...any) {
	if ps.allowMalformed {
		ps.warnf(src, kind, key, malformedPrefix+format, args...)
		return
	}
	ps.errorf(src, kind, key, format, args...)
}

func (ps *problems) add(p Problem) {
	if p.Warning {
		ps.warns = append(ps.warns, p)
	} else {
		ps.errs = append(ps.errs, p)
	}
}

func (ps *problems) errorf(src Source, kind, key, format string, args ...any) {
	ps.add(Problem{Source: src, Kind: kind, Key: key, Message: fmt.Sprintf(format, args...)})
}

func (ps *problems) warnf(src Source, kind, key, format string, args ...any) {
	ps.add(Problem{Source: src, Kind: kind, Key: key, Message: fmt.Sprintf(format, args...), Warning: true})
}

// err returns a *ValidationError when there are errors, else nil.
func (ps *problems) err() error {
	if len(ps.errs) == 0 {
		return nil
	}
	return &ValidationError{Problems: ps.errs}
}
