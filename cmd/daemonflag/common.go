package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// storeFlag adds --store to fs.
func (a *app) storeFlag(fs *flag.FlagSet) *string {
	return fs.String("store", "", "store `ADDR`ess, such as bolt:./flags.db or redis://localhost:6379 (default: $"+envStore+")")
}

// storeAddress parses the address given with --store (or
// $DAEMONFLAG_STORE).
func (a *app) storeAddress(cmd, addr string) (stores.Address, error) {
	if addr == "" {
		addr = a.getenv(envStore)
	}
	if addr == "" {
		return stores.Address{}, usagef(cmd, "no store: give --store ADDR (for example --store %s) or set %s", stores.ExampleBolt, envStore)
	}
	return stores.Parse(addr)
}

// openStore opens the store named by --store (or $DAEMONFLAG_STORE).
func (a *app) openStore(ctx context.Context, cmd, addr string, readOnly bool) (store.Store, stores.Address, error) {
	parsed, err := a.storeAddress(cmd, addr)
	if err != nil {
		return nil, stores.Address{}, err
	}
	// The store's own log lines (a file store's reloads, Redis warnings)
	// go to stderr, warnings and errors only: the command reports the rest.
	s, err := parsed.Open(ctx, &stores.OpenOptions{ReadOnly: readOnly, Logger: a.logger(slog.LevelWarn, "text")})
	if err != nil {
		return nil, parsed, err
	}
	return s, parsed, nil
}

// describe names an opened store in messages: its address (passwords
// hidden) and prefix.
func describe(a stores.Address) string {
	if a.Prefix == "" {
		return a.String()
	}
	return fmt.Sprintf("%s (prefix %q)", a, a.Prefix)
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// printProblems prints validation warnings, and the errors of err when it
// is a *writer.ValidationError, returning errReported for those; other
// errors are returned as they are.
func (a *app) printProblems(warnings []writer.Problem, err error, what string) error {
	for _, w := range warnings {
		fmt.Fprintln(a.stderr, w.String())
	}
	var ve *writer.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	for _, p := range ve.Problems {
		fmt.Fprintln(a.stderr, p.String())
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", plural(len(ve.Problems), "error"), what)
	return errReported
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// loadFiles loads flag data files; "-" reads standard input.
func (a *app) loadFiles(paths []string) (*writer.Dataset, error) {
	var sets []*writer.Dataset
	var problems []writer.Problem
	stdin := false
	seen := map[string]bool{}
	for _, p := range paths {
		if p != "-" {
			abs, err := filepath.Abs(p)
			if err != nil {
				return nil, err
			}
			if seen[abs] {
				return nil, fmt.Errorf("%s is given twice", p)
			}
			seen[abs] = true
		}
		var d *writer.Dataset
		var err error
		if p == "-" {
			if stdin {
				return nil, errors.New(`"-" (standard input) given twice`)
			}
			stdin = true
			data, rerr := io.ReadAll(io.LimitReader(a.stdin, writer.MaxFileSize+1))
			if rerr != nil {
				return nil, fmt.Errorf("read standard input: %w", rerr)
			}
			d, err = writer.Parse("<stdin>", data)
		} else {
			d, err = writer.LoadFile(p)
		}
		var ve *writer.ValidationError
		switch {
		case errors.As(err, &ve):
			problems = append(problems, ve.Problems...)
		case err != nil:
			return nil, err
		default:
			sets = append(sets, d)
		}
	}
	if len(problems) > 0 {
		return nil, &writer.ValidationError{Problems: problems}
	}
	return writer.Merge(sets...)
}

// logger returns a logger writing text lines to stderr at level.
func (a *app) logger(level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(a.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(a.stderr, opts))
}

// openInput opens a key or context file; "-" is standard input.
func (a *app) openInput(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(a.stdin), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return f, nil
}
