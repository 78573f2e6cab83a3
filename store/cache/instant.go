package cache

import (
	"context"

	"github.com/daemonflag/daemonflag/model"
)

// Now returns a reading of the cache's clock (nanoseconds of a monotonic
// clock, meaningful only to this cache), for lookups that share one
// reading: an evaluation looks up its flag, prerequisites and segments at
// one instant instead of reading the clock (tens of nanoseconds on a
// virtual machine) for each. It makes no allocation.
func (x *Cache) Now() int64 { return x.c.now() }

// GetFlagAt is [Cache.GetFlag] at now, a recent reading of [Cache.Now].
// next is the reading for the caller's next lookup: now itself after a
// cached answer, a new reading after a lookup that may have waited for the
// store (so that a wait never makes a later lookup take an expired entry
// for a fresh one).
func (x *Cache) GetFlagAt(ctx context.Context, key string, now int64) (f *model.Flag, next int64, err error) {
	return x.flags.getAt(ctx, key, now)
}

// FlagAt is [Cache.Flag] at now (see [Cache.GetFlagAt] for now and next).
// With [Cache.Now] and [Cache.SegmentAt] it implements the evaluator's
// evaluation.ClockedProvider.
func (x *Cache) FlagAt(ctx context.Context, key string, now int64) (f *model.Flag, next int64) {
	f, next, _ = x.flags.getAt(ctx, key, now)
	return f, next
}

// SegmentAt is [Cache.Segment] at now (see [Cache.GetFlagAt]).
func (x *Cache) SegmentAt(ctx context.Context, key string, now int64) (s *model.Segment, next int64) {
	s, next, _ = x.segments.getAt(ctx, key, now)
	return s, next
}
