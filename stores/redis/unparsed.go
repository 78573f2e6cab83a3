package redis

import (
	"context"
	"errors"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

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

var _ store.UnparsedGetter = (*Store)(nil)

// GetUnparsed implements [store.UnparsedGetter]: the HGET of Get, without
// reading the item's JSON. data shares memory with the reply (no copy) and
// is read-only.
func (s *Store) GetUnparsed(ctx context.Context, kind store.Kind, key string) ([]byte, bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, false, wrapErr(kindKeyOp("get", kind, key), err)
	}
	if kind == "" {
		return nil, false, errors.New("redis get: empty kind")
	}
	// HGET as s.client.HGet sends it, with the hash's name boxed once per
	// store rather than once per call (one allocation fewer).
	cmd := goredis.NewStringCmd(ctx, "hget", s.keys.boxedKind(kind), key)
	_ = s.client.Process(ctx, cmd)
	data, err := cmd.Bytes()
	if err == goredis.Nil {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapErr(kindKeyOp("get", kind, key), err)
	}
	return data, true, nil
}
