package cache

import (
	"fmt"
	"sync"
	"testing"
)

// loadOrCreateAll gives every key the slot loadOrCreate gives it: existing
// ones (in the snapshot or the overflow) are kept, new ones are made once
// and land in the snapshot, also while other goroutines create keys one by
// one.
func TestSlotMapLoadOrCreateAll(t *testing.T) {
	var m slotMap[int]
	a := m.loadOrCreate("a") // in the overflow
	m.promote()
	b := m.loadOrCreate("b") // in the overflow
	keys := []string{"a", "b", "c", "d", "c"}
	got := make([]*slot[int], len(keys))
	m.loadOrCreateAll(len(keys), func(i int) string { return keys[i] }, func(i int, s *slot[int]) { got[i] = s })
	if got[0] != a || got[1] != b || got[2] == nil || got[3] == nil || got[2] != got[4] || got[2] == got[3] {
		t.Fatalf("slots = %v; want a, b, then new ones, c twice the same", got)
	}
	for i, k := range keys {
		if m.snapshot()[k] != got[i] || m.load(k) != got[i] || m.loadOrCreate(k) != got[i] {
			t.Errorf("%s: not the same slot afterwards, or not in the snapshot", k)
		}
	}
	if len(m.dirty) != 0 || m.len() != 4 {
		t.Errorf("%d keys, %d in the overflow; want 4, 0", m.len(), len(m.dirty))
	}
	// Nothing new: nothing changes.
	before := m.read.Load()
	m.loadOrCreateAll(2, func(i int) string { return keys[i] }, func(int, *slot[int]) {})
	if m.read.Load() != before {
		t.Error("a bulk load of known keys made a new snapshot")
	}

	// Concurrently with single creations, every key ends with one slot.
	var c slotMap[int]
	const n = 2000
	bulk := make([]*slot[int], n)
	var wg sync.WaitGroup
	single := make([]*slot[int], n)
	wg.Go(func() {
		for i := n - 1; i >= 0; i-- {
			single[i] = c.loadOrCreate(fmt.Sprint(i))
		}
	})
	c.loadOrCreateAll(n, func(i int) string { return fmt.Sprint(i) }, func(i int, s *slot[int]) { bulk[i] = s })
	wg.Wait()
	for i := range n {
		if bulk[i] != single[i] || c.load(fmt.Sprint(i)) != bulk[i] {
			t.Fatalf("key %d: bulk %p, single %p, map %p", i, bulk[i], single[i], c.load(fmt.Sprint(i)))
		}
	}
}
