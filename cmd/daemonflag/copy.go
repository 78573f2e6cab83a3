package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daemonflag/daemonflag/writer"
)

var cmdCopy = &command{
	name:    "copy",
	summary: "copy a whole store to another, big-segment memberships included",
	usage:   "copy --from ADDR --to ADDR [--allow-delete]",
	help: `
Makes the --to store hold exactly what the --from store holds: every flag and
segment with its stored JSON and version (deleted ones and items that do not
decode too, byte for byte), the big-segment memberships (stored hashed, so only
a copy moves them) and the big-segment synchronized-on time. Any two backends
may be combined. Items only the destination holds are deleted (tombstoned);
a copy that would delete every live flag of the destination, or more than half
of them, is refused unless --allow-delete confirms it. A source that is not
initialized is refused (a wrong prefix is the usual cause).

It prints what it copied:

  copied bolt:./flags.db to redis://localhost:6379 (prefix "launchdarkly")
  flags:        8 (2 deleted)
  segments:     1 (0 deleted)
  removed:      0
  big segments: 1000 contexts, 1000 memberships (0 removed), synchronized on 2024-05-01T12:00:00Z

Examples:
  daemonflag copy --from 'redis://localhost:6379?prefix=prod' --to bolt:./prod.db
  daemonflag copy --from bolt:./flags.db --to 'dynamodb://flags?region=eu-west-1'
`,
	run: runCopy,
}

func runCopy(ctx context.Context, a *app, cmd *command, args []string) error {
	fs := a.flags("copy")
	from := fs.String("from", "", "the source store `ADDR`ess")
	to := fs.String("to", "", "the destination store `ADDR`ess")
	allowDelete := fs.Bool("allow-delete", false, "allow deleting every live flag of the destination, or more than half of them")
	if rest, err := a.parse(cmd, fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usagef("copy", "unexpected argument %q", rest[0])
	}
	if *from == "" || *to == "" {
		return usagef("copy", "give both --from ADDR and --to ADDR")
	}
	if _, err := a.storeAddress("copy", *from); err != nil {
		return err
	}
	if _, err := a.storeAddress("copy", *to); err != nil {
		return err
	}
	src, srcAddr, err := a.openStore(ctx, "copy", *from, true)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer src.Close()
	dst, dstAddr, err := a.openStore(ctx, "copy", *to, false)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer dst.Close()
	sum, err := writer.Copy(ctx, src, dst, writer.CopyOptions{AllowDelete: *allowDelete})
	var de *writer.DeletionError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("refusing to delete %s; nothing written: give --allow-delete to confirm", de.What())
	case errors.Is(err, writer.ErrSourceNotInitialized):
		return fmt.Errorf("--from %s is not initialized: no writer has stored a dataset under this prefix (check ?prefix=); nothing written", describe(srcAddr))
	case err != nil:
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "copied %s to %s\n", describe(srcAddr), describe(dstAddr))
	fmt.Fprintf(w, "flags:        %d (%d deleted)\n", sum.Flags, sum.DeletedFlags)
	fmt.Fprintf(w, "segments:     %d (%d deleted)\n", sum.Segments, sum.DeletedSegments)
	fmt.Fprintf(w, "removed:      %d\n", sum.Removed)
	switch {
	case !sum.BigSegments:
		fmt.Fprintf(w, "big segments: none (the source has no big-segment side)\n")
	default:
		synced := "never synchronized"
		if sum.SynchronizedOn != nil {
			synced = "synchronized on " + sum.SynchronizedOn.UTC().Format(time.RFC3339Nano)
		}
		fmt.Fprintf(w, "big segments: %s, %s (%d removed), %s\n",
			plural(sum.Contexts, "context"), plural(sum.Memberships, "membership"), sum.MembershipsRemoved, synced)
	}
	return nil
}
