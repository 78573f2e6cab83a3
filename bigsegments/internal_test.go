package bigsegments

import (
	"context"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// nopReader is a store that answers at once, for tests of the Manager's own
// bookkeeping.
type nopReader struct{}

func (nopReader) Membership(context.Context, string) (store.Membership, error) {
	return store.Membership{}, nil
}
func (nopReader) SynchronizedOn(context.Context) (time.Time, bool, error) {
	return time.Now(), true, nil
}
func (nopReader) Close() error { return nil }

func TestPollIntervalNeverAboveStaleAfter(t *testing.T) {
	o, err := Options{Store: nopReader{}, StatusPollInterval: time.Hour, StaleAfter: time.Minute}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.StatusPollInterval != time.Minute {
		t.Errorf("poll interval = %v, want the stale threshold 1m0s", o.StatusPollInterval)
	}
	o, _ = Options{Store: nopReader{}}.withDefaults()
	if o.CacheSize != 1000 || o.CacheTTL != 5*time.Second || o.StatusPollInterval != 5*time.Second || o.StaleAfter != 2*time.Minute || o.Logger == nil {
		t.Errorf("defaults = %+v", o)
	}
}

func TestCloseEndsPoller(t *testing.T) {
	m, err := New(Options{Store: nopReader{}, StatusPollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	select {
	case <-m.done:
	default:
		t.Fatal("the poller goroutine is still running after Close")
	}
}

func TestLRUCache(t *testing.T) {
	c := newLRUCache(2)
	now := time.Now()
	later := now.Add(time.Minute)
	a, b := &memberSet{}, &memberSet{}
	c.put("a", a, later)
	c.put("b", b, later)
	if got, ok := c.get("a", now); !ok || got != a {
		t.Fatal("a missing")
	}
	c.put("c", nil, later) // evicts b
	if _, ok := c.get("b", now); ok {
		t.Error("b not evicted")
	}
	if got, ok := c.get("c", now); !ok || got != nil {
		t.Error("not-found entry for c missing")
	}
	if _, ok := c.get("a", later); ok {
		t.Error("expired entry served")
	}
	c.put("a", b, later.Add(time.Minute)) // refresh in place
	if got, ok := c.get("a", later); !ok || got != b {
		t.Error("refreshed entry missing")
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
}

func TestHashingDoesNotAllocate(t *testing.T) {
	var buf [store.ContextHashLen]byte
	key := "a context key longer than thirty-two bytes, to defeat small-buffer tricks"
	if n := testing.AllocsPerRun(100, func() { store.AppendContextHash(buf[:0], key) }); n != 0 {
		t.Errorf("appendContextHash allocates %v times", n)
	}
}

func TestCheckMembershipDoesNotAllocate(t *testing.T) {
	s := newMemberSet(store.Membership{Included: []string{"a.g1"}, Excluded: []string{"b.g1"}})
	if n := testing.AllocsPerRun(100, func() { s.CheckMembership("b.g1") }); n != 0 {
		t.Errorf("CheckMembership allocates %v times", n)
	}
}

func TestMemberSet(t *testing.T) {
	if s := newMemberSet(store.Membership{}); s != nil {
		t.Errorf("empty membership = %+v, want nil", s)
	}
	s := newMemberSet(store.Membership{
		Included: []string{"seg-c.1", "seg-a.2", "both.1"},
		Excluded: []string{"seg-b.1", "both.1", "seg-d.3"},
	})
	for _, tc := range []struct {
		ref             string
		included, known bool
	}{
		{"seg-a.2", true, true},
		{"seg-c.1", true, true},
		{"seg-b.1", false, true},
		{"seg-d.3", false, true},
		{"both.1", true, true}, // inclusion wins over exclusion
		{"seg-a.1", false, false},
		{"", false, false},
		{"zzz", false, false},
	} {
		if included, known := s.CheckMembership(tc.ref); included != tc.included || known != tc.known {
			t.Errorf("CheckMembership(%q) = %v, %v; want %v, %v", tc.ref, included, known, tc.included, tc.known)
		}
	}
	one := store.Membership{Excluded: []string{"seg.1"}}
	if included, known := newMemberSet(one).CheckMembership("seg.1"); included || !known {
		t.Errorf("single exclusion = %v, %v; want false, true", included, known)
	}
	// A membership of one reference is one allocation.
	if n := testing.AllocsPerRun(100, func() { _ = newMemberSet(one) }); n != 1 {
		t.Errorf("newMemberSet of one reference: %v allocations, want 1", n)
	}
}

// A full cache reuses the entry it evicts for the new key.
func TestLRUCacheFullPutAllocatesNothing(t *testing.T) {
	c := newLRUCache(2)
	later := time.Now().Add(time.Minute)
	keys := []string{"a", "b", "c", "d"}
	c.put("a", nil, later)
	c.put("b", nil, later)
	i := 0
	if n := testing.AllocsPerRun(100, func() { c.put(keys[i%4], nil, later); i++ }); n != 0 {
		t.Errorf("put into a full cache: %v allocations, want 0", n)
	}
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
	if _, ok := c.get(keys[(i-1)%4], time.Now()); !ok {
		t.Error("the last key put is missing")
	}
}
