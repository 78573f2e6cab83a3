package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
)

var cmdWatch = &command{
	name:    "watch",
	summary: "print each flag change a client sees, as it sees it",
	usage:   "watch --store ADDR [--flag KEY]... [--context JSON|@FILE] [--ttl D]",
	help: `
Runs a daemonflag client on the store, as an application would, and prints one
JSON object per line for every flag change the client's change listener
reports (a flag's own change, or one through a prerequisite or segment), until
interrupted (SIGINT or SIGTERM, exit 0): the "tail -f" of flags, and a way to
see from a shell how fast a change reaches clients.

  {"time":RFC3339,"flag":KEY,"oldVersion":N,"newVersion":M}

newVersion is the version the store holds when the change is reported (the
same as oldVersion for a change through a prerequisite or segment);
"deleted":true is added for a deleted flag. With --context the line also has
the flag's new value, variation index and reason for that context, as eval
prints them. Without --flag every flag is watched.

--ttl sets the client's cache TTL (default 15 s, LaunchDarkly's), which is
also how often the client polls for changes when the store cannot push them.

Examples:
  daemonflag watch --store bolt:./flags.db
  daemonflag watch --store redis://localhost:6379 --flag new-ui --context '{"kind":"user","key":"alice"}' --ttl 1s
`,
	run: runWatch,
}

func runWatch(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("watch")
	addr := a.storeFlag(fs)
	var flagKeys stringList
	fs.Var(&flagKeys, "flag", "a flag `KEY` to watch (repeatable; default: every flag)")
	ctxArg := fs.String("context", "", "evaluate changed flags for this context (`JSON`, or @FILE)")
	ttl := fs.Duration("ttl", 0, "the client's cache TTL and change-poll interval (0: 15s)")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("watch", "unexpected argument %q (give flags with --flag KEY)", rest[0])
	}
	if *ttl < 0 {
		return usagef("watch", "--ttl must not be negative")
	}
	var ec *evalctx.Context
	if *ctxArg != "" {
		cs, err := a.readContexts(*ctxArg, "")
		if err != nil {
			return err
		}
		ec = &cs[0].ec
	}
	s, parsed, err := a.openStore(ctx, "watch", *addr, true)
	if err != nil {
		return err
	}
	defer s.Close()

	// The versions the store holds now: the "old" side of the first change.
	versions := map[string]int{}
	if all, err := s.GetAll(ctx, store.Features); err == nil {
		for _, ki := range all {
			versions[ki.Key] = ki.Item.Version
		}
	}
	cfg := client.Config{Store: s, Logger: a.logger(slog.LevelWarn, "text")}
	cfg.Cache.TTL = *ttl
	if br, ok := s.(store.BigSegmentReader); ok {
		if big, err := hasBigSegments(ctx, s); err == nil && big {
			cfg.BigSegments.Store = br
		}
	}
	c, err := client.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()

	var mu sync.Mutex // one line at a time, versions
	var line []byte
	var writeErr error
	remove := c.AddFlagChangeListener(func(ev client.FlagChangeEvent) {
		if len(flagKeys) > 0 && !slices.Contains(flagKeys, ev.Key) {
			return
		}
		it, found, err := s.Get(ctx, store.Features, ev.Key)
		mu.Lock()
		defer mu.Unlock()
		old := versions[ev.Key]
		newVersion := old
		if err == nil && found {
			newVersion = it.Version
			versions[ev.Key] = newVersion
		}
		line = appendWatchLine(line[:0], time.Now(), ev.Key, old, newVersion, found && it.Deleted || err == nil && !found)
		if ec != nil {
			value, detail, _ := c.JSONVariationDetailCtx(ctx, ev.Key, *ec, jsonvalue.Null())
			line = appendWatchValue(line, value, detail)
		}
		line = append(line, "}\n"...)
		if _, err := a.stdout.Write(line); err != nil && writeErr == nil {
			writeErr = err
		}
	})
	defer remove()
	what := "every flag"
	if len(flagKeys) > 0 {
		what = plural(len(flagKeys), "flag")
	}
	fmt.Fprintf(a.stderr, "watching %s in %s; stop with Ctrl-C\n", what, describe(parsed))
	<-ctx.Done()
	mu.Lock()
	defer mu.Unlock()
	return writeErr
}

// appendWatchLine appends the start of one watch line, up to the versions.
func appendWatchLine(b []byte, t time.Time, key string, oldVersion, newVersion int, deleted bool) []byte {
	b = append(b, `{"time":`...)
	b = jsonvalue.String(t.UTC().Format(time.RFC3339Nano)).AppendJSON(b)
	b = append(b, `,"flag":`...)
	b = jsonvalue.String(key).AppendJSON(b)
	b = fmt.Appendf(b, `,"oldVersion":%d,"newVersion":%d`, oldVersion, newVersion)
	if deleted {
		b = append(b, `,"deleted":true`...)
	}
	return b
}

// appendWatchValue appends the value, variation index and reason, as eval
// prints them.
func appendWatchValue(b []byte, value jsonvalue.Value, d evaluation.Detail) []byte {
	// eval's line without its braces, context and flag.
	l := appendEvalLine(nil, evalctx.NewBuilder("x").Build(), "x", value, d)
	if i := bytes.Index(l, []byte(`,"value":`)); i >= 0 {
		b = append(b, bytes.TrimSuffix(l[i:], []byte("}\n"))...)
	}
	return b
}
