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

// hold says which answers of a read wait for the current entry to expire
// instead of replacing it at once (see install).
type hold uint8

const (
	// holdNone: every answer replaces the current entry at once (misses,
	// reads of named notifications, change polls).
	holdNone hold = iota
	// holdChanges: a refresh-ahead read; a different answer waits.
	holdChanges
	// holdRemovals: a re-check after store.ChangeAll; only a "not found"
	// for a live item waits. A writer's new dataset shows at once, while a
	// store emptied behind the writer's back (or one whose notifier lost
	// track) loses nothing before the TTL, and nothing at all in
	// ModeForever.
	holdRemovals
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
	// version is a decoded value's version, so that an item read unparsed
	// (store.UnparsedReader) is read once (see decodeUnparsed). May be nil.
	version func(T) int
}

// itemInfo describes one stored item for change detection.
type itemInfo struct {
	hash uint64 // of the stored JSON: any change of content is a change
	deps []ref
}

var hashSeed = maphash.MakeSeed()

// entry is one immutable cached answer for one key.
type entry[T any] struct {
	// The fields a warm lookup reads come first, so that they share a
	// cache line (in a mix of many keys, each line is a miss).
	//
	// refreshAt is when a read starts a background refresh (the last part
	// of the entry's life begins); expires is when its life ends. Both count
	// from the moment the store read began, so an entry is never older than
	// its TTL while it is served as fresh.
	refreshAt int64
	val       T     // the decoded item; zero unless live
	err       error // an item-level error (malformed) and no good value
	expires   int64
	live      bool // the store has the item and it is not deleted
	exists    bool // the store has the item (live or a tombstone)
	// unconfirmed: the store answered "not found" for an item it had, while
	// not initialized (it lost its data); the old value is kept.
	unconfirmed bool
	hash        uint64
	version     int
	seq         uint64
}

// sameAnswer reports whether two entries give the same answer, so a newer
// one may replace an older one before the older one expires without anyone
// seeing a change.
func sameAnswer[T any](a, b *entry[T]) bool {
	return a.exists == b.exists && a.live == b.live && a.hash == b.hash &&
		a.version == b.version && (a.err == nil) == (b.err == nil) && !a.unconfirmed && !b.unconfirmed
}

// slot holds the current entry for a key, the store read in flight, and
// the answer of a refresh-ahead read that differs from the current entry,
// which becomes current when the current entry expires.
type slot[T any] struct {
	// The fields a hit reads come first, in one cache line (see hot.go).
	hot hotEntry[T]
	// key is the slot's key, for the lookup's final comparison (see
	// slotTable); a short key's bytes are in keyBuf (see newSlot).
	key    string
	keyBuf [slotKeyBuf]byte

	e    atomic.Pointer[entry[T]]
	call atomic.Pointer[call[T]]
	next atomic.Pointer[entry[T]]
	// tag is the key's Tag (see Cache.GetFlagTagged).
	tag Tag
}

// call is one store read shared by everyone who needs it.
type call[T any] struct {
	mu       sync.Mutex
	finished bool          // e and err are set
	done     chan struct{} // closed when finished; made by the first waiter
	e        *entry[T]
	err      error
	// sent, for a refresh-ahead read, is closed when its goroutine starts
	// the read (see late); nil for other reads.
	sent chan struct{}
	// began is when the read was started, on the cache clock (0 for a
	// read on the caller's goroutine).
	began int64
}

