package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/storetest"
)

// TestSuiteOnReferenceStore runs the suite on memStore, a small in-memory
// reference implementation of the contracts, so a change to the suite is
// checked without a backend. Real backends run the suite in their own
// packages.
func TestSuiteOnReferenceStore(t *testing.T) {
	data := &memData{sets: map[string]*memSet{}}
	token := fmt.Sprint(rand.Int64())
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, prefix string) store.Store {
			return &memStore{data: data, prefix: token + prefix}
		},
		AtomicInit: true,
		BigSegments: func(t *testing.T, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := &memStore{data: data, prefix: token + prefix}
			return s, s
		},
		AtomicInitDuration: 500 * time.Millisecond,
	})
}

type memData struct {
	mu   sync.Mutex
	sets map[string]*memSet
}

type memSet struct {
	inited  bool
	items   map[store.Kind]map[string]store.Item
	members map[string]*store.Membership
	syncOn  *time.Time
}

func (d *memData) set(prefix string) *memSet {
	s := d.sets[prefix]
	if s == nil {
		s = &memSet{items: map[store.Kind]map[string]store.Item{}, members: map[string]*store.Membership{}}
		d.sets[prefix] = s
	}
	return s
}

type memStore struct {
	data   *memData
	prefix string
	mu     sync.Mutex
	closed bool
}

var errClosed = errors.New("memstore: closed")

// begin checks the context and Close, and locks the shared data.
func (m *memStore) begin(ctx context.Context) (*memSet, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	closed := m.closed
	m.mu.Unlock()
	if closed {
		return nil, nil, errClosed
	}
	m.data.mu.Lock()
	return m.data.set(m.prefix), m.data.mu.Unlock, nil
}

func clone(it store.Item) store.Item {
	it.Data = slices.Clone(it.Data)
	return it
}

func (m *memStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return store.Item{}, false, err
	}
	defer unlock()
	it, ok := s.items[kind][key]
	return clone(it), ok, nil
}

func (m *memStore) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []store.KeyedItem
	for k, it := range s.items[kind] {
		out = append(out, store.KeyedItem{Key: k, Item: clone(it)})
	}
	return out, nil
}

func (m *memStore) Initialized(ctx context.Context) (bool, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	return s.inited, nil
}

func (m *memStore) Init(ctx context.Context, data []store.Collection) error {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	s.items = map[store.Kind]map[string]store.Item{}
	for _, c := range data {
		if s.items[c.Kind] == nil {
			s.items[c.Kind] = map[string]store.Item{}
		}
		for _, ki := range c.Items {
			s.items[c.Kind][ki.Key] = clone(ki.Item)
		}
	}
	s.inited = true
	return nil
}

func (m *memStore) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if old, ok := s.items[kind][key]; ok && old.Version >= item.Version {
		return false, nil
	}
	if s.items[kind] == nil {
		s.items[kind] = map[string]store.Item{}
	}
	s.items[kind][key] = clone(item)
	return true, nil
}

func (m *memStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

func (m *memStore) Ping(ctx context.Context) error {
	_, unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	unlock()
	return nil
}

func (m *memStore) Membership(ctx context.Context, hash string) (store.Membership, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return store.Membership{}, err
	}
	defer unlock()
	if mb := s.members[hash]; mb != nil {
		return store.Membership{Included: slices.Clone(mb.Included), Excluded: slices.Clone(mb.Excluded)}, nil
	}
	return store.Membership{}, nil
}

func (m *memStore) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return time.Time{}, false, err
	}
	defer unlock()
	if s.syncOn == nil {
		return time.Time{}, false, nil
	}
	return *s.syncOn, true, nil
}

func (m *memStore) ApplyMembership(ctx context.Context, changes []store.MembershipChange) error {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for _, c := range changes {
		mb := s.members[c.ContextHash]
		if mb == nil {
			mb = &store.Membership{}
			s.members[c.ContextHash] = mb
		}
		set := &mb.Included
		if c.Excluded {
			set = &mb.Excluded
		}
		*set = slices.DeleteFunc(*set, func(r string) bool { return r == c.SegmentRef })
		if !c.Remove {
			*set = append(*set, c.SegmentRef)
		}
	}
	return nil
}

func (m *memStore) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	ms := time.UnixMilli(t.UnixMilli())
	s.syncOn = &ms
	return nil
}

func (m *memStore) ScanMembership(ctx context.Context, fn func(string, store.Membership) error) error {
	s, unlock, err := m.begin(ctx)
	if err != nil {
		return err
	}
	snapshot := maps.Clone(s.members)
	unlock()
	for hash, mb := range snapshot {
		if err := fn(hash, *mb); err != nil {
			return err
		}
	}
	return nil
}
