package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

var cmdInspect = &command{
	name:    "inspect",
	summary: "show what a store holds",
	usage:   "inspect --store ADDR [--json]",
	help: `
Shows whether the store is initialized (a writer has stored a complete dataset
under this prefix: if not, clients serve defaults, and a wrong prefix is the
usual cause), how many flags and segments it holds (and deleted ones), and the
big-segment synchronized-on time with its age (clients call big segments stale
after 120 s by default).

Stored items that do not decode (clients evaluate such a flag as
MALFORMED_FLAG) are named one per line. Inspect is a health check: the exit
status is 1 when the store is not initialized or holds a malformed item (the
report is printed regardless), 0 when it is healthy.

With --json it prints one JSON object instead, for scripts:
  {"store": ADDR, "prefix": P, "initialized": BOOL, "flags": N, "segments": N,
   "deletedFlags": N, "deletedSegments": N,
   "bigSegments": {"synchronizedOn": RFC3339 or null, "ageSeconds": SECONDS},
   "malformed": [{"kind": "flag", "key": KEY, "error": MESSAGE}, ...]}

Examples:
  daemonflag inspect --store bolt:./flags.db
  daemonflag inspect --store 'redis://localhost:6379?prefix=prod' --json | jq .flags
`,
	run: runInspect,
}

func runInspect(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("inspect")
	addr := a.storeFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("inspect", "unexpected argument %q", rest[0])
	}
	s, parsed, err := a.openStore(ctx, "inspect", *addr, true)
	if err != nil {
		return err
	}
	defer s.Close()
	info, err := writer.Inspect(ctx, s)
	if err != nil {
		return err
	}
	if *asJSON {
		out := struct {
			Store  string `json:"store"`
			Prefix string `json:"prefix"`
			writer.StoreInfo
		}{parsed.String(), parsed.Prefix, info}
		if out.Malformed == nil {
			out.Malformed = []writer.MalformedItem{}
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			return err
		}
		return inspectHealth(info, parsed)
	}
	yesNo := map[bool]string{true: "yes", false: "no (no writer has stored a dataset under this prefix)"}
	w := a.stdout
	fmt.Fprintf(w, "store:        %s\n", parsed)
	fmt.Fprintf(w, "prefix:       %q\n", parsed.Prefix)
	fmt.Fprintf(w, "initialized:  %s\n", yesNo[info.Initialized])
	fmt.Fprintf(w, "flags:        %d (%d deleted)\n", info.Flags, info.DeletedFlags)
	fmt.Fprintf(w, "segments:     %d (%d deleted)\n", info.Segments, info.DeletedSegments)
	if info.LastWrite != nil {
		age := time.Duration(*info.LastWriteAgeSeconds * float64(time.Second)).Round(time.Millisecond)
		fmt.Fprintf(w, "last write:   %s (%s ago)\n", info.LastWrite.UTC().Format(time.RFC3339Nano), age)
	}
	switch bs := info.BigSegments; {
	case bs == nil:
		fmt.Fprintf(w, "big segments: not supported by this store\n")
	case bs.SynchronizedOn == nil:
		fmt.Fprintf(w, "big segments: never synchronized\n")
	default:
		age := time.Duration(*bs.AgeSeconds * float64(time.Second)).Round(time.Second)
		fmt.Fprintf(w, "big segments: synchronized on %s (%s ago)\n", bs.SynchronizedOn.UTC().Format(time.RFC3339Nano), age)
	}
	for _, m := range info.Malformed {
		fmt.Fprintf(w, "malformed:    %s %q: %s\n", m.Kind, m.Key, m.Error)
	}
	return inspectHealth(info, parsed)
}

// inspectHealth is inspect's verdict: an error (exit 1) for a store that is
// not initialized or holds malformed items.
func inspectHealth(info writer.StoreInfo, parsed stores.Address) error {
	switch {
	case !info.Initialized:
		return fmt.Errorf("store %s is not initialized: no writer has stored a dataset under this prefix (check ?prefix=)", describe(parsed))
	case len(info.Malformed) > 0:
		return fmt.Errorf("store %s holds %s that clients evaluate as MALFORMED_FLAG (listed above)", describe(parsed), plural(len(info.Malformed), "malformed item"))
	}
	return nil
}

var cmdExport = &command{
	name:    "export",
	summary: "print a store's dataset as a flag data file",
	usage:   "export --store ADDR [--output FILE]",
	help: `
Prints the store's flags and segments (not deleted ones) as a LaunchDarkly flag
data file in JSON, with keys in order and versions kept, so that a store written
by another writer (a LaunchDarkly Relay Proxy, for instance) can be read, diffed
or moved: "export | write --allow-malformed" copies a dataset between stores,
versions included ("copy" also moves big-segment memberships). A stored item
that does not decode is left out and named on standard error; the rest is
exported.

A store that is not initialized is an error (a wrong prefix is the usual cause,
and writing its empty export elsewhere would delete everything there), unless
--allow-uninitialized is given.

Examples:
  daemonflag export --store bolt:./flags.db > flags.json
  daemonflag export --store 'redis://localhost:6379?prefix=prod' | daemonflag write --store bolt:./prod.db -
  daemonflag export --store 'dynamodb://flags?region=eu-west-1' --output backup.json
`,
	run: runExport,
}

func runExport(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("export")
	addr := a.storeFlag(fs)
	output := fs.String("output", "", "write to `FILE` instead of standard output")
	allow := fs.Bool("allow-uninitialized", false, "export even when the store is not initialized")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("export", "unexpected argument %q", rest[0])
	}
	s, parsed, err := a.openStore(ctx, "export", *addr, true)
	if err != nil {
		return err
	}
	defer s.Close()
	inited, err := s.Initialized(ctx)
	if err != nil {
		return err
	}
	if !inited && !*allow {
		return fmt.Errorf("store %s is not initialized: no writer has stored a dataset under this prefix "+
			"(check ?prefix=); use --allow-uninitialized to export it anyway", describe(parsed))
	}
	d, err := writer.Export(ctx, s)
	if err != nil {
		return err
	}
	for _, p := range d.Warnings {
		fmt.Fprintln(a.stderr, p.String())
	}
	if *output == "" {
		w := bufio.NewWriter(a.stdout)
		if err := d.WriteJSON(w); err != nil {
			return err
		}
		return w.Flush()
	}
	// Write a sibling file and rename it, so a failed export never leaves
	// a truncated file behind.
	tmp := *output + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = d.WriteJSON(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, *output)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	fmt.Fprintf(a.stderr, "exported %s and %s to %s\n", plural(len(d.Flags), "flag"), plural(len(d.Segments), "segment"), *output)
	return nil
}
