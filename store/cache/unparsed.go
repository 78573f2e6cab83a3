package cache

import (
	"context"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// getAllItems reads every item of kind: unparsed (see
// store.UnparsedReader) when the store offers it, so that the items' JSON
// is read once, while decoding; counted and timed as GetAll.
func (c *core) getAllItems(ctx context.Context, kind store.Kind) (items []store.KeyedItem, unparsed bool, err error) {
	t, ok := c.r.(*timedReader)
	if !ok {
		items, err = c.r.GetAll(ctx, kind)
		return items, false, err
	}
	u, ok := t.Reader.(store.UnparsedReader)
	if !ok {
		items, err = t.GetAll(ctx, kind)
		return items, false, err
	}
	start := time.Now()
	items, err = u.GetAllUnparsed(ctx, kind)
	t.c.reads[opGetAll].observe(start, err)
	return items, true, err
}

// getItem reads key of kind for a fetch: unparsed (see
// store.UnparsedGetter) when the store offers it and the kind's values
// carry their version (see codec.version), so that the item's JSON is read
// once, while decoding (see decodeItem); counted and timed as Get. item
// holds only the stored JSON when unparsed.
func (c *core) getItem(ctx context.Context, kind store.Kind, key string, versioned bool) (item store.Item, unparsed, found bool, err error) {
	if t, ok := c.r.(*timedReader); ok && versioned {
		if u, ok := t.Reader.(store.UnparsedGetter); ok {
			start := time.Now()
			data, found, err := u.GetUnparsed(ctx, kind, key)
			t.c.reads[opGet].observe(start, err)
			return store.Item{Data: data}, true, found, err
		}
	}
	item, found, err = c.r.Get(ctx, kind, key)
	return item, false, found, err
}
