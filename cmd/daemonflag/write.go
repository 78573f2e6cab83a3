package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

var cmdWrite = &command{
	name:    "write",
	summary: "validate flag data files and replace a store's dataset with them",
	usage:   "write --store ADDR [--dry-run] [--allow-delete] [--allow-malformed] FILE...",
	help: `
Reads LaunchDarkly flag data files (JSON or YAML: "flags", "segments" and
"flagValues"; "-" reads standard input), merges them, validates the result and,
only when it is valid, replaces the store's dataset with it in one write and
marks the store initialized. On any error nothing is written.

Versions: an item's "version" is kept. Without one, an item keeps the stored
version when its content is unchanged and gets the stored version plus one when
it changed, so clients see every change. Items the store holds and the files do
not are deleted (written as tombstones at a higher version).

Validation errors (syntax, with file, line and column; an unknown top-level
property; items that do not decode; variation indexes out of range; prerequisite
or segment cycles; a key defined twice) are printed on standard error, one per
line. References to flags or segments that do not exist, unknown properties
inside an item and invalid "matches" regular expressions are warnings.

A write that would delete every live flag of the store, or more than half of
them, is refused (nothing is written) unless --allow-delete confirms it.
--dry-run prints the plan, one line per new, changed and deleted item, and
writes nothing. --allow-malformed writes items that decode but that validation
calls malformed (a variation out of range, a segment that refers to itself, a
prerequisite cycle), each reported as a warning: LaunchDarkly stores such items
and evaluates them as MALFORMED_FLAG, so "export | write --allow-malformed"
moves any dataset a LaunchDarkly Relay Proxy wrote. Syntax errors stay fatal.

Examples:
  daemonflag write --store bolt:./flags.db flags.yaml
  daemonflag write --store 'redis://localhost:6379?prefix=prod' flags.json segments.yaml
  daemonflag write --store 'dynamodb://flags?region=eu-west-1' flags.json
  daemonflag write --store bolt:./flags.db --dry-run flags.yaml
  daemonflag export --store bolt:./flags.db | daemonflag write --store redis://localhost:6379 --allow-malformed -
`,
	run: runWrite,
}

func runWrite(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("write")
	addr := a.storeFlag(fs)
	var opts writer.WriteOptions
	fs.BoolVar(&opts.DryRun, "dry-run", false, "print what would be written and deleted; write nothing")
	fs.BoolVar(&opts.AllowDelete, "allow-delete", false, "allow deleting every live flag of the store, or more than half of them")
	fs.BoolVar(&opts.AllowMalformed, "allow-malformed", false, "write items LaunchDarkly stores but evaluates as MALFORMED_FLAG (out-of-range variations, cycles), with a warning each")
	files, err := a.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("write", "no flag data files given")
	}
	if _, err := a.storeAddress("write", *addr); err != nil {
		return err
	}
	d, err := a.loadFiles(files)
	if err != nil {
		return a.printProblems(nil, err, "nothing written")
	}
	s, parsed, err := a.openStore(ctx, "write", *addr, opts.DryRun)
	if err != nil {
		return err
	}
	defer s.Close()
	return a.writeDataset(ctx, s, parsed, d, opts)
}

// writeDataset writes d (write, sync --dry-run) and reports the outcome:
// the plan for a dry run, the one-line refusal of the deletion guard, or
// the summary.
func (a *app) writeDataset(ctx context.Context, s store.Store, parsed stores.Address, d *writer.Dataset, opts writer.WriteOptions) error {
	sum, err := writer.Write(ctx, s, d, opts)
	where := describe(parsed)
	if opts.DryRun && errors.Is(err, fs.ErrNotExist) {
		// A store file that does not exist yet holds nothing: the plan is
		// every item new.
		sum, err = writer.Write(ctx, memstore.New(), d, opts)
		where += " (which does not exist yet)"
	}
	if opts.DryRun && (sum.DryRun || sum.Changes != nil) {
		printPlan(a.stdout, sum, where)
	}
	var de *writer.DeletionError
	if errors.As(err, &de) {
		for _, w := range sum.Warnings {
			fmt.Fprintln(a.stderr, w.String())
		}
		return fmt.Errorf("refusing to delete %s; nothing written: give --allow-delete to confirm", de.What())
	}
	if err := a.printProblems(sum.Warnings, err, "nothing written"); err != nil {
		return err
	}
	if sum.DryRun {
		return nil
	}
	fmt.Fprintf(a.stdout, "wrote %s and %s to %s (%d new or changed, %d deleted)\n",
		plural(sum.Flags, "flag"), plural(sum.Segments, "segment"), describe(parsed), sum.Changed, sum.Deleted)
	return nil
}

