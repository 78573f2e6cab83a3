package cache

import (
	"context"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/store"
)

// ref names one item of one kind.
type ref struct {
	kind store.Kind
	key  string
}

// codec turns one kind's stored items into decoded values.
type codec[T any] struct {
	kind store.Kind
	// decode parses and preprocesses an item's JSON; called once per fetch
	// of an item whose content changed.
	decode func(data []byte) (T, error)
	// deleted reports whether a decoded value is a deletion marker, for
	// items whose store.Item.Deleted was not set. May be nil.
	deleted func(T) bool
	// deps lists the items a value depends on (prerequisite flags, segments
	// named by segmentMatch clauses), for change detection. May be nil.
	deps func(T) []ref
}

// itemInfo describes one stored item for change detection.
type itemInfo struct {
	hash uint64 // of the stored JSON: any change of content is a change
	deps []ref
}

var hashSeed = maphash.MakeSeed()

// entry is one immutable cached answer for one key.
type entry[T any] struct {
	val     T    // the decoded item; zero unless live
	live    bool // the store has the item and it is not deleted
	exists  bool // the store has the item (live or a tombstone)
	hash    uint64
	version int
	err     error // an item-level error (malformed) and no good value
	seq     uint64
	expires int64
	// unconfirmed: the store answered "not found" for an item it had, while
	// not initialized (it lost its data); the old value is kept.
	unconfirmed bool
}

// slot holds the current entry for a key and the store read in flight.
type slot[T any] struct {
	e    atomic.Pointer[entry[T]]
	call atomic.Pointer[call[T]]
}

// call is one store read shared by everyone who needs it.
type call[T any] struct {
	done chan struct{}
	e    *entry[T]
	err  error
}

