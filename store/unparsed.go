package store

import "context"

// UnparsedReader is an optional interface of a [Reader] whose items carry
// their version and deletion only inside their JSON (LaunchDarkly's Redis
// layout: a hash of key to item JSON), so that [Reader.GetAll] reads every
// item's JSON once just to fill [Item.Version] and [Item.Deleted]. A caller
// that reads every item's JSON anyway asks for the items as stored and
// builds each Item itself with [ItemFromStored], where and when it likes:
// the cache does it while decoding, on several goroutines for a large
// list. The cache finds it by type assertion.
type UnparsedReader interface {
	// GetAllUnparsed is [Reader.GetAll] with each item's stored JSON only
	// (Version 0, Deleted false): [ItemFromStored] of an item's Data is
	// the Item GetAll returns for it. Data is read-only: it may share
	// memory with the backend's reply, so modifying it is a bug.
	GetAllUnparsed(ctx context.Context, kind Kind) ([]KeyedItem, error)
}

// ItemFromStored is the Item a backend whose items hold their own version
// returns from GetAll for an item stored as data: [ItemFromJSON]'s, or for
// data that is not an item's JSON (not valid JSON, or without a whole-number
// version) the malformed item of [Reader.GetAll]: Version 0, Deleted false,
// Data the stored bytes. It retains data.
func ItemFromStored(data []byte) Item {
	it, err := ItemFromJSON(data)
	if err != nil {
		return Item{Data: data}
	}
	return it
}

// UnparsedGetter is the single-item counterpart of [UnparsedReader], for
// the same backends: [Reader.Get] reads an item's JSON once just to fill
// [Item.Version] and [Item.Deleted], and a caller that decodes the item
// anyway (the cache, on a miss) would read it twice. The cache finds it by
// type assertion.
type UnparsedGetter interface {
	// GetUnparsed is [Reader.Get] returning the item's stored JSON only,
	// as stored: found is false when the store has no item for key (a
	// tombstone is found), and err is a store error, never an item-level
	// one (nothing is parsed). [ItemFromStored] of data is the Item Get
	// returns, or for data Get refuses as malformed, an item with
	// Version 0 whose Data the caller's decoder refuses too. data is
	// read-only: it may share memory with the backend's reply.
	GetUnparsed(ctx context.Context, kind Kind, key string) (data []byte, found bool, err error)
}