// wait waits for the read to finish, returning its error, or for ctx to
// end, returning ctx's. The channel it waits on is made by the first
// waiter: a read that nobody else waits for (a miss read on its caller's
// goroutine, see readNow) makes none.
func (cl *call[T]) wait(ctx context.Context) error {
	cl.mu.Lock()
	if cl.finished {
		cl.mu.Unlock()
		return cl.err
	}
	if cl.done == nil {
		cl.done = make(chan struct{})
	}
	done := cl.done
	cl.mu.Unlock()
	select {
	case <-done:
		return cl.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// finish publishes the read's result, set in e and err, to its waiters.
func (cl *call[T]) finish() {
	cl.mu.Lock()
	cl.finished = true
	if cl.done != nil {
		close(cl.done)
	}
	cl.mu.Unlock()
}

// allEntry is the cached answer of GetAll for a kind.
type allEntry[T any] struct {
	items     []T      // live items, sorted by key; never modified
	malformed []string // sorted keys of items stored malformed, with no last good value
	seq       uint64
	refreshAt int64
	expires   int64
}

// kind caches the items of one store.Kind.
type kind[T any] struct {
	c     *core
	codec codec[T]

	slots   slotMap[T]
	all     atomic.Pointer[allEntry[T]]
	allNext atomic.Pointer[allEntry[T]]
	allCall atomic.Pointer[call[[]T]]
	// allBefore: an all-items entry read before this seq is out of date,
	// as an item in it was read again since (see fetchDependent).
	allBefore atomic.Uint64
	applyMu   sync.Mutex // serializes applyAll
	st        *kindCounters
}

func newKind[T any](c *core, cd codec[T]) *kind[T] {
	k := &kind[T]{c: c, codec: cd, st: c.stats.forKind(cd.kind)}
	c.kinds = append(c.kinds, k)
	return k
}

func (k *kind[T]) storeKind() store.Kind { return k.codec.kind }

// get returns the item for key: zero with a nil error when the store has no
// live item. A warm lookup makes no allocation and never waits on the store.
func (k *kind[T]) get(ctx context.Context, key string) (T, error) {
	v, _, err := k.getAt(ctx, key, k.c.now())
	return v, err
}

// getAt is get at now, a reading of the cache's clock taken by the caller
// (see [Cache.Now]); next is the reading to use for a following lookup: now
// after a hit, a new one after a lookup that may have waited.
func (k *kind[T]) getAt(ctx context.Context, key string, now int64) (v T, next int64, err error) {
	v, _, next, err = k.getTaggedAt(ctx, key, now)
	return v, next, err
}

// getTaggedAt is getAt that also returns the key's tag (nil in ModeOff,
// which keeps no slots).
func (k *kind[T]) getTaggedAt(ctx context.Context, key string, now int64) (v T, tag *Tag, next int64, err error) {
	if k.c.opts.Mode == ModeOff {
		v, err = k.direct(ctx, key)
		return v, nil, now, err
	}
	s := k.slots.loadOrCreate(key) // a miss creates the slot: one locked lookup, not two
	if v, ok := s.hot.fresh(now); ok {
		k.hit(now)
		return v, &s.tag, now, nil // a hit, read from the slot alone
	}
	if e := s.e.Load(); e != nil {
		if now < e.refreshAt {
			k.hit(now)
			return e.val, &s.tag, now, e.err // a hit
		}
		v, err = k.late(ctx, s, key, e, now)
		return v, &s.tag, k.c.now(), err
	}
	v, err = k.miss(ctx, s, key)
	return v, &s.tag, k.c.now(), err
}

// hit counts a warm lookup at now; one in yieldLookups may yield (see
// pace.go).
func (k *kind[T]) hit(now int64) {
	if k.st.hits.Add(1)%yieldLookups == 0 {
		k.c.yieldDue(now)
	}
}

// late serves an entry in the last part of its life, or past it.
//
//   - In the last part of its life the entry is served and one background
//     read refreshes it. The answer replaces the entry at once when it is
//     the same; a different answer waits until the entry expires, so a value
//     never changes before its TTL.
//   - Past its life, a waiting answer becomes current. If the refresh is
//     still in flight (a store slower than the last part of the entry's
//     life), the entry is served until it returns. If nobody read the key
//     in the last part of its life, there is no fresh answer: the lookup
//     reads the store as a miss does, and serves the last good value if
//     that read fails or ctx ends first.
//   - While the store is unavailable, or has lost its data, the last good
//     value is served without a read (see [Options.MaxStale]).
func (k *kind[T]) late(ctx context.Context, s *slot[T], key string, e *entry[T], now int64) (T, error) {
	hit := true // false when the lookup waits for a read (see Stats)
	defer func() {
		if hit {
			k.st.hits.Add(1)
		} else {
			k.st.misses.Add(1)
		}
	}()
	if now >= e.expires {
		if e = k.promote(s, e); now < e.refreshAt {
			return e.val, e.err
		}
	}
	st := k.c.status.Load().State
	waitingOut := e.unconfirmed && st == NotInitialized // keep serving what the store lost until its marker is back
	if now < e.expires {
		// s.e is checked after s.next: a lookup that judged an entry
		// another lookup has just replaced (promote installs the new entry
		// before it clears next) must not start a refresh of the new one at
		// its birth. Such a refresh, started while every lookup is a hit
		// that never yields, could wait for the processor past the new
		// entry's whole life, and the new entry's own last part of life
		// would find it in flight and start none.
		if st != Unavailable && !waitingOut && s.next.Load() == nil && s.e.Load() == e {
			k.st.refreshes.Add(1)
			starting := s.call.Load() == nil
			cl := k.start(s, key, holdChanges)
			// Let the refresh run before the entry expires even when
			// lookups saturate the CPU: the lookup that starts it waits
			// until the new goroutine, next on this processor, is about to
			// send its request (without that it waited up to 36 ms in
			// traces), and then gets the processor back when the read
			// blocks; lookups while it is in flight pace the rest (see
			// pace.go).
			if starting && cl.sent != nil {
				<-cl.sent
			} else {
				k.c.pace(now, cl.began)
			}
		}
		return e.val, e.err
	}
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
	if st == Unavailable || waitingOut {
		return e.val, e.err
	}
	if cl := s.call.Load(); cl != nil {
		// The due refresh is in flight. When lookups never block (busy
		// goroutines saturating the CPU), it would otherwise queue behind
		// the very lookups it serves and the value would outlive its TTL by
		// far more than a round trip (see pace.go).
		k.c.pace(now, cl.began)
		return e.val, e.err
	}
	hit = false
	ne, err := k.readNow(ctx, s, key)
	if err != nil || ne == nil {
		return e.val, e.err // the last good value
	}
	return ne.val, ne.err
}

// promote makes the waiting answer of a refresh current once e, the
// current entry, has expired, and returns the entry current afterwards.
func (k *kind[T]) promote(s *slot[T], e *entry[T]) *entry[T] {
	if n := s.next.Load(); n != nil {
		if n.seq > e.seq {
			if e.live && !n.live {
				k.c.removals.Add(1) // before the removal shows (see Cache.Removals)
			}
			if s.e.CompareAndSwap(e, n) {
				s.hot.publish(&s.e)
			}
		}
		s.next.CompareAndSwap(n, nil)
	}
	return s.e.Load()
}

// miss handles a key with no entry: it joins or makes the one store read for
// key and waits for it (or for ctx).
func (k *kind[T]) miss(ctx context.Context, s *slot[T], key string) (T, error) {
	k.st.misses.Add(1)
	var zero T
	if k.c.isClosed() {
		return zero, ErrClosed
	}
	if k.c.status.Load().State == Unavailable {
		return zero, k.c.failFastErr()
	}
	e, err := k.readNow(ctx, s, key)
	if err != nil {
		return zero, err
	}
	return e.val, e.err
}

// readNow joins the store read in flight for key, or makes one, and waits
// for it. With a ctx that can never end (the variations without a
// context.Context) the read runs on the caller's goroutine, and lookups that
// arrive meanwhile share it; otherwise it runs on a background goroutine, so
// the caller stops waiting when ctx ends while the read goes on (bounded by
// RefreshTimeout) and its result is cached. It returns the entry the slot
// holds afterwards.
func (k *kind[T]) readNow(ctx context.Context, s *slot[T], key string) (*entry[T], error) {
	cl := s.call.Load()
	if cl == nil && ctx.Done() == nil {
		mine := &call[T]{}
		if s.call.CompareAndSwap(nil, mine) {
			if !k.c.track(func() { k.run(s, key, mine, holdNone) }) {
				k.abandon(s, mine)
			}
			cl = mine
		}
	}
	if cl == nil {
		cl = k.start(s, key, holdNone)
	}
	if err := cl.wait(ctx); err != nil {
		return nil, err
	}
	e := cl.e
	if cur := s.e.Load(); cur != nil && cur.seq > e.seq {
		e = cur
	}
	return e, nil
}

// start returns the read in flight for key, starting one in the background
// if there is none. h marks a refresh-ahead read, whose different answer
// waits for the current entry to expire.
func (k *kind[T]) start(s *slot[T], key string, h hold) *call[T] {
	for {
		if cl := s.call.Load(); cl != nil {
			return cl
		}
		began := k.c.now()
		cl := &call[T]{began: began}
		if h == holdChanges {
			cl.sent = make(chan struct{})
		}
		if !s.call.CompareAndSwap(nil, cl) {
			continue
		}
		if !k.c.goBackground(func() {
			k.run(s, key, cl, h)
			if h == holdChanges && cl.err == nil {
				k.c.noteRefresh(k.c.now() - began) // including the wait for the goroutine to run
			}
		}) {
			k.abandon(s, cl)
		}
		return cl
	}
}

// run makes the store read of call cl and publishes its result.
func (k *kind[T]) run(s *slot[T], key string, cl *call[T], h hold) {
	if cl.sent != nil {
		close(cl.sent)
	}
	cl.e, cl.err = k.fetch(k.c.readContext(), s, key, h)
	s.call.Store(nil)
	cl.finish()
}

// abandon ends call cl, which could not run because the cache is closed.
func (k *kind[T]) abandon(s *slot[T], cl *call[T]) {
	if cl.sent != nil {
		close(cl.sent)
	}
	cl.err = ErrClosed
	s.call.Store(nil)
	cl.finish()
}

// fetch reads key from the store and installs the result (see install for
// h).
func (k *kind[T]) fetch(ctx context.Context, s *slot[T], key string, h hold) (*entry[T], error) {
	r, err := k.c.awaitItemRead(ctx, k.codec.kind, key, k.codec.version != nil)
	if err != nil {
		return nil, err
	}
	defer k.c.endRead(r.early)
	start, seq, item, unparsed, found, err := r.start, r.seq, r.item, r.unparsed, r.found, r.err
	if !r.read { // not made with the first check (see awaitItemRead)
		start = k.c.now()
		seq = k.c.seq.Add(1)
		item, unparsed, found, err = k.c.getItem(ctx, k.codec.kind, key, k.codec.version != nil)
	}
	if err != nil {
		if isItemError(err) {
			k.c.confirmed()
			return k.itemError(s, key, seq, start, 0, err, h), nil
		}
		k.c.storeError(seq, err)
		return nil, unavailableErr(err)
	}
	k.c.confirmed()
	if !found {
		if old := s.e.Load(); old != nil && old.exists && k.c.dataLost() {
			// The store lost its data: keep serving what it had.
			kept := *old
			kept.seq = seq
			kept.unconfirmed = true
			return k.put(s, &kept), nil
		}
		k.beforeRemoving(ctx, s, key, 0)
		return k.install(s, k.notFound(seq, start), h), nil
	}
	ki := store.KeyedItem{Key: key, Item: item}
	e, err := k.decodeItem(s.e.Load(), &ki, unparsed, seq, start)
	if err != nil {
		return k.itemError(s, key, seq, start, e.hash, err, h), nil
	}
	if !e.live {
		k.beforeRemoving(ctx, s, key, 0)
	}
	return k.install(s, e, h), nil
}

// notFound is the entry for a key the store does not have.
func (k *kind[T]) notFound(seq uint64, start int64) *entry[T] {
	e := &entry[T]{seq: seq}
	e.refreshAt, e.expires = k.c.life(start, false)
	return e
}

// install installs e, the answer of a read, and returns the entry the slot
// holds afterwards. The answer of a refresh-ahead read (h) that differs
// from the current, unexpired entry does not replace it yet: it waits in the
// slot until the current entry expires (see late), so a cached value stays
// what it was for its whole TTL, as LaunchDarkly's persistent-store contract
// requires of changes made behind the writer's back.
func (k *kind[T]) install(s *slot[T], e *entry[T], h hold) *entry[T] {
	if h != holdNone {
		if old := s.e.Load(); old != nil && old.seq < e.seq && k.c.now() < old.expires && !sameAnswer(old, e) &&
			(h == holdChanges || old.live && !e.exists) {
			for {
				n := s.next.Load()
				if n != nil && n.seq > e.seq {
					break
				}
				if s.next.CompareAndSwap(n, e) {
					break
				}
			}
			return old
		}
	}
	return k.put(s, e)
}

// beforeRemoving runs before a read installs the removal (a tombstone, or
// "not found") of key. When the slot holds a live item, the cached items
// that depend on it (flags naming it as a prerequisite, flags and segments
// naming it in a segmentMatch clause) are read again first, and installed at
// once. A writer removes an item only after the items that used it stopped
// using it, so reading the dependents first means the cache never serves a
// flag that still names an item the cache already treats as gone: without
// this, each entry expiring on its own clock could make an evaluation see
// the new half of a change and the old half of another (PREREQUISITE_FAILED
// for a flag whose new version no longer has that prerequisite). Removals
// are rare, so the scan of the cached items costs nothing on the common
// path; a key that no decoded item ever named (see namedRefs), such as an
// unknown flag key, needs no scan at all. depth counts nested calls (a
// removal whose dependents are removed too).
//
// A key the cache holds nothing for is treated the same way: a cached flag
// may name it from before the change that removed it (the first lookup of
// a segment, by an evaluation of the old version of a flag).
func (k *kind[T]) beforeRemoving(ctx context.Context, s *slot[T], key string, depth int) {
	if old := s.e.Load(); old != nil && !old.live {
		return // already gone: its dependents were read again then
	}
	if depth >= maxDependentsDepth {
		return // a dependency cycle in stored data, or an absurdly deep chain
	}
	dep := ref{k.codec.kind, key}
	if !k.c.named.has(dep) {
		return // no cached item names it: nothing to read again
	}
	for _, kd := range k.c.kinds {
		kd.refreshDependents(ctx, dep, depth+1)
	}
}

// maxDependentsDepth bounds the chain of removals that beforeRemoving
// follows.
const maxDependentsDepth = 16

// refreshDependents reads again every cached live item that depends on dep,
// installing each answer at once. depth is beforeRemoving's.
func (k *kind[T]) refreshDependents(ctx context.Context, dep ref, depth int) {
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
		k.fetchDependent(ctx, d.s, d.key, depth) // a failed read keeps the last good value
	}
}

// fetchDependent is fetch for refreshDependents: the answer is installed at
// once, and a removal it finds follows the chain at depth.
func (k *kind[T]) fetchDependent(ctx context.Context, s *slot[T], key string, depth int) {
	start := k.c.now()
	seq := k.c.seq.Add(1)
	defer k.outdateAll(seq) // the kind's list must not keep the old value
	item, unparsed, found, err := k.c.getItem(ctx, k.codec.kind, key, k.codec.version != nil)
	switch {
	case err != nil && isItemError(err):
		k.itemError(s, key, seq, start, 0, err, holdNone)
	case err != nil:
		k.c.storeError(seq, err)
	case !found:
		if k.c.dataLost() {
			return
		}
		k.beforeRemoving(ctx, s, key, depth)
		k.put(s, k.notFound(seq, start))
	default:
		ki := store.KeyedItem{Key: key, Item: item}
		e, err := k.decodeItem(s.e.Load(), &ki, unparsed, seq, start)
		if err != nil {
			k.itemError(s, key, seq, start, e.hash, err, holdNone)
			return
		}
		if !e.live {
			k.beforeRemoving(ctx, s, key, depth)
		} else if old := s.e.Load(); old != nil && !sameAnswer(old, e) {
			// An evaluation holding the old value may have met the
			// removal: it must evaluate again (see Cache.Removals).
			k.c.removals.Add(1)
		}
		k.put(s, e)
	}
}

// decode builds the entry for a stored item read at seq, whose read began
// at start, reusing old's decoded value when the stored content is
// unchanged. On a decode error it returns the error and an entry carrying
// only the content hash.
func (k *kind[T]) decode(old *entry[T], item store.Item, seq uint64, start int64) (*entry[T], error) {
	e := &entry[T]{exists: true, version: item.Version, seq: seq,
		hash: maphash.Bytes(hashSeed, item.Data)}
	e.refreshAt, e.expires = k.c.life(start, true)
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
	if k.codec.deps != nil {
		k.c.named.add(k.codec.deps(v)) // before anyone can see v (see beforeRemoving)
	}
	e.val, e.live = v, true
	return e, nil
}

// itemError installs the outcome of an item that could not be read or
// decoded: its last good value, refreshed for another TTL, when there is
// one; otherwise the error itself, cached for one TTL (installed as install
// does, see h).
func (k *kind[T]) itemError(s *slot[T], key string, seq uint64, start int64, hash uint64, err error, h hold) *entry[T] {
	err = fmt.Errorf("%s %q: %w", k.codec.kind, key, err)
	k.c.logMalformed(k.codec.kind, key, hash, err)
	if old := s.e.Load(); old != nil && old.err == nil && old.exists {
		kept := *old
		kept.seq = seq
		kept.refreshAt, kept.expires = k.c.life(start, false)
		return k.put(s, &kept)
	}
	e := &entry[T]{err: asMalformed(err), seq: seq, hash: hash}
	e.refreshAt, e.expires = k.c.life(start, false)
	return k.install(s, e, h)
}

// asMalformed makes a decode error satisfy errors.Is(err, store.ErrMalformedItem).
func asMalformed(err error) error {
	if isItemError(err) {
		return err
	}
	return fmt.Errorf("%w: %w", store.ErrMalformedItem, err)
}

// put installs e unless the slot holds an entry from a later read, and
// returns the entry the slot holds afterwards. A waiting answer older than e
// is dropped.
func (k *kind[T]) put(s *slot[T], e *entry[T]) *entry[T] {
	for {
		old := s.e.Load()
		if old != nil && old.seq > e.seq {
			return old
		}
		if old != nil && old.live && !e.live {
			k.c.removals.Add(1) // before the removal shows (see Cache.Removals)
		}
		if s.e.CompareAndSwap(old, e) {
			s.hot.publish(&s.e)
			if e.live {
				k.c.hadData.Store(true)
			}
			if n := s.next.Load(); n != nil && n.seq < e.seq {
				s.next.CompareAndSwap(n, nil)
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
	k.c.confirmed()
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
	a, err := k.getAllEntry(ctx)
	if err != nil {
		return nil, err
	}
	return a.items, nil
}

// getAllEntry returns the all-items entry. It follows the rules of single
// entries (see late).
func (k *kind[T]) getAllEntry(ctx context.Context) (*allEntry[T], error) {
	if k.c.opts.Mode == ModeOff {
		return k.directAll(ctx)
	}
	if a := k.all.Load(); a != nil {
		if a.seq < k.allBefore.Load() {
			return k.outdatedAll(ctx, a), nil
		}
		now := k.c.now()
		if now < a.refreshAt {
			return a, nil
		}
		if now >= a.expires {
			if a = k.promoteAll(a); now < a.refreshAt {
				return a, nil
			}
		}
		st := k.c.status.Load().State
		if now < a.expires {
			if st != Unavailable && k.allNext.Load() == nil {
				k.startAll(holdChanges)
			}
			return a, nil
		}
		if st == Unavailable {
			if k.c.opts.MaxStale > 0 && now-a.expires > int64(k.c.opts.MaxStale) {
				return nil, k.c.failFastErr()
			}
			return a, nil
		}
		if k.allCall.Load() != nil {
			return a, nil
		}
		if err := k.readAllNow(ctx); err != nil {
			return a, nil // the last good list
		}
		return k.all.Load(), nil
	}
	if k.c.status.Load().State == Unavailable {
		return nil, k.c.failFastErr()
	}
	if err := k.readAllNow(ctx); err != nil {
		return nil, err
	}
	return k.all.Load(), nil // at least as new as the read we waited for
}

// outdatedAll replaces a, an all-items entry read before one of its items
// was read again on its own (a dependent of a removed item), with a newer
// list: the waiting answer of a refresh, or a new read. The list would
// otherwise name items the cache already serves differently. It returns a,
// the last good list, when the store cannot be read.
func (k *kind[T]) outdatedAll(ctx context.Context, a *allEntry[T]) *allEntry[T] {
	for range 3 { // a read that began before the outdating one may be in flight
		if n := k.allNext.Load(); n != nil && n.seq > a.seq {
			k.all.CompareAndSwap(a, n)
			k.allNext.CompareAndSwap(n, nil)
		}
		if a = k.all.Load(); a.seq >= k.allBefore.Load() || k.c.status.Load().State == Unavailable {
			return a
		}
		if err := k.readAllNow(ctx); err != nil {
			return a
		}
	}
	return k.all.Load()
}

// outdateAll marks every all-items entry read before seq out of date.
func (k *kind[T]) outdateAll(seq uint64) {
	for {
		cur := k.allBefore.Load()
		if cur >= seq || k.allBefore.CompareAndSwap(cur, seq) {
			return
		}
	}
}

// promoteAll is promote for the all-items entry.
func (k *kind[T]) promoteAll(a *allEntry[T]) *allEntry[T] {
	if n := k.allNext.Load(); n != nil {
		if n.seq > a.seq {
			k.all.CompareAndSwap(a, n)
		}
		k.allNext.CompareAndSwap(n, nil)
	}
	return k.all.Load()
}

// startAll returns the GetAll in flight, starting one if there is none;
// held as for start.
func (k *kind[T]) startAll(h hold) *call[[]T] {
	for {
		if cl := k.allCall.Load(); cl != nil {
			return cl
		}
		cl := &call[[]T]{}
		if !k.allCall.CompareAndSwap(nil, cl) {
			continue
		}
		if !k.c.goBackground(func() { k.runAll(cl, h) }) {
			k.abandonAll(cl)
		}
		return cl
	}
}

// readAllNow is startAll(holdNone).wait(ctx), reading on the caller's
// goroutine when no read is in flight and ctx cannot end, as readNow does
// for one key: no goroutine to start and schedule while the caller waits.
// Others who need the list meanwhile share the read as usual.
func (k *kind[T]) readAllNow(ctx context.Context) error {
	if k.allCall.Load() == nil && ctx.Done() == nil {
		mine := &call[[]T]{}
		if k.allCall.CompareAndSwap(nil, mine) {
			if !k.c.track(func() { k.runAll(mine, holdNone) }) {
				k.abandonAll(mine)
			}
			return mine.err
		}
	}
	return k.startAll(holdNone).wait(ctx)
}

// runAll makes the all-items read cl, held as for start.
func (k *kind[T]) runAll(cl *call[[]T], h hold) {
	ctx, cancel := k.c.callCtx()
	defer cancel()
	cl.err = k.readAll(ctx, h)
	k.allCall.Store(nil)
	cl.finish()
}

// abandonAll ends the all-items read cl, not started as the cache is closed.
func (k *kind[T]) abandonAll(cl *call[[]T]) {
	cl.err = ErrClosed
	k.allCall.Store(nil)
	cl.finish()
}

// readAll reads every item of the kind and installs the result.
func (k *kind[T]) readAll(ctx context.Context, h hold) error {
	early, err := k.c.awaitListening(ctx)
	if err != nil {
		return err
	}
	defer k.c.endRead(early)
	start := k.c.now()
	seq := k.c.seq.Add(1)
	items, unparsed, err := k.c.getAllItems(ctx, k.codec.kind)
	if err != nil {
		k.c.storeError(seq, err)
		return unavailableErr(err)
	}
	k.c.confirmed()
	k.applyItems(ctx, items, unparsed, false, seq, start, h)
	return nil
}

// applyAll installs a GetAll result read at seq (begun at start): every
// item's slot, the kind's all-items entry, and "not found" for cached keys
// the result lacks, as install does (see h). If items the cache had are
// missing and the store is not initialized (it lost its data), their last
// values are kept. In ModeOff nothing is cached. It returns a description
// of every item read, for change detection.
func (k *kind[T]) applyAll(ctx context.Context, items []store.KeyedItem, seq uint64, start int64, h hold) map[string]itemInfo {
	return k.applyItems(ctx, items, false, true, seq, start, h)
}

// applyItems is applyAll of items that are, if unparsed, as
// [store.UnparsedReader.GetAllUnparsed] returns them (see decodeItem). The
// descriptions it returns list each item's dependencies only if deps is
// set (a read of all items for its own sake needs none).
func (k *kind[T]) applyItems(ctx context.Context, items []store.KeyedItem, unparsed, deps bool, seq uint64, start int64, h hold) map[string]itemInfo {
	k.applyMu.Lock()
	defer k.applyMu.Unlock()
	cache := k.c.opts.Mode != ModeOff
	info := make(map[string]itemInfo, len(items))
	type liveItem struct {
		key string
		val T
	}
	live := make([]liveItem, 0, len(items))
	var malformed []string
	changed := false // some answer differs from what the cache serves
	dec := k.decodeAll(items, unparsed, cache, seq, start)
	for i, ki := range items {
		s, old, e, err := dec[i].s, dec[i].old, dec[i].e, dec[i].err
		if cache {
			if cur := s.e.Load(); cur != old {
				// Installed since it was decoded (a read of a dependent
				// of an item removed above, say): decoded against that.
				old = cur
				e, err = k.decodeItem(old, &items[i], unparsed, seq, start)
			}
		}
		if err != nil {
			if cache {
				if got := k.itemError(s, ki.Key, seq, start, e.hash, err, h); got.err == nil {
					e = got // its last good value
				} else {
					malformed = append(malformed, ki.Key)
				}
			} else {
				k.c.logMalformed(k.codec.kind, ki.Key, e.hash, err)
				malformed = append(malformed, ki.Key)
			}
		} else if cache {
			if old == nil || !sameAnswer(old, e) {
				changed = true
			}
			if old != nil && old.live && !e.live && h != holdRemovals {
				k.beforeRemoving(ctx, s, ki.Key, 0) // a new tombstone: as fetch does
			}
			if got := k.install(s, e, h); h == holdNone {
				e = got // at least as new as this read
			}
		}
		inf := itemInfo{hash: e.hash}
		if e.live {
			live = append(live, liveItem{ki.Key, e.val})
			if deps && k.codec.deps != nil {
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
				changed = true
				if h != holdRemovals {
					// As fetch does: the flags naming it are read again
					// first, so none is served naming a removed item.
					k.beforeRemoving(ctx, m.s, m.key, 0)
				}
				if e := k.install(m.s, k.notFound(seq, start), h); e.live && h == holdRemovals {
					live = append(live, liveItem{m.key, e.val}) // its removal waits, as its entry's does
				}
			}
		}
	}
	slices.SortFunc(live, func(a, b liveItem) int { return strings.Compare(a.key, b.key) })
	vals := make([]T, len(live))
	for i, li := range live {
		vals[i] = li.val
	}
	slices.Sort(malformed)
	if cache {
		a := &allEntry[T]{items: vals, malformed: malformed, seq: seq}
		a.refreshAt, a.expires = k.c.life(start, true)
		target := &k.all
		if cur := k.all.Load(); h == holdChanges && changed && cur != nil && k.c.now() < cur.expires {
			target = &k.allNext // shown when the current list expires, as single entries are
		}
		for {
			old := target.Load()
			if old != nil && old.seq > seq {
				break
			}
			if target.CompareAndSwap(old, a) {
				break
			}
		}
		if target == &k.all {
			if n := k.allNext.Load(); n != nil && n.seq < seq {
				k.allNext.CompareAndSwap(n, nil)
			}
		}
	}
	return info
}

// directAll reads every item in ModeOff: decoded each time (as decodeAll
// decodes for applyAll, an unparsed result's JSON read once, a large one
// on several goroutines), nothing cached.
func (k *kind[T]) directAll(ctx context.Context) (*allEntry[T], error) {
	if k.c.isClosed() {
		return nil, ErrClosed
	}
	seq := k.c.seq.Add(1)
	items, unparsed, err := k.c.getAllItems(ctx, k.codec.kind)
	if err != nil {
		if ctx.Err() == nil {
			k.c.storeError(seq, err)
		}
		return nil, unavailableErr(err)
	}
	k.c.confirmed()
	type liveItem struct {
		key string
		val T
	}
	var live []liveItem
	var malformed []string
	for i, d := range k.decodeAll(items, unparsed, false, seq, 0) {
		switch {
		case d.err != nil:
			k.c.logMalformed(k.codec.kind, items[i].Key, d.e.hash, d.err)
			malformed = append(malformed, items[i].Key)
		case d.e.live:
			live = append(live, liveItem{items[i].Key, d.e.val})
		}
	}
	slices.SortFunc(live, func(a, b liveItem) int { return strings.Compare(a.key, b.key) })
	vals := make([]T, len(live))
	for i, li := range live {
		vals[i] = li.val
	}
	slices.Sort(malformed)
	return &allEntry[T]{items: vals, malformed: malformed, seq: seq}, nil
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
