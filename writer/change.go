package writer

import (
	"fmt"
	"strconv"

	"github.com/daemonflag/daemonflag/store"
)

// ChangeAction says what a write does to one item.
type ChangeAction string

// The actions of a [Change].
const (
	// ChangeNew: the store holds no live item under the key (nothing, or a
	// tombstone).
	ChangeNew ChangeAction = "new"
	// ChangeChanged: the store holds the item with other content or
	// another version.
	ChangeChanged ChangeAction = "changed"
	// ChangeDeleted: the store holds a live item the dataset no longer has;
	// a tombstone replaces it.
	ChangeDeleted ChangeAction = "deleted"
)

// Change is one item a write changes in the store.
type Change struct {
	Action ChangeAction
	Kind   store.Kind
	Key    string
	// OldVersion is the stored version (0 for a new item that the store
	// never held); NewVersion is the version written (the tombstone's, for
	// a deletion).
	OldVersion, NewVersion int
}

// String formats the change as one line of a plan:
//
//	new     flag "beta" (version 1)
//	changed flag "checkout" (version 3 -> 4)
//	deleted segment "staff" (version 2; tombstone at 3)
func (c Change) String() string {
	what := fmt.Sprintf("%-7s %s %s", c.Action, c.Kind.Noun(), strconv.Quote(c.Key))
	switch c.Action {
	case ChangeNew:
		return fmt.Sprintf("%s (version %d)", what, c.NewVersion)
	case ChangeChanged:
		return fmt.Sprintf("%s (version %d -> %d)", what, c.OldVersion, c.NewVersion)
	}
	return fmt.Sprintf("%s (version %d; tombstone at %d)", what, c.OldVersion, c.NewVersion)
}

// planChanges lists the changes of a plan, in its order.
func planChanges(plan []planned) []Change {
	var out []Change
	for _, p := range plan {
		c := Change{Kind: p.kind, Key: p.key, NewVersion: p.item.Version}
		if p.storedFound {
			c.OldVersion = p.stored
		}
		switch {
		case p.action == actionTombstone:
			c.Action = ChangeDeleted
		case p.action != actionWrite:
			continue
		case p.storedFound && p.storedLive:
			c.Action = ChangeChanged
		default:
			c.Action = ChangeNew
		}
		out = append(out, c)
	}
	return out
}
