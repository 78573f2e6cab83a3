package redis

import (
	"context"
	"errors"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

var _ store.CheckedGetter = (*Store)(nil)

// GetChecked implements [store.CheckedGetter]: Initialized's EXISTS of the
// "$inited" key and Get's HGET in one pipeline, one round trip (on a Cluster
// whose prefix has no hash tag, one per node holding either key, sent side
// by side). Each result is what Initialized and Get would return alone.
func (s *Store) GetChecked(ctx context.Context, kind store.Kind, key string) (inited bool, initErr error, item store.Item, found bool, err error) {
	if err := s.check(ctx); err != nil {
		return false, wrapErr("initialized", err), store.Item{}, false, wrapErr(kindKeyOp("get", kind, key), err)
	}
	if kind == "" {
		inited, initErr = s.Initialized(ctx)
		return inited, initErr, store.Item{}, false, errors.New("redis get: empty kind")
	}
	p := s.client.Pipeline()
	exists := p.Exists(ctx, s.keys.inited)
	hget := p.HGet(ctx, s.keys.kind(kind), key)
	_, _ = p.Exec(ctx) // each command's own error is read below
	if n, err := exists.Result(); err != nil {
		initErr = wrapErr("initialized", err)
	} else {
		inited = n == 1
	}
	data, err := hget.Bytes()
	switch {
	case err == goredis.Nil:
		return inited, initErr, store.Item{}, false, nil
	case err != nil:
		return inited, initErr, store.Item{}, false, wrapErr(kindKeyOp("get", kind, key), err)
	}
	if item, err = store.ItemFromJSON(data); err != nil {
		return inited, initErr, store.Item{}, false, fmt.Errorf("redis get %s %q: %w", kind, key, err)
	}
	return inited, initErr, item, true, nil
}
