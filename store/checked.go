package store

import "context"

// CheckedGetter is an optional interface of a [Reader] that makes
// [Reader.Initialized] and [Reader.Get] together, in one round trip where
// they would take two (Redis: EXISTS and HGET in one pipeline). A cache's
// first item read uses it: that read must know whether the store holds a
// consistent dataset before it serves what it read, and on a connection
// just opened each round trip is a large part of the first evaluation.
type CheckedGetter interface {
	// GetChecked returns what Initialized (inited, initErr) and Get (item,
	// found, err) would return, made together; neither result depends on
	// the other. When the two cannot be made together, it makes Initialized
	// first.
	GetChecked(ctx context.Context, kind Kind, key string) (inited bool, initErr error, item Item, found bool, err error)
}
