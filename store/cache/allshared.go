package cache

import (
	"context"

	"github.com/daemonflag/daemonflag/model"
)

// AllFlagsShared is [Cache.AllFlagsWithMalformed] without the copies: the
// two slices are the cache's own, shared by every caller, and must not be
// modified (nor the flags). They stay valid and unchanged however the cache
// changes afterwards. A warm call makes no allocation; it is for callers
// that read the list once and drop it, such as an all-flags evaluation.
func (x *Cache) AllFlagsShared(ctx context.Context) (flags []*model.Flag, malformed []string, err error) {
	a, err := x.flags.getAllEntry(ctx)
	if err != nil {
		return nil, nil, err
	}
	return a.items, a.malformed, nil
}
