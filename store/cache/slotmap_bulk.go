package cache

import "maps"

// loadOrCreateAll calls set(i, slot) with the slot for key(i), for every
// i < n, creating the slots that are missing; the new ones go into the
// snapshot at once. For a whole GetAll result of new keys this is one copy
// of the map, where loadOrCreate per key takes the lock and grows the
// overflow for each (and merges it now and then, and once more after).
// Keys already in the snapshot are found without the lock.
func (m *slotMap[T]) loadOrCreateAll(n int, key func(i int) string, set func(i int, s *slot[T])) {
	read := m.snapshot()
	var missing []int
	for i := range n {
		if s := read[key(i)]; s != nil {
			set(i, s)
		} else {
			missing = append(missing, i)
		}
	}
	if len(missing) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	read = m.snapshot()
	next := make(map[string]*slot[T], len(read)+len(m.dirty)+len(missing))
	maps.Copy(next, read)
	maps.Copy(next, m.dirty)
	for _, i := range missing {
		k := key(i)
		s := next[k]
		if s == nil {
			s = newSlot[T](k)
			next[k] = s
		}
		set(i, s)
	}
	m.store(next)
	m.dirty = nil
	m.misses = 0
}
