package cache

import (
	"context"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/model"
)

// Tag is a value the cache keeps beside a flag key for the code that looks
// the key up, found by the same lookup as the flag: package client keeps a
// flag's evaluation counters there, so that counting an evaluation costs no
// second lookup by key (in a mix of many flags, each lookup is a few cache
// misses). The cache never reads a tag. A key's tag lasts as long as the
// cache's slot for the key: a key whose "not found" entry is pruned gets
// a new, empty tag when it is looked up again, so a tag is a shortcut to
// state kept elsewhere, never its only copy. The zero Tag holds nil; it is
// safe for concurrent use. The value is held in the slot itself, so loading
// it reads no other memory than the stored pointer's target.
type Tag struct{ v atomic.Value }

// Load returns the tag's value, or nil when none was stored.
func (t *Tag) Load() any { return t.v.Load() }

// Store sets the tag's value. Every value stored in one Tag must have the
// same concrete type, and none may be nil (as for [atomic.Value], whose
// rules these are: Store panics otherwise).
func (t *Tag) Store(v any) { t.v.Store(v) }

// GetFlagTagged is [Cache.GetFlagAt] that also returns the key's [Tag]. The
// tag is nil in ModeOff, which keeps nothing per key. It makes no allocation
// for a cached flag.
func (x *Cache) GetFlagTagged(ctx context.Context, key string, now int64) (f *model.Flag, tag *Tag, next int64, err error) {
	return x.flags.getTaggedAt(ctx, key, now)
}
