package store

import (
	"context"
	"time"
)

// Kind names a collection of items in a store: [Features] or [Segments].
// Its string value is the collection's name in LaunchDarkly's store layouts
// ("features", "segments").
type Kind string

// The two kinds of item every store holds.
const (
	Features Kind = "features"
	Segments Kind = "segments"
)

// Noun returns the name of one item of the kind in messages: "flag" for
// [Features], "segment" for [Segments].
func (k Kind) Noun() string {
	if k == Features {
		return "flag"
	}
	return "segment"
}

// Kinds lists every kind in the order a non-atomic backend writes them during
// Init (segments before the flags that refer to them).
var Kinds = []Kind{Segments, Features}

// Item is one serialized flag or segment, or a tombstone.
//
// Data is the item's JSON exactly as stored (LaunchDarkly's flag or segment
// schema). For a tombstone, Deleted is true and Data is a small JSON object
// with "key", "version" and "deleted": true (see [Tombstone]). Version is the
// item's version; stores compare it in [Writer.Upsert].
type Item struct {
	Version int
	Deleted bool
	Data    []byte
}

// KeyedItem is an Item with its key.
type KeyedItem struct {
	Key  string
	Item Item
}

// Collection is every item of one kind, as passed to [Writer.Init].
type Collection struct {
	Kind  Kind
	Items []KeyedItem
}

// Reader is the read side of a store: what the client needs.
type Reader interface {
	// Get returns the item of the given kind and key, tombstones included.
	// found is false, with a nil error, when the store has no such item.
	Get(ctx context.Context, kind Kind, key string) (item Item, found bool, err error)

	// GetAll returns every item of the kind, tombstones included, in no
	// particular order.
	//
	// One stored item the backend cannot read (its JSON is not valid, or
	// lacks a whole-number version, as raw writes to Redis or DynamoDB can
	// leave) does not fail the call: it is returned among the others with
	// Version 0, Deleted false and Data holding the stored bytes (empty when
	// there are none), so that [ParseVersion] of its Data fails with
	// [ErrMalformedItem]. Callers check each item (the cache decodes it) and
	// treat such an item as malformed for its key only; Get of that key
	// returns an error wrapping ErrMalformedItem. An error from GetAll
	// concerns the whole kind (the store is unavailable, for example).
	GetAll(ctx context.Context, kind Kind) ([]KeyedItem, error)

	// Initialized reports whether a writer has stored a complete dataset (the
	// "$inited" marker of LaunchDarkly's layouts). Another process usually
	// writes it.
	Initialized(ctx context.Context) (bool, error)

	// Close releases the store's resources. A store must not be used after
	// Close.
	Close() error
}

// Writer is the write side of a store: what the writer and relay need.
type Writer interface {
	// Init replaces the whole dataset with the given collections and marks
	// the store initialized. Kinds absent from data are emptied. A backend
	// documents whether readers can observe a partly written dataset.
	Init(ctx context.Context, data []Collection) error

	// Upsert stores item under key if the store holds no item for that key or
	// holds one with a lower version (tombstones included). applied reports
	// whether the write happened; a version that is not newer is not an error.
	// Concurrent upserts never lose the highest version.
	Upsert(ctx context.Context, kind Kind, key string, item Item) (applied bool, err error)

	// Close releases the store's resources.
	Close() error
}

// Store is a backend that implements both sides.
type Store interface {
	Reader
	Writer
}

// Pinger is an optional interface for an availability probe cheaper than a
// read. The cache uses it, when present, to notice that an unavailable store
// has come back; otherwise it calls [Reader.Initialized].
type Pinger interface {
	Ping(ctx context.Context) error
}

// Membership is one context's big-segment membership as stored: the segment
// references ("<segmentKey>.g<generation>") the context is explicitly included
// in and excluded from.
type Membership struct {
	Included []string
	Excluded []string
}

// BigSegmentReader is the read side of big-segment membership.
type BigSegmentReader interface {
	// Membership returns the membership of the context whose key hashes to
	// contextHash (see [ContextHash]). A context with no
	// stored membership gives an empty Membership and a nil error. One call is
	// one store round trip.
	Membership(ctx context.Context, contextHash string) (Membership, error)

	// SynchronizedOn returns when a writer last declared the big-segment data
	// up to date. ok is false when it has never been set.
	SynchronizedOn(ctx context.Context) (t time.Time, ok bool, err error)

	// Close releases the store's resources.
	Close() error
}

// MembershipChange adds a segment reference to, or removes it from, one
// context's included or excluded set.
type MembershipChange struct {
	ContextHash string
	SegmentRef  string
	// Excluded selects the excluded set; false selects the included set.
	Excluded bool
	// Remove removes the reference; false adds it.
	Remove bool
}

// BigSegmentWriter is the write side of big-segment membership.
type BigSegmentWriter interface {
	// ApplyMembership applies the changes. Applying the same changes twice
	// gives the same result, so an interrupted import can be run again.
	ApplyMembership(ctx context.Context, changes []MembershipChange) error

	// SetSynchronizedOn records t as the time the big-segment data was last
	// known to be up to date.
	SetSynchronizedOn(ctx context.Context, t time.Time) error

	// Close releases the store's resources.
	Close() error
}

// MembershipScanner is an optional interface of a big-segment store that can
// list every stored membership, which a writer needs to replace a segment
// generation's membership exactly.
type MembershipScanner interface {
	// ScanMembership calls fn for each context hash that has a stored
	// membership. It stops at, and returns, the first error fn returns.
	ScanMembership(ctx context.Context, fn func(contextHash string, m Membership) error) error
}
