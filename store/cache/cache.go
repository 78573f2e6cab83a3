package cache

import (
	"context"
	"errors"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// Cache is a read-through cache of decoded flags and segments in front of a
// [store.Reader]. It is safe for concurrent use. Its Flag and Segment
// methods implement the evaluator's data provider.
type Cache struct {
	c        *core
	flags    *kind[*model.Flag]
	segments *kind[*model.Segment]
}

// New returns a cache reading from r, and starts its background work (the
// first "$inited" check, then recovery probes as needed). It does not wait
// for the store: use [Cache.Initialized] to wait for the first check. The
// cache does not close r; close the cache first, then r.
func New(r store.Reader, opts Options) *Cache {
	x := newUnstarted(r, opts)
	x.c.start()
	return x
}

// newUnstarted is New without the background work (tests start it).
func newUnstarted(r store.Reader, opts Options) *Cache {
	if r == nil {
		r = nilReader{}
	}
	c := newCore(r, opts)
	x := &Cache{c: c}
	x.segments = newKind(c, codec[*model.Segment]{
		kind:    store.Segments,
		decode:  model.DecodeSegment,
		deleted: func(s *model.Segment) bool { return s.Deleted },
		deps:    segmentDeps,
		version: func(s *model.Segment) int { return s.Version },
	})
	x.flags = newKind(c, codec[*model.Flag]{
		kind:    store.Features,
		decode:  model.DecodeFlag,
		deleted: func(f *model.Flag) bool { return f.Deleted },
		deps:    flagDeps,
		version: func(f *model.Flag) int { return f.Version },
	})
	return x
}

// Flag returns the flag with the given key, or nil when the store has no
// such flag, it is deleted, or it cannot be read (see [Cache.GetFlag] for
// the error). A cached flag is returned without allocating and without
// waiting on the store, even after its TTL.
func (x *Cache) Flag(ctx context.Context, key string) *model.Flag {
	f, _ := x.flags.get(ctx, key)
	return f
}

// Segment returns the segment with the given key, or nil when the store has
// no such segment, it is deleted, or it cannot be read.
func (x *Cache) Segment(ctx context.Context, key string) *model.Segment {
	s, _ := x.segments.get(ctx, key)
	return s
}

// GetFlag returns the flag with the given key. A flag the store does not
// have, or has deleted, gives (nil, nil). An error means there is no value
// to serve: the store failed (errors.Is(err, store.ErrUnavailable)) and the
// cache has no last good value for the key, or the stored flag is malformed
// (errors.Is(err, store.ErrMalformedItem)) and the cache has no earlier
// version, or the cache is closed ([ErrClosed]), or ctx ended while waiting
// for the store.
func (x *Cache) GetFlag(ctx context.Context, key string) (*model.Flag, error) {
	return x.flags.get(ctx, key)
}

// GetSegment returns the segment with the given key; see [Cache.GetFlag].
func (x *Cache) GetSegment(ctx context.Context, key string) (*model.Segment, error) {
	return x.segments.get(ctx, key)
}

// Removals returns a count that grows whenever the cache finds an item
// removed: before it stops serving an item it served (a deletion, or a key
// the store no longer has), and before it serves the new version of a
// cached flag or segment that named an item the store no longer has. The
// count grows before the removal shows to any lookup, so an evaluation that reads
// Removals before its first lookup and again after its last, and finds the
// same count, saw no item removed while it ran. Writers add new items
// before the items that use them and remove old ones after, and the cache
// reads the dependents of an item again before removing it (see the
// package documentation), so such an evaluation never mixes the two halves
// of a change; when the count moved, the caller evaluates again. It makes
// no allocation.
func (x *Cache) Removals() uint64 {
	return x.c.removals.Load()
}

// AllFlags returns every flag that is not deleted, sorted by key. The
// caller may modify the slice but not the flags. Like single flags, the
// list is cached, refreshed ahead of use, and kept while the store fails.
// Flags that are malformed in the store are left out (or kept at their last
// good version).
func (x *Cache) AllFlags(ctx context.Context) ([]*model.Flag, error) {
	all, err := x.flags.getAll(ctx)
	return cloneSlice(all), err
}

// AllFlagsWithMalformed is [Cache.AllFlags], also returning the sorted keys
// of the flags the store holds but that cannot be decoded and have no last
// good version (evaluations of them give MALFORMED_FLAG). A malformed item
// concerns its key only: every other flag is listed.
func (x *Cache) AllFlagsWithMalformed(ctx context.Context) (flags []*model.Flag, malformed []string, err error) {
	a, err := x.flags.getAllEntry(ctx)
	if err != nil {
		return nil, nil, err
	}
	return cloneSlice(a.items), cloneSlice(a.malformed), nil
}

// AllSegments returns every segment that is not deleted, sorted by key; see
// [Cache.AllFlags].
func (x *Cache) AllSegments(ctx context.Context) ([]*model.Segment, error) {
	all, err := x.segments.getAll(ctx)
	return cloneSlice(all), err
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// Initialized reports whether the store holds a dataset (its "$inited"
// marker), as last observed. The first call waits, at most until ctx ends,
// for the cache's first check of the store (starting it at once when it has
// not begun); later calls make no store call.
// The answer is false while that check cannot reach the store.
func (x *Cache) Initialized(ctx context.Context) bool {
	if !x.c.firstStarted.Load() {
		x.c.goBackground(x.c.runFirstCheck) // at once (see firstCheckGrace)
	}
	select {
	case <-x.c.firstCheck:
	case <-ctx.Done():
		return false
	}
	return x.c.inited.Load()
}

// HasDataset reports whether the cache has seen its store hold a dataset
// (its "$inited" marker) since it started. It never makes a store call and
// makes no allocation. Once true it stays true, also while the store loses
// its data (the cache then serves its last good values).
func (x *Cache) HasDataset() bool {
	return x.c.everInited.Load()
}

// Status returns the cache's current view of its store, with the age of
// its data (LastConfirmed, LastWrite).
func (x *Cache) Status() Status {
	return x.c.withAge(*x.c.status.Load())
}

// AddStatusListener registers fn to be told of every status change, in
// order, from one goroutine that the cache owns: a slow listener delays
// only later notifications (and [Cache.Close], which waits for a call in
// progress); a panic is logged. remove unregisters it.
func (x *Cache) AddStatusListener(fn func(Status)) (remove func()) {
	return x.c.addStatusListener(fn)
}

// OnChange registers fn to be told which flags changed. While at least one
// listener is registered, the cache reads every flag and segment every
// [Options.ChangePollInterval], and at once when the store notifies a change
// (store.Notifier), and compares them with the previous read;
// the first read after the poll starts is the baseline. fn receives the
// sorted keys of the flags that were added, deleted or rewritten, and of the
// flags that depend on a changed flag (as a prerequisite, at any depth) or
// a changed segment (directly or through segment rules, at any depth).
//
// Before fn is called the cache already serves what the poll read, so fn
// may evaluate the flags it is given. Polls while the store is unavailable
// or not initialized report nothing; the next good poll reports every
// difference since the last good one. (When the poll starts on a store that
// has never been initialized, the baseline is empty, so the writer's first
// dataset is reported as new flags.) fn is called from one goroutine, one
// call at a time, and owns the slice; it must not block, since the next
// poll and [Cache.Close] wait for it. remove unregisters fn; the poll stops
// when no listener is left. With polling disabled (ChangePollInterval < 0,
// or ModeForever without an interval) fn is never called.
func (x *Cache) OnChange(fn func(keys []string)) (remove func()) {
	return x.c.onChange(fn)
}

// Close stops all background work and waits for it, including store calls
// in flight. Afterwards cached values are still served, and reads that need
// the store return [ErrClosed]. Close does not close the store. It always
// returns nil and may be called more than once.
func (x *Cache) Close() error {
	x.c.close()
	return nil
}

// flagDeps lists a flag's prerequisites and the segments its rules match.
func flagDeps(f *model.Flag) []ref {
	var deps []ref
	for _, p := range f.Prerequisites {
		deps = append(deps, ref{store.Features, p.Key})
	}
	for i := range f.Rules {
		deps = clauseDeps(deps, f.Rules[i].Clauses)
	}
	return deps
}

// segmentDeps lists the segments a segment's rules match.
func segmentDeps(s *model.Segment) []ref {
	var deps []ref
	for i := range s.Rules {
		deps = clauseDeps(deps, s.Rules[i].Clauses)
	}
	return deps
}

func clauseDeps(deps []ref, clauses []model.Clause) []ref {
	for i := range clauses {
		if clauses[i].Op != model.OpSegmentMatch {
			continue
		}
		for _, v := range clauses[i].Values {
			if v.IsString() {
				deps = append(deps, ref{store.Segments, v.Str()})
			}
		}
	}
	return deps
}

// nilReader stands in for a missing store: every call fails.
type nilReader struct{}

var errNoStore = errors.New("cache: no store given")

func (nilReader) Get(context.Context, store.Kind, string) (store.Item, bool, error) {
	return store.Item{}, false, errNoStore
}
func (nilReader) GetAll(context.Context, store.Kind) ([]store.KeyedItem, error) {
	return nil, errNoStore
}
func (nilReader) Initialized(context.Context) (bool, error) { return false, errNoStore }
func (nilReader) Close() error                              { return nil }
