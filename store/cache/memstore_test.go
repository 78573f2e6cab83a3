package cache

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// memStore is an in-memory store.Store for tests that run on a fake clock
// (testing/synctest): every call takes latency (a timer, so fake time), the
// writes through Init and Upsert notify subscribers as a store.Notifier does,
// and edit changes an item behind the writer's back (no notification), as a
// direct database edit does.
type memStore struct {
	mu     sync.Mutex
	items  map[store.Kind]map[string]store.Item
	inited bool
	subs   []func([]store.Change)

	latency atomic.Int64 // nanoseconds per call
	gets    atomic.Int64
	getAlls atomic.Int64
	fail    atomic.Pointer[error]
}

func newMemStore() *memStore {
	return &memStore{items: map[store.Kind]map[string]store.Item{}}
}

func (m *memStore) wait(ctx context.Context) error {
	if d := time.Duration(m.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if e := m.fail.Load(); e != nil {
		return *e
	}
	return nil
}

func (m *memStore) setFail(err error) {
	if err == nil {
		m.fail.Store(nil)
		return
	}
	m.fail.Store(&err)
}

func (m *memStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	m.gets.Add(1)
	if err := m.wait(ctx); err != nil {
		return store.Item{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	it, ok := m.items[kind][key]
	return it, ok, nil
}

func (m *memStore) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	m.getAlls.Add(1)
	if err := m.wait(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.KeyedItem
	for k, it := range m.items[kind] {
		out = append(out, store.KeyedItem{Key: k, Item: it})
	}
	return out, nil
}

func (m *memStore) Initialized(ctx context.Context) (bool, error) {
	if err := m.wait(ctx); err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inited, nil
}

func (m *memStore) Init(ctx context.Context, data []store.Collection) error {
	m.mu.Lock()
	m.items = map[store.Kind]map[string]store.Item{}
	for _, c := range data {
		m.items[c.Kind] = map[string]store.Item{}
		for _, ki := range c.Items {
			m.items[c.Kind][ki.Key] = ki.Item
		}
	}
	m.inited = true
	subs := slicesClone(m.subs)
	m.mu.Unlock()
	for _, fn := range subs {
		fn([]store.Change{store.ChangeAll})
	}
	return nil
}

func (m *memStore) Upsert(ctx context.Context, kind store.Kind, key string, it store.Item) (bool, error) {
	m.mu.Lock()
	if old, ok := m.items[kind][key]; ok && old.Version >= it.Version {
		m.mu.Unlock()
		return false, nil
	}
	m.putLocked(kind, key, it)
	subs := slicesClone(m.subs)
	m.mu.Unlock()
	for _, fn := range subs {
		fn([]store.Change{{Kind: kind, Key: key}})
	}
	return true, nil
}

// edit writes an item behind the writer's back: no version check, no
// notification.
func (m *memStore) edit(kind store.Kind, key string, it *store.Item) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if it == nil {
		delete(m.items[kind], key)
		return
	}
	m.putLocked(kind, key, *it)
}

// reset empties the store and drops its marker, without notification.
func (m *memStore) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items = map[store.Kind]map[string]store.Item{}
	m.inited = false
}

func (m *memStore) putLocked(kind store.Kind, key string, it store.Item) {
	if m.items[kind] == nil {
		m.items[kind] = map[string]store.Item{}
	}
	m.items[kind][key] = it
}

func (m *memStore) Close() error { return nil }

func (m *memStore) snapshot(kind store.Kind) map[string]store.Item {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.items[kind])
}

func slicesClone[T any](s []T) []T { return append([]T(nil), s...) }

// notifyingStore is a memStore that implements store.Notifier.
type notifyingStore struct{ *memStore }

func (n notifyingStore) Notify(ctx context.Context, fn func([]store.Change)) error {
	n.mu.Lock()
	n.subs = append(n.subs, fn)
	n.mu.Unlock()
	return nil
}
