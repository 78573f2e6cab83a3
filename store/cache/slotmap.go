package cache

import (
	"maps"
	"sync"
	"sync/atomic"
)

// slotMap maps keys to slots. Lookups of keys that have been in the map for
// a while read an immutable snapshot through one atomic load, with no lock
// and no allocation (about twice as fast as sync.Map's interface-keyed
// lookup). New keys go to a locked overflow map first and are merged into a
// new snapshot once lookups have needed the lock as many times as there are
// keys, so a stream of new keys costs amortized O(1) per key rather than a
// copy of the whole map each.
type slotMap[T any] struct {
	read atomic.Pointer[slotTable[T]] // never modified once stored

	mu     sync.Mutex
	dirty  map[string]*slot[T] // keys not in read
	misses int
}

func (m *slotMap[T]) snapshot() map[string]*slot[T] {
	if p := m.read.Load(); p != nil {
		return p.m
	}
	return nil
}

// store makes next the snapshot; next must not be modified afterwards.
func (m *slotMap[T]) store(next map[string]*slot[T]) {
	m.read.Store(newSlotTable(next))
}

// load returns the slot for key, or nil.
func (m *slotMap[T]) load(key string) *slot[T] {
	if s := m.read.Load().find(key); s != nil {
		return s
	}
	return m.loadSlow(key, false)
}

// loadOrCreate returns the slot for key, creating it if needed.
func (m *slotMap[T]) loadOrCreate(key string) *slot[T] {
	if s := m.read.Load().find(key); s != nil {
		return s
	}
	return m.loadSlow(key, true)
}

// loadSlow is load (or loadOrCreate, if create) for a key not in the
// snapshot: it looks again under the lock, in case a merge just put it
// there, then in the overflow.
func (m *slotMap[T]) loadSlow(key string, create bool) *slot[T] {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.snapshot()[key]; s != nil {
		return s
	}
	s := m.dirty[key]
	if s == nil {
		if !create {
			return nil
		}
		s = newSlot[T](key)
		if m.dirty == nil {
			m.dirty = map[string]*slot[T]{}
		}
		m.dirty[key] = s
	}
	m.missLocked()
	return s
}

// missLocked counts a lookup that needed the lock. The overflow is merged
// after as many such lookups as there are keys in all, so the O(n) merge is
// amortized over n lookups.
func (m *slotMap[T]) missLocked() {
	m.misses++
	if m.misses >= len(m.dirty)+len(m.snapshot()) {
		m.promoteLocked()
	}
}

// promote merges the overflow into a new snapshot now, as after a bulk load.
func (m *slotMap[T]) promote() {
	m.mu.Lock()
	m.promoteLocked()
	m.mu.Unlock()
}

func (m *slotMap[T]) promoteLocked() {
	m.misses = 0
	if len(m.dirty) == 0 {
		return
	}
	old := m.snapshot()
	next := make(map[string]*slot[T], len(old)+len(m.dirty))
	maps.Copy(next, old)
	maps.Copy(next, m.dirty)
	m.store(next)
	m.dirty = nil
}

// each calls fn for every key and slot present when it starts.
func (m *slotMap[T]) each(fn func(key string, s *slot[T])) {
	m.mu.Lock()
	read := m.snapshot()
	dirty := maps.Clone(m.dirty)
	m.mu.Unlock()
	for k, s := range read {
		fn(k, s)
	}
	for k, s := range dirty {
		fn(k, s)
	}
}

// deleteIf removes every slot for which drop returns true.
func (m *slotMap[T]) deleteIf(drop func(s *slot[T]) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	maps.DeleteFunc(m.dirty, func(_ string, s *slot[T]) bool { return drop(s) })
	old := m.snapshot()
	var next map[string]*slot[T]
	for k, s := range old {
		if drop(s) {
			if next == nil {
				next = maps.Clone(old)
			}
			delete(next, k)
		}
	}
	if next != nil {
		m.store(next)
	}
}

// len returns the number of keys.
func (m *slotMap[T]) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.snapshot()) + len(m.dirty)
}
