package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

var cmdEval = &command{
	name:    "eval",
	summary: "evaluate flags for contexts, as a client would",
	usage:   "eval --store ADDR (--context JSON|@FILE | --contexts FILE.jsonl) [--flag KEY]... [--default JSON]",
	help: `
Evaluates flags through the daemonflag client, exactly as an application using
the store would, and prints one JSON object per line for each context and flag:

  {"context":FQKEY,"flag":KEY,"value":VALUE,"variationIndex":N,"reason":REASON}

  context         the context's fully-qualified key ("alice" for a user,
                  "org:acme" for other kinds, "org:acme:user:alice" for a
                  multi-kind context)
  flag            the flag key
  value           the value the client returns; when there is no variation
                  index it is the default (null unless --default is given)
  variationIndex  the index of the variation served; left out when none
  reason          LaunchDarkly's evaluation reason, e.g. {"kind":"RULE_MATCH",
                  "ruleIndex":0,"ruleId":"beta"} or {"kind":"FALLTHROUGH"}

The format is stable: scripts may rely on it. Without --flag every flag in the
store is evaluated, in key order. Contexts come from --context (JSON, or @FILE
holding JSON) and from --contexts (a file with one JSON context per line, "-"
for standard input), in that order; the old LaunchDarkly user format works too.

The exit status is 1 when any evaluation ends in an ERROR reason (for example a
--flag that does not exist); the lines are printed regardless.

Examples:
  daemonflag eval --store bolt:./flags.db --context '{"kind":"user","key":"alice"}'
  daemonflag eval --store bolt:./flags.db --context @alice.json --flag new-ui --flag price
  daemonflag eval --store redis://localhost:6379 --contexts users.jsonl --flag new-ui --default false
  daemonflag eval --store bolt:./flags.db --context '{"kind":"multi","user":{"key":"a"},"org":{"key":"acme"}}'
`,
	run: runEval,
}

// evalContext is a context to evaluate, with where it came from.
type evalContext struct {
	origin string
	ec     evalctx.Context
}