// wait waits for the read to finish, returning its error, or for ctx to
// end, returning ctx's.
func (cl *call[T]) wait(ctx context.Context) error {
	select {
	case <-cl.done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// allEntry is the cached answer of GetAll for a kind.
type allEntry[T any] struct {
	items   []T // live items, sorted by key; never modified
	seq     uint64
	expires int64
}

// kind caches the items of one store.Kind.
type kind[T any] struct {
	c     *core
	codec codec[T]

	slots   slotMap[T]
	all     atomic.Pointer[allEntry[T]]
	allCall atomic.Pointer[call[[]T]]
	applyMu sync.Mutex // serializes applyAll
}

func newKind[T any](c *core, cd codec[T]) *kind[T] {
	k := &kind[T]{c: c, codec: cd}
	c.kinds = append(c.kinds, k)
	return k
}

func (k *kind[T]) storeKind() store.Kind { return k.codec.kind }

// get returns the item for key: zero with a nil error when the store has no
// live item. A warm lookup makes no allocation and never waits on the store.
func (k *kind[T]) get(ctx context.Context, key string) (T, error) {
	if k.c.opts.Mode == ModeOff {
		return k.direct(ctx, key)
	}
	if s := k.slots.load(key); s != nil {
		if e := s.e.Load(); e != nil {
			now := k.c.now()
			if now < e.expires {
				return e.val, e.err
			}
			return k.expired(s, key, e, now)
		}
		return k.wait(ctx, s, key)
	}
	return k.wait(ctx, k.slots.loadOrCreate(key), key)
}

// expired serves an entry past its expiry and starts its refresh.
func (k *kind[T]) expired(s *slot[T], key string, e *entry[T], now int64) (T, error) {
	st := k.c.status.Load().State
	if st != Available && k.c.opts.MaxStale > 0 && now-e.expires > int64(k.c.opts.MaxStale) {
		// Too stale to serve while the store cannot confirm it.
		switch {
		case st == Unavailable:
			var zero T
			return zero, k.c.failFastErr()
		case e.unconfirmed:
			var zero T
			return zero, nil // the store answers, and no longer has it
		}
	}
	switch {
	case st == Unavailable:
		// No refresh: reads fail fast and the probe watches for recovery.
	case e.unconfirmed && st == NotInitialized:
		// Keep serving what the store lost until its marker is back.
	default:
		k.start(s, key)
	}
	return e.val, e.err
}

// wait handles a miss: it joins or starts the one store read for key and
// waits for it (or for ctx).
func (k *kind[T]) wait(ctx context.Context, s *slot[T], key string) (T, error) {
	var zero T
	if k.c.status.Load().State == Unavailable {
		return zero, k.c.failFastErr()
	}
	cl := k.start(s, key)
	if err := cl.wait(ctx); err != nil {
		return zero, err
	}
	e := cl.e
	if cur := s.e.Load(); cur != nil && cur.seq > e.seq {
		e = cur
	}
	return e.val, e.err
}

// start returns the read in flight for key, starting one if there is none.
func (k *kind[T]) start(s *slot[T], key string) *call[T] {
	for {
		if cl := s.call.Load(); cl != nil {
			return cl
		}
		cl := &call[T]{done: make(chan struct{})}
		if !s.call.CompareAndSwap(nil, cl) {
			continue
		}
		ok := k.c.goBackground(func() {
			ctx, cancel := k.c.callCtx()
			defer cancel()
			cl.e, cl.err = k.fetch(ctx, s, key)
			s.call.Store(nil)
			close(cl.done)
		})
		if !ok {
			cl.err = ErrClosed
			s.call.Store(nil)
			close(cl.done)
		}
		return cl
	}
}

// fetch reads key from the store and installs the result.
func (k *kind[T]) fetch(ctx context.Context, s *slot[T], key string) (*entry[T], error) {
	seq := k.c.seq.Add(1)
	item, found, err := k.c.r.Get(ctx, k.codec.kind, key)
	if err != nil {
		if isItemError(err) {
			return k.itemError(s, key, seq, 0, err), nil
		}
		k.c.storeError(seq, err)
		return nil, unavailableErr(err)
	}
	if !found {
		if old := s.e.Load(); old != nil && old.exists && k.c.dataLost() {
			// The store lost its data: keep serving what it had.
			kept := *old
			kept.seq = seq
			kept.unconfirmed = true
			return k.put(s, &kept), nil
		}
		k.beforeRemoving(ctx, s, key)
		return k.put(s, &entry[T]{seq: seq, expires: k.c.expiry(k.c.now(), false)}), nil
	}
	e, err := k.decode(s.e.Load(), item, seq)
	if err != nil {
		return k.itemError(s, key, seq, e.hash, err), nil
	}
	if !e.live {
		k.beforeRemoving(ctx, s, key)
	}
	return k.put(s, e), nil
}

// beforeRemoving runs before a read installs the removal (a tombstone, or
// "not found") of key. When the slot holds a live item, the cached items
// that depend on it (flags naming it as a prerequisite, flags and segments
// naming it in a segmentMatch clause) are read again first. A writer removes
// an item only after the items that used it stopped using it, so reading
// the dependents first means the cache never serves a flag that still names
// an item the cache already treats as gone: without this, each entry
// expiring on its own clock could make an evaluation see the new half of a
// change and the old half of another (PREREQUISITE_FAILED for a flag whose
// new version no longer has that prerequisite). Removals are rare, so the
// scan of the cached items costs nothing on the common path.
func (k *kind[T]) beforeRemoving(ctx context.Context, s *slot[T], key string) {
	if old := s.e.Load(); old == nil || !old.live {
		return
	}
	depth, _ := ctx.Value(dependentsDepth{}).(int)
	if depth >= maxDependentsDepth {
		return // a dependency cycle in stored data, or an absurdly deep chain
	}
	ctx = context.WithValue(ctx, dependentsDepth{}, depth+1)
	dep := ref{k.codec.kind, key}
	for _, kd := range k.c.kinds {
		kd.refreshDependents(ctx, dep)
	}
}

// dependentsDepth is the context key counting nested beforeRemoving calls.
type dependentsDepth struct{}

// maxDependentsDepth bounds the chain of removals that beforeRemoving
// follows.
const maxDependentsDepth = 16

// refreshDependents reads again every cached live item that depends on dep.
func (k *kind[T]) refreshDependents(ctx context.Context, dep ref) {
	if k.codec.deps == nil {
		return
	}
	type dependent struct {
		key string
		s   *slot[T]
	}
	var ds []dependent
	k.slots.each(func(key string, s *slot[T]) {
		e := s.e.Load()
		if e == nil || !e.live {
			return
		}
		if slices.Contains(k.codec.deps(e.val), dep) {
			ds = append(ds, dependent{key, s})
		}
	})
	for _, d := range ds {
		_, _ = k.fetch(ctx, d.s, d.key) // a failed read keeps the last good value
	}
}

// decode builds the entry for a stored item, reusing old's decoded value
// when the stored content is unchanged. On a decode error it returns the
// error and an entry carrying only the content hash.
func (k *kind[T]) decode(old *entry[T], item store.Item, seq uint64) (*entry[T], error) {
	e := &entry[T]{exists: true, version: item.Version, seq: seq,
		hash: maphash.Bytes(hashSeed, item.Data)}
	e.expires = k.c.expiry(k.c.now(), true)
	if old != nil && old.exists && old.err == nil && old.hash == e.hash && old.version == item.Version {
		e.val, e.live = old.val, old.live
		return e, nil
	}
	if item.Deleted {
		return e, nil
	}
	v, err := k.codec.decode(item.Data)
	if err != nil {
		return e, err
	}
	if k.codec.deleted != nil && k.codec.deleted(v) {
		return e, nil
	}
	e.val, e.live = v, true
	return e, nil
}

// itemError installs the outcome of an item that could not be read or
// decoded: its last good value, refreshed for another TTL, when there is
// one; otherwise the error itself, cached for one TTL.
func (k *kind[T]) itemError(s *slot[T], key string, seq uint64, hash uint64, err error) *entry[T] {
	err = fmt.Errorf("%s %q: %w", k.codec.kind, key, err)
	k.c.logMalformed(k.codec.kind, key, hash, err)
	if old := s.e.Load(); old != nil && old.err == nil {
		kept := *old
		kept.seq = seq
		kept.expires = k.c.expiry(k.c.now(), false)
		return k.put(s, &kept)
	}
	return k.put(s, &entry[T]{err: asMalformed(err), seq: seq, expires: k.c.expiry(k.c.now(), false)})
}

// asMalformed makes a decode error satisfy errors.Is(err, store.ErrMalformedItem).
func asMalformed(err error) error {
	if isItemError(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrMalformedItem, err)
}

// put installs e unless the slot holds an entry from a later read, and
// returns the entry the slot holds afterwards.
func (k *kind[T]) put(s *slot[T], e *entry[T]) *entry[T] {
	for {
		old := s.e.Load()
		if old != nil && old.seq > e.seq {
			return old
		}
		if s.e.CompareAndSwap(old, e) {
			if e.live {
				k.c.hadData.Store(true)
			}
			return e
		}
	}
}

// direct reads key in ModeOff: straight from the store, decoded each time.
func (k *kind[T]) direct(ctx context.Context, key string) (T, error) {
	var zero T
	if k.c.isClosed() {
		return zero, ErrClosed
	}
	seq := k.c.seq.Add(1)
	item, found, err := k.c.r.Get(ctx, k.codec.kind, key)
	if err != nil {
		if isItemError(err) {
			return zero, err
		}
		if ctx.Err() == nil {
			k.c.storeError(seq, err)
		}
		return zero, unavailableErr(err)
	}
	if !found || item.Deleted {
		return zero, nil
	}
	v, err := k.codec.decode(item.Data)
	if err != nil {
		return zero, asMalformed(fmt.Errorf("%s %q: %w", k.codec.kind, key, err))
	}
	if k.codec.deleted != nil && k.codec.deleted(v) {
		return zero, nil
	}
	return v, nil
}

// getAll returns every live item of the kind, sorted by key. The slice is
// shared and must not be modified.
func (k *kind[T]) getAll(ctx context.Context) ([]T, error) {
	if k.c.opts.Mode == ModeOff {
		return k.directAll(ctx)
	}
	if a := k.all.Load(); a != nil {
		now := k.c.now()
		if now < a.expires {
			return a.items, nil
		}
		st := k.c.status.Load()
		if st.State != Unavailable {
			k.startAll()
		} else if k.c.opts.MaxStale > 0 && now-a.expires > int64(k.c.opts.MaxStale) {
			return nil, k.c.failFastErr()
		}
		return a.items, nil
	}
	if k.c.status.Load().State == Unavailable {
		return nil, k.c.failFastErr()
	}
	if err := k.startAll().wait(ctx); err != nil {
		return nil, err
	}
	return k.all.Load().items, nil // at least as new as the read we waited for
}

// startAll returns the GetAll in flight, starting one if there is none.
func (k *kind[T]) startAll() *call[[]T] {
	for {
		if cl := k.allCall.Load(); cl != nil {
			return cl
		}
		cl := &call[[]T]{done: make(chan struct{})}
		if !k.allCall.CompareAndSwap(nil, cl) {
			continue
		}
		ok := k.c.goBackground(func() {
			ctx, cancel := k.c.callCtx()
			defer cancel()
			seq := k.c.seq.Add(1)
			items, err := k.c.r.GetAll(ctx, k.codec.kind)
			if err != nil {
				k.c.storeError(seq, err)
				cl.err = unavailableErr(err)
			} else {
				k.applyAll(items, seq)
			}
			k.allCall.Store(nil)
			close(cl.done)
		})
		if !ok {
			cl.err = ErrClosed
			k.allCall.Store(nil)
			close(cl.done)
		}
		return cl
	}
}

// applyAll installs a GetAll result read at seq: every item's slot, the
// kind's all-items entry, and "not found" for cached keys the result lacks.
// If items the cache had are missing and the store is not initialized (it
// lost its data), their last values are kept. In ModeOff nothing is cached.
func (k *kind[T]) applyAll(items []store.KeyedItem, seq uint64) map[string]itemInfo {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	cache := k.c.opts.Mode != ModeOff
	info := make(map[string]itemInfo, len(items))
	type liveItem struct {
		key string
		val T
	}
	live := make([]liveItem, 0, len(items))
	for _, ki := range items {
		var s *slot[T]
		var old *entry[T]
		if cache {
			s = k.slots.loadOrCreate(ki.Key)
			old = s.e.Load()
		}
		e, err := k.decode(old, ki.Item, seq)
		if err != nil {
			if cache {
				e = k.itemError(s, ki.Key, seq, e.hash, err)
			} else {
				k.c.logMalformed(k.codec.kind, ki.Key, e.hash, err)
			}
		} else if cache {
			e = k.put(s, e)
		}
		inf := itemInfo{hash: e.hash}
		if e.live {
			live = append(live, liveItem{ki.Key, e.val})
			if k.codec.deps != nil {
				inf.deps = k.codec.deps(e.val)
			}
		}
		info[ki.Key] = inf
	}
	if cache {
		k.slots.promote()
		// Cached keys the store no longer has.
		type missingItem struct {
			key string
			s   *slot[T]
			e   *entry[T]
		}
		var missing []missingItem
		k.slots.each(func(key string, s *slot[T]) {
			if _, ok := info[key]; !ok {
				if e := s.e.Load(); e != nil && e.exists {
					missing = append(missing, missingItem{key, s, e})
				}
			}
		})
		lost := len(missing) > 0 && k.c.dataLost()
		now, maxStale := k.c.now(), int64(k.c.opts.MaxStale)
		for _, m := range missing {
			if lost {
				kept := *m.e
				kept.seq = seq
				kept.unconfirmed = true
				e := k.put(m.s, &kept)
				if e.live && (maxStale == 0 || now-e.expires <= maxStale) {
					live = append(live, liveItem{m.key, e.val})
				}
			} else {
				k.put(m.s, &entry[T]{seq: seq, expires: k.c.expiry(k.c.now(), false)})
			}
		}
	}
	slices.SortFunc(live, func(a, b liveItem) int { return strings.Compare(a.key, b.key) })
	vals := make([]T, len(live))
	for i, li := range live {
		vals[i] = li.val
	}
	if cache {
		a := &allEntry[T]{items: vals, seq: seq, expires: k.c.expiry(k.c.now(), true)}
		for {
			old := k.all.Load()
			if old != nil && old.seq > seq {
				break
			}
			if k.all.CompareAndSwap(old, a) {
				break
			}
		}
	}
	return info
}

// directAll reads every item in ModeOff.
func (k *kind[T]) directAll(ctx context.Context) ([]T, error) {
	if k.c.isClosed() {
		return nil, ErrClosed
	}
	seq := k.c.seq.Add(1)
	items, err := k.c.r.GetAll(ctx, k.codec.kind)
	if err != nil {
		if ctx.Err() == nil {
			k.c.storeError(seq, err)
		}
		return nil, unavailableErr(err)
	}
	var live []T
	keys := make([]string, 0, len(items))
	byKey := make(map[string]T, len(items))
	for _, ki := range items {
		if ki.Item.Deleted {
			continue
		}
		v, err := k.codec.decode(ki.Item.Data)
		if err != nil {
			k.c.logMalformed(k.codec.kind, ki.Key, maphash.Bytes(hashSeed, ki.Item.Data), err)
			continue
		}
		if k.codec.deleted != nil && k.codec.deleted(v) {
			continue
		}
		keys = append(keys, ki.Key)
		byKey[ki.Key] = v
	}
	slices.Sort(keys)
	for _, key := range keys {
		live = append(live, byKey[key])
	}
	return live, nil
}

// prune forgets "not found" and error entries that expired more than a TTL
// ago and have no read in flight, so lookups of many unknown keys do not
// grow the cache without bound.
func (k *kind[T]) prune(now int64) {
	limit := now - int64(k.c.opts.TTL)
	k.slots.deleteIf(func(s *slot[T]) bool {
		e := s.e.Load()
		return e != nil && !e.exists && e.expires < limit && s.call.Load() == nil
	})
}
