package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/daemonflag/daemonflag/membership"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

var cmdBigSegments = &command{
	name:    "bigsegments",
	summary: "import big-segment memberships, or mark them up to date",
	usage:   "bigsegments import|touch [flags]",
	help: `
Big segments are segments with "unbounded": true whose members (up to millions
of context keys) live in the store, apart from the segment's JSON. Clients look
a context's membership up by a hash of its key.

  import  add, remove or replace the members of one segment generation from
          files of context keys, then set the synchronized-on time
  touch   set the synchronized-on time alone

Clients call big-segment data stale when the synchronized-on time is older
than 120 s (by default): run touch (or "daemonflag sync --touch-big-segments")
regularly when nothing else keeps the store fresh.

Run "daemonflag help bigsegments import" or "daemonflag help bigsegments touch"
for their flags.

Examples:
  daemonflag bigsegments import --store bolt:./flags.db --segment beta --generation 1 --include members.txt
  daemonflag bigsegments touch --store bolt:./flags.db
`,
	run: runBigSegments,
}

var cmdBSImport = &command{
	name:    "bigsegments import",
	summary: "import the members of a big segment's generation from files of context keys",
	usage:   "bigsegments import --store ADDR --segment KEY --generation N [--include FILE] [--exclude FILE] [--remove FILE] [--replace]",
	help: `
Reads context keys, one per line ("-" for standard input; blank lines and
surrounding spaces are ignored; with --column NAME, a CSV file with a header
row and the keys in column NAME), hashes them as LaunchDarkly does, and writes
them to the store as members of the segment's generation: --include keys are
included, --exclude keys excluded, and --remove keys removed from both.

Without --replace, members are added (and removed with --remove); others stay.
With --replace, the generation's membership becomes exactly the files': members
that are not listed are removed (the store must list memberships, which every
daemonflag backend does). --replace cannot be combined with --remove.

Every write is idempotent: an import that was interrupted (killed, a store
error) reaches the right result when run again. When it succeeds, the
synchronized-on time is set to now. The import first reads the store's current
memberships, so that keys already members are not written again and the
summary counts what really changed ("added" keys were not members before;
"unchanged" ones were). A file with several CSV columns needs --column.

Progress goes to standard error: a progress bar on a terminal, a line every few
seconds otherwise (--progress). A summary line goes to standard output.

Examples:
  daemonflag bigsegments import --store bolt:./flags.db --segment beta --generation 1 --include members.txt
  daemonflag bigsegments import --store redis://localhost:6379 --segment beta --generation 2 --include new.txt --replace
  cut -d, -f1 users.csv | daemonflag bigsegments import --store bolt:./flags.db --segment vip --generation 1 --include -
  daemonflag bigsegments import --store bolt:./flags.db --segment vip --generation 1 --include users.csv --column user_id
  daemonflag bigsegments import --store bolt:./flags.db --segment beta --generation 1 --remove churned.txt
`,
}

var cmdBSTouch = &command{
	name:    "bigsegments touch",
	summary: "set the big-segment synchronized-on time",
	usage:   "bigsegments touch --store ADDR [--at TIME]",
	help: `
Records that the store's big-segment data is up to date as of now (or --at), so
that clients do not report it stale. Run it from a job that keeps memberships
current by other means, or use "daemonflag sync --touch-big-segments D".

Examples:
  daemonflag bigsegments touch --store bolt:./flags.db
  daemonflag bigsegments touch --store 'redis://localhost:6379?prefix=prod' --at 2024-05-01T12:00:00Z
`,
}

func runBigSegments(ctx context.Context, a *app, cmd *command, args []string) error {
	if len(args) == 0 {
		return usagef(cmd.name, "give a subcommand: import or touch")
	}
	switch args[0] {
	case "import":
		return runBSImport(ctx, a, cmdBSImport, args[1:])
	case "touch":
		return runBSTouch(ctx, a, cmdBSTouch, args[1:])
	case "-h", "-help", "--help", "help":
		a.commandHelp(cmd, nil, a.stdout)
		return errHelpShown
	}
	return usagef(cmd.name, "unknown subcommand %q: give import or touch", args[0])
}

