package store

import "context"

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