func runEval(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("eval")
	addr := a.storeFlag(fs)
	ctxArg := fs.String("context", "", "the context as `JSON`, or @FILE to read it from a file")
	ctxFile := fs.String("contexts", "", "a `FILE` of contexts, one JSON object per line (\"-\": standard input)")
	var flagKeys stringList
	fs.Var(&flagKeys, "flag", "a flag `KEY` to evaluate (repeatable; default: every flag)")
	defArg := fs.String("default", "null", "the default value as `JSON`")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("eval", "unexpected argument %q (give flags with --flag KEY)", rest[0])
	}
	if *ctxArg == "" && *ctxFile == "" {
		return usagef("eval", "no context: give --context JSON, --context @FILE or --contexts FILE.jsonl")
	}
	def, err := jsonvalue.Parse([]byte(*defArg))
	if err != nil {
		return usagef("eval", "--default is not JSON: %v", err)
	}
	contexts, err := a.readContexts(*ctxArg, *ctxFile)
	if err != nil {
		return err
	}

	s, parsed, err := a.openStore(ctx, "eval", *addr, true)
	if err != nil {
		return err
	}
	defer s.Close()
	inited, err := s.Initialized(ctx)
	if err != nil {
		return err
	}
	if !inited {
		return fmt.Errorf("store %s is not initialized: no writer has stored a dataset under this prefix (check ?prefix=)", describe(parsed))
	}
	keys := []string(flagKeys)
	if len(keys) == 0 {
		all, err := s.GetAll(ctx, store.Features)
		if err != nil {
			return err
		}
		for _, ki := range all {
			if !ki.Item.Deleted {
				keys = append(keys, ki.Key)
			}
		}
		slices.Sort(keys)
	}

	cfg := client.Config{Store: s, Logger: a.logger(slog.LevelWarn, "text")}
	if br, ok := s.(store.BigSegmentReader); ok {
		// Only with big segments in the data: otherwise the big-segment
		// status (never synchronized, say) is noise.
		big, err := hasBigSegments(ctx, s)
		if err != nil {
			return err
		}
		if big {
			cfg.BigSegments.Store = br
		}
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	out := bufio.NewWriter(a.stdout)
	failed := map[string]string{} // flag key -> first error
	var line []byte
	for _, ctxt := range contexts {
		for _, key := range keys {
			value, detail, err := c.JSONVariationDetailCtx(ctx, key, ctxt.ec, def)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil && failed[key] == "" {
				failed[key] = fmt.Sprintf("%s for the context from %s", detail.Reason.ErrorKind, ctxt.origin)
			}
			line = appendEvalLine(line[:0], ctxt.ec, key, value, detail)
			if _, err := out.Write(line); err != nil {
				return err
			}
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if len(failed) > 0 {
		for _, key := range slices.Sorted(mapKeys(failed)) {
			fmt.Fprintf(a.stderr, "flag %q: %s\n", key, failed[key])
		}
		return errReported
	}
	return nil
}

// appendEvalLine appends one output line:
// {"context":…,"flag":…,"value":…,"variationIndex":…,"reason":…}.
func appendEvalLine(b []byte, ec evalctx.Context, key string, value jsonvalue.Value, d evaluation.Detail) []byte {
	b = append(b, `{"context":`...)
	b = jsonvalue.String(ec.FullyQualifiedKey()).AppendJSON(b)
	b = append(b, `,"flag":`...)
	b = jsonvalue.String(key).AppendJSON(b)
	b = append(b, `,"value":`...)
	b = value.AppendJSON(b)
	if d.VariationIndex != evaluation.NoVariation {
		b = append(b, `,"variationIndex":`...)
		b = fmt.Appendf(b, "%d", d.VariationIndex)
	}
	b = append(b, `,"reason":`...)
	b = d.Reason.AppendJSON(b)
	return append(b, "}\n"...)
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// readContexts reads --context and --contexts.
func (a *app) readContexts(arg, file string) ([]evalContext, error) {
	var out []evalContext
	if arg != "" {
		origin, data := "--context", []byte(arg)
		if name, ok := strings.CutPrefix(arg, "@"); ok {
			var err error
			if data, err = os.ReadFile(name); err != nil {
				return nil, fmt.Errorf("--context: %w", err)
			}
			origin = name
		}
		ec, err := evalctx.Parse(bytes.TrimSpace(data))
		if err != nil {
			return nil, fmt.Errorf("%s: invalid context: %v", origin, err)
		}
		out = append(out, evalContext{origin: origin, ec: ec})
	}
	if file != "" {
		r, err := a.openInput(file)
		if err != nil {
			return nil, fmt.Errorf("--contexts: %w", err)
		}
		defer r.Close()
		name := file
		if file == "-" {
			name = "<stdin>"
		}
		br := bufio.NewReader(r)
		for n := 1; ; n++ {
			line, err := br.ReadBytes('\n')
			if len(bytes.TrimSpace(line)) > 0 {
				ec, perr := evalctx.Parse(bytes.TrimSpace(line))
				if perr != nil {
					return nil, fmt.Errorf("%s:%d: invalid context: %v", name, n, perr)
				}
				out = append(out, evalContext{origin: fmt.Sprintf("%s:%d", name, n), ec: ec})
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("--contexts: %w", err)
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: no contexts in the file", name)
		}
	}
	return out, nil
}

// hasBigSegments reports whether the store holds a segment with
// "unbounded": true.
func hasBigSegments(ctx context.Context, s store.Reader) (bool, error) {
	all, err := s.GetAll(ctx, store.Segments)
	if err != nil {
		return false, err
	}
	for _, ki := range all {
		if ki.Item.Deleted || !bytes.Contains(ki.Item.Data, []byte("unbounded")) {
			continue
		}
		if seg, err := model.DecodeSegment(ki.Item.Data); err == nil && seg.Unbounded {
			return true, nil
		}
	}
	return false, nil
}