func runBSImport(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags(cmd.name)
	addr := a.storeFlag(fs)
	segment := fs.String("segment", "", "the big segment's `KEY` (required)")
	generation := fs.Int("generation", -1, "the segment's generation `N` the members belong to (required)")
	include := fs.String("include", "", "`FILE` of context keys to include (\"-\": standard input)")
	exclude := fs.String("exclude", "", "`FILE` of context keys to exclude")
	remove := fs.String("remove", "", "`FILE` of context keys to remove from both sets")
	replace := fs.Bool("replace", false, "make the membership exactly the files' (remove unlisted members)")
	csvColumn := fs.String("column", "", "read CSV files with a header row, taking keys from column `NAME`")
	batch := fs.Int("batch-size", 0, "membership changes per store write (0: 5000)")
	concurrency := fs.Int("concurrency", 0, "store writes in flight at once (0: 4)")
	progressMode := fs.String("progress", "auto", "progress report: auto (a bar on a terminal, lines otherwise), bar, lines or none")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(cmd.name, "unexpected argument %q", rest[0])
	}
	switch {
	case *segment == "":
		return usagef(cmd.name, "--segment KEY is required")
	case *generation < 0:
		return usagef(cmd.name, "--generation N (0 or more) is required")
	case *include == "" && *exclude == "" && *remove == "":
		return usagef(cmd.name, "nothing to import: give --include, --exclude or --remove")
	case *replace && *remove != "":
		return usagef(cmd.name, "--replace cannot be combined with --remove (a replacing import removes every unlisted member)")
	case *batch < 0 || *concurrency < 0:
		return usagef(cmd.name, "--batch-size and --concurrency must not be negative")
	}
	stdins := 0
	for _, p := range []string{*include, *exclude, *remove} {
		if p == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return usagef(cmd.name, `only one input can be "-" (standard input)`)
	}
	mode, err := progressFor(*progressMode, a.terminal)
	if err != nil {
		return usagef(cmd.name, "%v", err)
	}

	opts := membership.Options{
		Segment: *segment, Generation: *generation, Replace: *replace,
		CSVColumn: *csvColumn, BatchSize: *batch, Concurrency: *concurrency,
	}
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	var total int64 = 0
	known := !*replace
	for _, in := range []struct {
		path string
		dst  *io.Reader
	}{{*include, &opts.Include}, {*exclude, &opts.Exclude}, {*remove, &opts.Remove}} {
		if in.path == "" {
			continue
		}
		r, err := a.openInput(in.path)
		if err != nil {
			return err
		}
		closers = append(closers, r)
		*in.dst = r
		if n, ok := countLines(in.path); ok && known {
			total += n
		} else {
			known = false
		}
	}
	if !known {
		total = -1
	}

	s, parsed, err := a.openStore(ctx, cmd.name, *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	bw, ok := s.(store.BigSegmentWriter)
	if !ok {
		return fmt.Errorf("store %s has no big-segment support", describe(parsed))
	}
	a.checkSegment(ctx, s, *segment, *generation)

	p := newProgress(mode, a.stderr, total)
	opts.Progress = p.update
	sum, err := membership.Import(ctx, bw, opts)
	p.finish()
	if err != nil {
		if sum.Added+sum.Removed > 0 {
			fmt.Fprintf(a.stderr, "before the failure: added %d, removed %d; running the same import again completes it\n", sum.Added, sum.Removed)
		}
		return err
	}
	fmt.Fprintf(a.stdout, "big segment %q generation %d in %s: added %d, removed %d, unchanged %d in %.1fs (%.0f keys/s); synchronized on %s\n",
		*segment, *generation, describe(parsed), sum.Added, sum.Removed, sum.Unchanged,
		sum.Duration.Seconds(), sum.KeysPerSecond, sum.SynchronizedOn.UTC().Format(time.RFC3339Nano))
	return nil
}

// checkSegment warns when the store's flag data does not describe the
// segment as a big segment of that generation: the import still runs (the
// segment may be written later), but clients would not use the members.
func (a *app) checkSegment(ctx context.Context, s store.Reader, key string, generation int) {
	item, found, err := s.Get(ctx, store.Segments, key)
	if err != nil {
		return
	}
	warn := func(format string, args ...any) {
		fmt.Fprintf(a.stderr, "warning: segment %q: %s\n", key, fmt.Sprintf(format, args...))
	}
	if !found || item.Deleted {
		warn("not in this store's flag data (yet); clients use the members once a segment with \"unbounded\": true and \"generation\": %d is written", generation)
		return
	}
	seg, err := model.DecodeSegment(item.Data)
	switch {
	case err != nil:
		warn("the stored segment does not decode: %v", err)
	case !seg.Unbounded:
		warn(`the stored segment is not a big segment ("unbounded": false), so clients never look these members up`)
	case seg.Generation == nil:
		warn(`the stored segment has no "generation", so clients never look these members up`)
	case *seg.Generation != generation:
		warn("the stored segment is at generation %d; clients look up generation %d, not %d", *seg.Generation, *seg.Generation, generation)
	}
}

// countLines counts the non-blank lines of a regular file, for the
// progress bar's total; ok is false for standard input and other streams.
func countLines(path string) (int64, bool) {
	if path == "-" {
		return 0, false
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, false
	}
	var n int64
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadSlice('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// A key longer than the buffer: count it once, skip the rest.
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
		}
		if err != nil {
			return n, errors.Is(err, io.EOF)
		}
	}
}

func runBSTouch(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags(cmd.name)
	addr := a.storeFlag(fs)
	at := fs.String("at", "", "the `TIME` to record, RFC 3339 (default: now)")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef(cmd.name, "unexpected argument %q", rest[0])
	}
	var t time.Time
	if *at != "" {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, *at); err != nil {
			return usagef(cmd.name, "--at %q is not an RFC 3339 time such as 2024-05-01T12:00:00Z", *at)
		}
	} else {
		t = time.Now()
	}
	s, parsed, err := a.openStore(ctx, cmd.name, *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	bw, ok := s.(store.BigSegmentWriter)
	if !ok {
		return fmt.Errorf("store %s has no big-segment support", describe(parsed))
	}
	if err := membership.Touch(ctx, bw, t); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "big segments in %s synchronized on %s\n", describe(parsed), t.UTC().Format(time.RFC3339Nano))
	return nil
}
