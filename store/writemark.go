package store

import (
	"context"
	"time"
)

// WriteMarker is an optional interface of a [Reader] whose writers change a
// mark with every write they make: after the write is visible to readers,
// and before (or atomically with) its announcement to the subscribers of
// [Notifier]. A cache uses it to start without waiting for its subscription:
// it reads the mark before its first item reads and again once the store
// listens, and only when the mark moved (a write in between, whose
// announcement it may have missed) does it read again what it had read.
//
// A mark is an opaque value that no later write repeats (a random token per
// write, or a log's epoch and sequence number): two equal marks read at two
// times mean no writer wrote in between. Writes made behind the writers'
// back (an operator's edit) leave the mark as it was, as they announce
// nothing either.
type WriteMarker interface {
	// WriteMark returns the current mark; "" when no writer has recorded
	// one (a store only a LaunchDarkly Relay Proxy has written, which
	// announces nothing). It returns an error wrapping
	// [errors.ErrUnsupported] when this store's notifications may announce
	// writes that leave no mark (Redis keyspace notifications announce any
	// write); a reader then waits for its subscription instead.
	WriteMark(ctx context.Context) (mark string, err error)
}

// StartCheck is what a [StartChecker] reads: the answers that
// [Reader.Initialized], [WriteMarker.WriteMark] and
// [WriteTimeReader.LastWrite] would give, each with its own error, and,
// when asked for, one item.
type StartCheck struct {
	Inited  bool
	InitErr error
	// Mark and MarkErr are WriteMark's answer.
	Mark    string
	MarkErr error
	// LastWrite is zero, with LastWriteOK false, when no writer recorded it.
	LastWrite    time.Time
	LastWriteOK  bool
	LastWriteErr error
	// ItemRead reports that the item asked for was read, after the mark.
	// ItemData is its stored JSON, unparsed (see [UnparsedGetter]), when
	// ItemFound; ItemErr is the read's error.
	ItemRead  bool
	ItemData  []byte
	ItemFound bool
	ItemErr   error
}

// StartChecker is an optional interface of a [Reader] that also implements
// [WriteMarker] and [WriteTimeReader] and reads the answers a cache's first
// check needs together, in one round trip where they would take three
// (Redis: one pipeline), optionally with the cache's first item read. On a
// connection just opened each round trip is a large part of a new client's
// first evaluation.
type StartChecker interface {
	// StartCheck reads the three answers and, when key is not "", the item
	// of kind and key, read after the write mark (a change written after
	// the mark was read is one the mark's next read sees). A store may
	// leave the item unread (ItemRead false), as when it has no usable
	// mark.
	StartCheck(ctx context.Context, kind Kind, key string) StartCheck
}
