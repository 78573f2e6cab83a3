package stores

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/stores/file"
)

// parseFile parses what follows "file:": PATH[,PATH...] with the optional
// parameters duplicates=first|error, settle=DURATION, poll_interval=DURATION
// and poll_only=BOOL (see file.Options). "file://PATH" is accepted too.
func parseFile(rest, red string, fail func(string, string, ...any) (Address, error)) (Address, error) {
	rest = strings.TrimPrefix(rest, "//")
	list, query, hasQuery := strings.Cut(rest, "?")
	var paths []string
	for _, p := range strings.Split(list, ",") {
		switch {
		case p == "":
			return fail(ExampleFile, "empty file path; give file:PATH or file:PATH,PATH,...")
		case strings.ContainsRune(p, 0):
			return fail(ExampleFile, "a file path holds a NUL byte")
		}
		paths = append(paths, p)
	}
	o := &file.Options{}
	if hasQuery {
		q, err := url.ParseQuery(query)
		if err != nil {
			return fail(ExampleFile, "query: %v", err)
		}
		for name, vals := range q {
			if len(vals) != 1 {
				return fail(ExampleFile, "parameter %q is given %d times", name, len(vals))
			}
			v := vals[0]
			switch name {
			case "duplicates":
				switch v {
				case "first":
					o.KeepFirstDuplicates = true
				case "error":
				default:
					return fail(ExampleFile+"?duplicates=first", "duplicates=%q: want first or error", v)
				}
			case "settle", "poll_interval":
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 {
					return fail(ExampleFile+"?"+name+"=50ms", "%s=%q is not a duration such as 50ms", name, v)
				}
				if name == "settle" {
					o.Settle = d
				} else {
					o.PollInterval = d
				}
			case "poll_only":
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fail(ExampleFile+"?poll_only=true", "poll_only=%q is not true or false", v)
				}
				o.PollOnly = b
			default:
				return fail(ExampleFile+"?duplicates=first", "unknown parameter %q (a file address takes duplicates, settle, poll_interval and poll_only)", name)
			}
		}
	}
	return Address{Backend: File, FilePaths: paths, File: o, redacted: red}, nil
}