// printPlan prints the changes of a dry run, one line each, and a total.
func printPlan(w io.Writer, sum writer.WriteSummary, where string) {
	n := map[writer.ChangeAction]int{}
	for _, c := range sum.Changes {
		fmt.Fprintln(w, c.String())
		n[c.Action]++
	}
	fmt.Fprintf(w, "dry run: %d new, %d changed, %d deleted; nothing written to %s\n",
		n[writer.ChangeNew], n[writer.ChangeChanged], n[writer.ChangeDeleted], where)
}

var cmdValidate = &command{
	name:    "validate",
	summary: "check flag data files without writing anything",
	usage:   "validate [--strict] [--allow-malformed] FILE...",
	help: `
Loads and validates flag data files exactly as write does, prints every error
and warning, and writes nothing. The exit status is 0 when the files are valid
(warnings allowed), 1 otherwise: a check for CI. With --strict a warning fails
too (exit 1). --allow-malformed accepts what "write --allow-malformed" writes.

Examples:
  daemonflag validate flags.yaml
  daemonflag validate --strict flags.yaml
  daemonflag validate flags/*.json && echo ok
`,
	run: runValidate,
}

func runValidate(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("validate")
	strict := fs.Bool("strict", false, "treat warnings as errors (exit 1)")
	allowMalformed := fs.Bool("allow-malformed", false, "accept items LaunchDarkly evaluates as MALFORMED_FLAG, with a warning each")
	files, err := a.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("validate", "no flag data files given")
	}
	d, err := a.loadFiles(files)
	if err != nil {
		return a.printProblems(nil, err, "invalid")
	}
	warnings, err := writer.ValidateWith(d, writer.WriteOptions{AllowMalformed: *allowMalformed})
	if err := a.printProblems(warnings, err, "invalid"); err != nil {
		return err
	}
	if *strict && len(warnings) > 0 {
		fmt.Fprintf(a.stderr, "%s: invalid (--strict)\n", plural(len(warnings), "warning"))
		return errReported
	}
	fmt.Fprintf(a.stdout, "valid: %s and %s", plural(len(d.Flags), "flag"), plural(len(d.Segments), "segment"))
	if len(warnings) > 0 {
		fmt.Fprintf(a.stdout, ", %s", plural(len(warnings), "warning"))
	}
	fmt.Fprintln(a.stdout)
	return nil
}

var cmdSync = &command{
	name:    "sync",
	summary: "keep a store in step with flag data files as they change",
	usage:   "sync --store ADDR [--interval D] [--touch-big-segments D] [--dry-run] [--allow-delete] [--allow-malformed] FILE...",
	help: `
Writes the files like write does, then watches them (file-system notifications,
with polling as a safety net) and, on every change, validates them again and
upserts only the items that changed, deleting (tombstoning) the ones that
disappeared. A change that makes the files invalid is logged and ignored: the
store keeps the last good dataset until the files are fixed. Store errors are
logged and retried. Runs until interrupted (SIGINT or SIGTERM), then exits 0.

With --touch-big-segments D it also sets the store's big-segment
synchronized-on time every D, so that clients do not report big segments as
stale while this process runs (use it when big segments are imported with
"daemonflag bigsegments import" and no other writer keeps them fresh).

When the store loses its dataset (its "$inited" marker is gone: a Redis
restarted without persistence, a flushed database), sync notices it at the next
poll (--interval) and writes the last complete dataset again at once, with the
versions it had, logging one line with the number of such heals.

A pass that would delete every live flag of the store, or more than half of
them, writes nothing and is logged (at the start, sync exits 1) unless
--allow-delete is given. --allow-malformed is as for write. --dry-run runs one
pass without writing: it prints the plan, one line per new, changed and deleted
item, and exits.

With --listen ADDR (host:port) it serves /healthz (200 while the process
runs), /readyz (200 once the dataset has been written and the store answers
holding it; 503 with the reason otherwise) and /metrics (Prometheus text
format: passes, writes, write errors, last write time, re-seeds).

Logs go to standard error.

Examples:
  daemonflag sync --store bolt:/var/lib/flags/flags.db /etc/flags/*.yaml
  daemonflag sync --store bolt:/var/lib/flags/flags.db --listen 127.0.0.1:9464 /etc/flags/*.yaml
  daemonflag sync --store bolt:/var/lib/flags/flags.db --dry-run /etc/flags/*.yaml
  daemonflag sync --store 'redis://localhost:6379?prefix=prod' --touch-big-segments 30s flags.json
  daemonflag sync --store bolt:./flags.db --poll-only --interval 5s /mnt/nfs/flags.yaml
`,
	run: runSync,
}

