package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/daemonflag/daemonflag/writer"
)

var cmdWrite = &command{
	name:    "write",
	summary: "validate flag data files and replace a store's dataset with them",
	usage:   "write --store ADDR FILE...",
	help: `
Reads LaunchDarkly flag data files (JSON or YAML: "flags", "segments" and
"flagValues"; "-" reads standard input), merges them, validates the result and,
only when it is valid, replaces the store's dataset with it in one write and
marks the store initialized. On any error nothing is written.

Versions: an item's "version" is kept. Without one, an item keeps the stored
version when its content is unchanged and gets the stored version plus one when
it changed, so clients see every change. Items the store holds and the files do
not are deleted (written as tombstones at a higher version).

Validation errors (syntax, with file, line and column; items that do not decode;
variation indexes out of range; prerequisite or segment cycles; a key defined
twice) are printed on standard error, one per line. References to flags or
segments that do not exist are warnings.

Examples:
  daemonflag write --store bolt:./flags.db flags.yaml
  daemonflag write --store 'redis://localhost:6379?prefix=prod' flags.json segments.yaml
  daemonflag write --store 'dynamodb://flags?region=eu-west-1' flags.json
  daemonflag export --store bolt:./flags.db | daemonflag write --store redis://localhost:6379 -
`,
	run: runWrite,
}

func runWrite(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("write")
	addr := a.storeFlag(fs)
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
	s, parsed, err := a.openStore(ctx, "write", *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	sum, err := writer.WriteDataset(ctx, s, d)
	if err := a.printProblems(sum.Warnings, err, "nothing written"); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s and %s to %s (%d new or changed, %d deleted)\n",
		plural(sum.Flags, "flag"), plural(sum.Segments, "segment"), describe(parsed), sum.Changed, sum.Deleted)
	return nil
}

var cmdValidate = &command{
	name:    "validate",
	summary: "check flag data files without writing anything",
	usage:   "validate FILE...",
	help: `
Loads and validates flag data files exactly as write does, prints every error
and warning, and writes nothing. The exit status is 0 when the files are valid
(warnings allowed), 1 otherwise: a check for CI.

Examples:
  daemonflag validate flags.yaml
  daemonflag validate flags/*.json && echo ok
`,
	run: runValidate,
}

func runValidate(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("validate")
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
	warnings, err := writer.Validate(d)
	if err := a.printProblems(warnings, err, "invalid"); err != nil {
		return err
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
	usage:   "sync --store ADDR [--interval D] [--touch-big-segments D] FILE...",
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

Logs go to standard error.

Examples:
  daemonflag sync --store bolt:/var/lib/flags/flags.db /etc/flags/*.yaml
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
	s, parsed, err := a.openStore(ctx, "sync", *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	log := a.logger(level, *logFormat)
	log.Info("syncing", "store", describe(parsed), "files", files)
	err = writer.Sync(ctx, s, writer.SyncOptions{
		Files:            files,
		PollInterval:     *interval,
		PollOnly:         *pollOnly,
		TouchBigSegments: *touch,
		Logger:           log,
	})
	if err != nil {
		return a.printProblems(nil, err, "nothing written")
	}
	log.Info("stopped")
	return nil
}
