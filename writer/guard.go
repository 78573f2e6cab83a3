package writer

import (
	"errors"
	"fmt"

	"github.com/daemonflag/daemonflag/store"
)

// ErrTooManyDeletions is matched (with errors.Is) by a *[DeletionError]: a
// write refused because it would delete every live flag of the store, or
// more than half of them.
var ErrTooManyDeletions = errors.New("the write would delete too many flags")

// DeletionError reports a write refused by the deletion guard (see
// [WriteOptions.AllowDelete] and [SyncOptions.AllowDelete]); nothing was
// written.
type DeletionError struct {
	// Deleting is how many live flags the write would delete; Live is how
	// many the store holds.
	Deleting, Live int
}

// Error implements error: one line saying how many flags would go.
func (e *DeletionError) Error() string {
	return fmt.Sprintf("refusing to delete %s; nothing written (allow it explicitly to confirm)", e.What())
}

// What describes the deletion: "3 of the store's 3 flags (all of them)".
func (e *DeletionError) What() string {
	share := "more than half"
	if e.Deleting == e.Live {
		share = "all of them"
	}
	return fmt.Sprintf("%d of the store's %s (%s)", e.Deleting, plural(e.Live, "live flag"), share)
}

// Is reports whether target is [ErrTooManyDeletions].
func (e *DeletionError) Is(target error) bool { return target == ErrTooManyDeletions }

// tooManyDeletions applies the guard to counts of live flags and flags to
// delete: every one of them, or more than half.
func tooManyDeletions(deleting, live int) bool {
	return live > 0 && deleting > 0 && (deleting == live || 2*deleting > live)
}

// checkDeletions applies the guard to a plan.
func checkDeletions(plan []planned) error {
	live, deleting := 0, 0
	for _, p := range plan {
		if p.kind != store.Features {
			continue
		}
		if p.storedFound && p.storedLive {
			live++
		}
		if p.action == actionTombstone {
			deleting++
		}
	}
	if tooManyDeletions(deleting, live) {
		return &DeletionError{Deleting: deleting, Live: live}
	}
	return nil
}
