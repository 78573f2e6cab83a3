package store

import (
	"context"
	"time"
)

// Change names what may have changed in a store, as a [Notifier] reports it.
//
// A Change with a Kind and a Key names one item. A Change with an empty Kind
// (see [ChangeAll]) means the reader cannot know what changed (a dropped
// subscription, a change log it fell behind, a whole new dataset) and must
// re-check everything.
type Change struct {
	Kind Kind
	Key  string
}

// ChangeAll is the [Change] that tells a reader to re-check every item.
var ChangeAll = Change{}

// IsAll reports whether c asks for every item to be re-checked.
func (c Change) IsAll() bool { return c.Kind == "" }

// Notifier is an optional interface of a [Reader] that can tell its readers
// which items changed, sooner than a cache's TTL would. The cache finds it by
// type assertion, as database/sql finds optional driver interfaces.
//
// Notifications are hints: a reader that gets one reads the named items
// again; it never takes data from the notification itself. A Notifier may
// deliver a change more than once, or one that did not happen; it must not
// lose one silently: when it may have missed changes (a dropped connection),
// it delivers [ChangeAll] once it is listening again.
type Notifier interface {
	// Notify calls fn, from a goroutine of the store's, with each batch of
	// changes the store learns of, until ctx is done or the store is
	// closed. fn must return quickly. Notify returns once the store listens,
	// so a change written after Notify returns is delivered; an error means
	// it could not start listening (the caller falls back to its TTL).
	Notify(ctx context.Context, fn func([]Change)) error
}

// ItemUpdate is one item of a [Batcher] write.
type ItemUpdate struct {
	Kind Kind
	Key  string
	Item Item
}

// Batcher is an optional interface of a [Writer] that applies several
// upserts as one write. A backend documents whether the batch is atomic for
// readers (one bbolt publish, one Redis MULTI/EXEC) or applied in the given
// order (DynamoDB); writers pass dependencies before dependents.
type Batcher interface {
	// UpsertBatch applies each update as [Writer.Upsert] would: an item is
	// stored only over a lower version. applied[i] reports whether
	// updates[i] was written.
	UpsertBatch(ctx context.Context, updates []ItemUpdate) (applied []bool, err error)
}

// WriteTimeReader is an optional interface of a [Reader] whose writers record
// when they last wrote the dataset (next to it, in an item LaunchDarkly's SDKs
// ignore). Stores written by a LaunchDarkly Relay Proxy have no such record.
type WriteTimeReader interface {
	// LastWrite returns when a writer last wrote to the dataset. ok is false
	// when no writer recorded it.
	LastWrite(ctx context.Context) (t time.Time, ok bool, err error)
}
