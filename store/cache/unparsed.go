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
