package memstore

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// ErrClosed is returned by every call on a [Store] handle after its Close.
var ErrClosed = errors.New("memstore: store is closed")

// Store is one handle on an in-memory dataset. Create one with [New]; the
// zero value is not usable. A Store is safe for concurrent use.
type Store struct {
	d      *data
	closed atomic.Bool
	done   chan struct{} // closed by Close: ends this handle's subscriptions
	once   sync.Once
}

// data is what the handles of one dataset share.
type data struct {
	mu        sync.RWMutex
	inited    bool
	items     map[store.Kind]map[string]store.Item
	members   map[string]*members
	syncOn    time.Time
	hasSyncOn bool
	lastWrite time.Time
	// marks counts the writes and announcements (see Store.WriteMark).
	marks uint64

	failure atomic.Pointer[error]

	subMu sync.Mutex
	subs  map[*subscriber]struct{}
}

// New returns an empty, uninitialized store: [Store.Initialized] is false
// until the first [Store.Init], as on a backend no writer has filled yet.
func New() *Store {
	d := &data{
		items:   map[store.Kind]map[string]store.Item{},
		members: map[string]*members{},
		subs:    map[*subscriber]struct{}{},
	}
	return &Store{d: d, done: make(chan struct{})}
}

// Connect returns another handle on the same data. Writes through either are
// seen by both; closing one does not close the other.
func (s *Store) Connect() *Store {
	return &Store{d: s.d, done: make(chan struct{})}
}

// SetError makes every call of every handle on this data fail with err
// (wrapped in nothing, so errors.Is works on it) until SetError(nil). Use
// an error that wraps [store.ErrUnavailable] to simulate an outage. Writes
// that fail change nothing.
func (s *Store) SetError(err error) {
	if err == nil {
		s.d.failure.Store(nil)
		return
	}
	s.d.failure.Store(&err)
}

// check returns the error a call must fail with, if any.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if p := s.d.failure.Load(); p != nil {
		return *p
	}
	return nil
}

// Get implements [store.Reader].
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	if err := s.check(ctx); err != nil {
		return store.Item{}, false, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	it, ok := s.d.items[kind][key]
	return it, ok, nil
}

// GetAll implements [store.Reader]. Items come in key order.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	m := s.d.items[kind]
	out := make([]store.KeyedItem, 0, len(m))
	for k, it := range m {
		out = append(out, store.KeyedItem{Key: k, Item: it})
	}
	slices.SortFunc(out, func(a, b store.KeyedItem) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// Initialized implements [store.Reader]: true after the first Init.
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	return s.d.inited, nil
}

// Ping implements [store.Pinger]: it fails only after Close, with a done
// context, or while [Store.SetError] is set.
func (s *Store) Ping(ctx context.Context) error { return s.check(ctx) }

// LastWrite implements [store.WriteTimeReader]: the time of the last Init,
// Upsert or UpsertBatch that changed something, through any handle.
func (s *Store) LastWrite(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(ctx); err != nil {
		return time.Time{}, false, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	return s.d.lastWrite, !s.d.lastWrite.IsZero(), nil
}

// WriteMark implements [store.WriteMarker]: the number of writes that
// changed something and of [Store.Announce] calls, through any handle, in
// decimal; "" before the first.
func (s *Store) WriteMark(ctx context.Context) (string, error) {
	if err := s.check(ctx); err != nil {
		return "", err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if s.d.marks == 0 {
		return "", nil
	}
	return strconv.FormatUint(s.d.marks, 10), nil
}

// Init implements [store.Writer]. Readers see the old dataset or the new
// one, never a mix (the store is atomic, as bbolt and Redis are). Every key
// whose item changed, appeared or disappeared is announced to subscribers.
func (s *Store) Init(ctx context.Context, collections []store.Collection) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	next := make(map[store.Kind]map[string]store.Item, len(collections))
	for _, c := range collections {
		m := next[c.Kind]
		if m == nil {
			m = make(map[string]store.Item, len(c.Items))
			next[c.Kind] = m
		}
		for _, ki := range c.Items {
			m[ki.Key] = cloneItem(ki.Item)
		}
	}
	s.d.mu.Lock()
	var changes []store.Change
	for _, kind := range kinds(s.d.items, next) {
		old, cur := s.d.items[kind], next[kind]
		for k, it := range cur {
			if o, ok := old[k]; !ok || !sameItem(o, it) {
				changes = append(changes, store.Change{Kind: kind, Key: k})
			}
		}
		for k := range old {
			if _, ok := cur[k]; !ok {
				changes = append(changes, store.Change{Kind: kind, Key: k})
			}
		}
	}
	s.d.items = next
	s.d.inited = true
	s.d.lastWrite = time.Now()
	s.d.publishLocked(changes)
	s.d.mu.Unlock()
	return nil
}

// kinds lists the kinds present in either map, in a fixed order.
func kinds(a, b map[store.Kind]map[string]store.Item) []store.Kind {
	var out []store.Kind
	for k := range a {
		out = append(out, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func sameItem(a, b store.Item) bool {
	return a.Version == b.Version && a.Deleted == b.Deleted && bytes.Equal(a.Data, b.Data)
}

func cloneItem(it store.Item) store.Item {
	it.Data = bytes.Clone(it.Data)
	return it
}

// Upsert implements [store.Writer]: the item is stored when the store holds
// none for the key or one with a lower version (tombstones included).
func (s *Store) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	applied, err := s.UpsertBatch(ctx, []store.ItemUpdate{{Kind: kind, Key: key, Item: item}})
	if err != nil {
		return false, err
	}
	return applied[0], nil
}

// UpsertBatch implements [store.Batcher]: the whole batch is applied under
// one lock, so readers see all of it or none of it.
func (s *Store) UpsertBatch(ctx context.Context, updates []store.ItemUpdate) ([]bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, err
	}
	applied := make([]bool, len(updates))
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	var changes []store.Change
	for i, u := range updates {
		m := s.d.items[u.Kind]
		if old, ok := m[u.Key]; ok && old.Version >= u.Item.Version {
			continue
		}
		if m == nil {
			m = map[string]store.Item{}
			s.d.items[u.Kind] = m
		}
		m[u.Key] = cloneItem(u.Item)
		applied[i] = true
		changes = append(changes, store.Change{Kind: u.Kind, Key: u.Key})
	}
	if len(changes) > 0 {
		s.d.lastWrite = time.Now()
		s.d.publishLocked(changes)
	}
	return applied, nil
}

// Close closes this handle: its calls fail with [ErrClosed] afterwards and
// its subscriptions end. Other handles on the data are unaffected. Close
// always returns nil and may be called more than once.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
	})
	return nil
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.Pinger            = (*Store)(nil)
	_ store.Notifier          = (*Store)(nil)
	_ store.Batcher           = (*Store)(nil)
	_ store.WriteTimeReader   = (*Store)(nil)
	_ store.WriteMarker       = (*Store)(nil)
	_ store.BigSegmentReader  = (*Store)(nil)
	_ store.BigSegmentWriter  = (*Store)(nil)
	_ store.MembershipScanner = (*Store)(nil)
)
