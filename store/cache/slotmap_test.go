package cache

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/daemonflag/daemonflag/store"
)

func TestSlotMap(t *testing.T) {
	var m slotMap[int]
	if m.load("a") != nil {
		t.Fatal("empty map has a")
	}
	a := m.loadOrCreate("a")
	if m.loadOrCreate("a") != a || m.load("a") != a {
		t.Fatal("a not stable")
	}
	for i := range 100 {
		m.loadOrCreate(fmt.Sprint(i))
	}
	m.promote()
	if len(m.snapshot()) != 101 || len(m.dirty) != 0 {
		t.Fatalf("after promote: %d in snapshot, %d in overflow", len(m.snapshot()), len(m.dirty))
	}
	// A new key reaches the snapshot after amortized lookups.
	b := m.loadOrCreate("b")
	for range 200 {
		if m.load("b") != b {
			t.Fatal("b not stable")
		}
	}
	if m.snapshot()["b"] != b {
		t.Error("b was never merged into the snapshot")
	}
	n := 0
	m.each(func(string, *slot[int]) { n++ })
	if n != 102 {
		t.Errorf("each saw %d slots", n)
	}
	c := m.loadOrCreate("c")
	m.deleteIf(func(s *slot[int]) bool { return s == a || s == b || s == c })
	if m.load("a") != nil || m.load("b") != nil || m.load("c") != nil || m.load("7") == nil {
		t.Error("deleteIf")
	}
}

func TestSlotMapConcurrent(t *testing.T) {
	var m slotMap[int]
	var wg sync.WaitGroup
	got := make([][]*slot[int], 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				got[g] = append(got[g], m.loadOrCreate(fmt.Sprint(i)))
				m.load(fmt.Sprint(i / 2))
			}
		}()
	}
	wg.Wait()
	for g := range got {
		for i, s := range got[g] {
			if s != got[0][i] {
				t.Fatalf("goroutine %d got another slot for key %d", g, i)
			}
		}
	}
}

func TestLaterReadWins(t *testing.T) {
	x := newTestCache(t, nilReader{}, Options{ProbeInterval: time.Hour})
	s := x.flags.slots.loadOrCreate("a")
	newer := &entry[*testItem]{seq: 5, live: true, val: &testItem{Value: "newer"}}
	older := &entry[*testItem]{seq: 3, live: true, val: &testItem{Value: "older"}}
	if x.flags.put(s, newer) != newer || x.flags.put(s, older) != newer || s.e.Load() != newer {
		t.Error("an earlier read replaced a later one")
	}
}

func TestPruneForgetsOldNotFoundEntries(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("a", item("a", 1, "one"))}, nil)
	x := newTestCache(t, s, Options{TTL: time.Minute})
	x.value(t, x.flags, "a")
	for i := range 100 {
		x.value(t, x.flags, fmt.Sprint("unknown-", i))
	}
	x.advance(3 * time.Minute)
	x.c.prune()
	n := 0
	x.flags.slots.each(func(string, *slot[*testItem]) { n++ })
	if n != 1 || x.flags.slotEntry("a") == nil {
		t.Errorf("%d slots after prune, want only a's", n)
	}
}

func TestSlotTableFind(t *testing.T) {
	if (*slotTable[int])(nil).find("a") != nil || newSlotTable(map[string]*slot[int]{}).find("a") != nil {
		t.Fatal("an empty table finds a key")
	}
	for _, n := range []int{1, 7, 8, 9, 1000} {
		m := map[string]*slot[int]{}
		for i := range n {
			k := fmt.Sprintf("flag-%d", i)
			m[k] = &slot[int]{key: k}
		}
		tab := newSlotTable(m)
		if len(tab.index) < 2*n || len(tab.index)&(len(tab.index)-1) != 0 {
			t.Fatalf("%d keys: index of %d places", n, len(tab.index))
		}
		for k, s := range m {
			// A key equal to the slot's but not the same string.
			if got := tab.find(string([]byte(k))); got != s {
				t.Fatalf("%d keys: find(%q) = %p, want %p", n, k, got, s)
			}
		}
		for i := range 2 * n {
			if k := fmt.Sprintf("other-%d", i); tab.find(k) != nil {
				t.Fatalf("%d keys: found %q", n, k)
			}
		}
		if tab.find("") != nil || tab.find("flag-") != nil {
			t.Fatalf("%d keys: found a prefix", n)
		}
	}
}

// TestNewSlotKeepsShortKeysInside: a key up to slotKeyBuf bytes is copied
// into its slot (and compares equal), a longer one is kept as it is.
func TestNewSlotKeepsShortKeysInside(t *testing.T) {
	for _, n := range []int{0, 1, 16, slotKeyBuf, slotKeyBuf + 1, 100} {
		key := strings.Repeat("k", n)
		s := newSlot[int](key)
		if s.key != key {
			t.Fatalf("len %d: key %q", n, s.key)
		}
		inside := n > 0 && unsafe.StringData(s.key) == &s.keyBuf[0]
		if inside != (n > 0 && n <= slotKeyBuf) {
			t.Errorf("len %d: key inside the slot: %v", n, inside)
		}
	}
	if got := unsafe.Sizeof(slot[int]{}); got != 128 {
		t.Errorf("a slot is %d bytes, want 128 (see slotKeyBuf)", got)
	}
}
