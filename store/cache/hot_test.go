package cache

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestHotEntryCopiesTheCurrentEntry: the copy serves the current entry's
// value until its refresh is due, and nothing for an error entry or no
// entry.
func TestHotEntryCopiesTheCurrentEntry(t *testing.T) {
	var s slot[int]
	if _, ok := s.hot.fresh(0); ok {
		t.Fatal("a slot with no entry has a fresh copy")
	}
	s.e.Store(&entry[int]{val: 7, refreshAt: 100})
	s.hot.publish(&s.e)
	if v, ok := s.hot.fresh(99); !ok || v != 7 {
		t.Fatalf("fresh(99) = %d, %v; want 7, true", v, ok)
	}
	if _, ok := s.hot.fresh(100); ok {
		t.Fatal("the copy is fresh when its refresh is due")
	}
	s.e.Store(&entry[int]{refreshAt: 200, err: errors.New("malformed")})
	s.hot.publish(&s.e)
	if _, ok := s.hot.fresh(150); ok {
		t.Fatal("an error entry has a fresh copy")
	}
	s.e.Store(&entry[int]{refreshAt: 300}) // "not found": the zero value
	s.hot.publish(&s.e)
	if v, ok := s.hot.fresh(250); !ok || v != 0 {
		t.Fatalf("fresh(250) = %d, %v; want 0, true", v, ok)
	}
	s.e.Store(nil)
	s.hot.publish(&s.e)
	if _, ok := s.hot.fresh(250); ok {
		t.Fatal("a slot with no entry has a fresh copy")
	}
}

// TestHotEntryNeverTorn: writers switch the entry between one that is due
// at 100 and one due at 1000 while readers look at 500: a reader must never
// get the first entry's value, which a value paired with the other entry's
// time would give.
func TestHotEntryNeverTorn(t *testing.T) {
	var s slot[int]
	early, late := &entry[int]{val: 1, refreshAt: 100}, &entry[int]{val: 2, refreshAt: 1000}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if (i+w)%2 == 0 {
					s.e.Store(early)
				} else {
					s.e.Store(late)
				}
				s.hot.publish(&s.e)
			}
		})
	}
	hits := 0
	for range 500_000 {
		if v, ok := s.hot.fresh(500); ok {
			hits++
			if v != 2 {
				stop.Store(true)
				wg.Wait()
				t.Fatalf("fresh(500) served %d, the value of the entry due at 100", v)
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	// The copy ends as the last entry stored.
	if v, ok := s.hot.fresh(500); ok != (s.e.Load() == late) || (ok && v != 2) {
		t.Fatalf("after the writers: fresh(500) = %d, %v with entry due at %d", v, ok, s.e.Load().refreshAt)
	}
	t.Logf("%d of 500000 reads served from the copy", hits)
}
