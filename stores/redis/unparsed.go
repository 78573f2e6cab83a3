package redis

import (
	"context"
	"unsafe"

	"github.com/daemonflag/daemonflag/store"
)

var _ store.UnparsedReader = (*Store)(nil)

// GetAllUnparsed implements [store.UnparsedReader]: the HGETALL of GetAll,
// without reading the items' JSON. Each item's Data shares memory with the
// reply (a string: no copy) and is read-only; [store.ItemFromStored] of it
// is the item GetAll returns.
func (s *Store) GetAllUnparsed(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	m, err := s.hgetAll(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]store.KeyedItem, 0, len(m))
	for k, v := range m {
		out = append(out, store.KeyedItem{Key: k, Item: store.Item{Data: unsafe.Slice(unsafe.StringData(v), len(v))}})
	}
	return out, nil
}