func runSync(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("sync")
	addr := a.storeFlag(fs)
	interval := fs.Duration("interval", writer.DefaultPollInterval, "how often to poll the files for changes (they are also watched)")
	pollOnly := fs.Bool("poll-only", false, "do not use file-system notifications, only polling (for NFS and similar)")
	touch := fs.Duration("touch-big-segments", 0, "set the big-segment synchronized-on time at this interval (0: never)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	verbose := fs.Bool("v", false, "log debug messages too")
	dryRun := fs.Bool("dry-run", false, "print the plan of one pass and exit; write nothing")
	allowDelete := fs.Bool("allow-delete", false, "allow a pass to delete every live flag of the store, or more than half of them")
	allowMalformed := fs.Bool("allow-malformed", false, "write items LaunchDarkly evaluates as MALFORMED_FLAG, with a warning each")
	listenAddr := fs.String("listen", "", "serve /healthz, /readyz and /metrics on `ADDR` (host:port; default: no listener)")
	files, err := a.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usagef("sync", "no flag data files given")
	}
	for _, f := range files {
		if f == "-" {
			return usagef("sync", `sync watches files; "-" (standard input) cannot be watched`)
		}
	}
	if *interval <= 0 || *touch < 0 {
		return usagef("sync", "--interval must be positive and --touch-big-segments not negative")
	}
	if *logFormat != "text" && *logFormat != "json" {
		return usagef("sync", "--log-format must be text or json")
	}
	if _, err := a.storeAddress("sync", *addr); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	if *dryRun {
		d, err := a.loadFiles(files)
		if err != nil {
			return a.printProblems(nil, err, "nothing written")
		}
		s, parsed, err := a.openStore(ctx, "sync", *addr, true)
		if err != nil {
			return err
		}
		defer s.Close()
		return a.writeDataset(ctx, s, parsed, d, writer.WriteOptions{DryRun: true, AllowDelete: *allowDelete, AllowMalformed: *allowMalformed})
	}
	s, parsed, err := a.openStore(ctx, "sync", *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	log := a.logger(level, *logFormat)
	health := &daemonHealth{daemon: "sync", store: s, started: time.Now()}
	stopHealth, err := serveHealth(ctx, *listenAddr, health, log)
	if err != nil {
		return err
	}
	defer stopHealth()
	log.Info("syncing", "store", describe(parsed), "files", files)
	err = writer.Sync(ctx, s, writer.SyncOptions{
		OnPass:           health.syncPass,
		Files:            files,
		PollInterval:     *interval,
		PollOnly:         *pollOnly,
		TouchBigSegments: *touch,
		AllowDelete:      *allowDelete,
		AllowMalformed:   *allowMalformed,
		Logger:           log,
	})
	var de *writer.DeletionError
	if errors.As(err, &de) {
		return fmt.Errorf("refusing to delete %s; nothing written: give --allow-delete to confirm", de.What())
	}
	if err != nil {
		return a.printProblems(nil, err, "nothing written")
	}
	log.Info("stopped")
	return nil
}
