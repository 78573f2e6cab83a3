package memstore_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/store/storetest"
)

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	roots := map[string]*memstore.Store{}
	open := func(prefix string) *memstore.Store {
		mu.Lock()
		defer mu.Unlock()
		if roots[prefix] == nil {
			roots[prefix] = memstore.New()
		}
		return roots[prefix].Connect()
	}
	storetest.Run(t, storetest.Harness{
		New:        func(_ *testing.T, prefix string) store.Store { return open(prefix) },
		AtomicInit: true,
		BigSegments: func(_ *testing.T, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := open(prefix)
			return s, s
		},
		AtomicInitDuration: 500 * time.Millisecond,
	})
}

func item(key string, version int) store.KeyedItem {
	it, err := store.ItemFromJSON(fmt.Appendf(nil, `{"key":%q,"version":%d}`, key, version))
	if err != nil {
		panic(err)
	}
	return store.KeyedItem{Key: key, Item: it}
}

// changeLog collects what a Notify subscription delivers.
type changeLog struct {
	mu      sync.Mutex
	changes []store.Change
}

func (l *changeLog) add(cs []store.Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changes = append(l.changes, cs...)
}

func (l *changeLog) get() []store.Change {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.changes)
}

func subscribe(t *testing.T, s *memstore.Store) *changeLog {
	t.Helper()
	l := &changeLog{}
	if err := s.Notify(t.Context(), l.add); err != nil {
		t.Fatalf("Notify: %v", err)
	}
	return l
}

func TestNotifyEveryHandleSeesEveryWrite(t *testing.T) {
	ctx := t.Context()
	w := memstore.New()
	r1, r2 := w.Connect(), w.Connect()
	l1, l2 := subscribe(t, r1), subscribe(t, r2)

	f, g, sg := item("f", 1), item("g", 1), item("s", 1)
	if err := w.Init(ctx, []store.Collection{
		{Kind: store.Segments, Items: []store.KeyedItem{sg}},
		{Kind: store.Features, Items: []store.KeyedItem{f, g}},
	}); err != nil {
		t.Fatal(err)
	}
	// An Init announces only what changed: g keeps its bytes, f changes, h
	// appears, the segment disappears.
	if err := w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{item("f", 2), g, item("h", 1)}}}); err != nil {
		t.Fatal(err)
	}
	if applied, err := w.Upsert(ctx, store.Features, "f", item("f", 1).Item); err != nil || applied {
		t.Fatalf("Upsert of an older version: applied=%v err=%v", applied, err)
	}
	if _, err := w.UpsertBatch(ctx, []store.ItemUpdate{
		{Kind: store.Features, Key: "g", Item: item("g", 5).Item},
		{Kind: store.Segments, Key: "t", Item: store.Tombstone("t", 3)},
	}); err != nil {
		t.Fatal(err)
	}
	want := []store.Change{
		{Kind: store.Features, Key: "f"}, {Kind: store.Features, Key: "g"}, {Kind: store.Segments, Key: "s"},
		{Kind: store.Features, Key: "f"}, {Kind: store.Features, Key: "h"}, {Kind: store.Segments, Key: "s"},
		{Kind: store.Features, Key: "g"}, {Kind: store.Segments, Key: "t"},
	}
	for i, l := range []*changeLog{l1, l2} {
		testwait.Eventually(t, fmt.Sprintf("subscriber %d to see every change", i+1), func() bool { return len(l.get()) >= len(want) })
		if got := l.get(); !sameChanges(got, want) {
			t.Errorf("subscriber %d got %v, want %v", i+1, got, want)
		}
	}
}

// sameChanges compares change lists write by write: the order of keys
// within one Init is not specified, so each write's changes are compared as
// sets, taking the writes' sizes from want.
func sameChanges(got, want []store.Change) bool {
	if len(got) != len(want) {
		return false
	}
	sizes := []int{3, 3, 2} // the two Inits and the batch above
	i := 0
	for _, n := range sizes {
		g, w := slices.Clone(got[i:i+n]), slices.Clone(want[i:i+n])
		byKey := func(a, b store.Change) int {
			if a.Kind != b.Kind {
				return cmp.Compare(a.Kind, b.Kind)
			}
			return cmp.Compare(a.Key, b.Key)
		}
		slices.SortFunc(g, byKey)
		slices.SortFunc(w, byKey)
		if !slices.Equal(g, w) {
			return false
		}
		i += n
	}
	return true
}

func TestNotifyEndsWithContextAndClose(t *testing.T) {
	ctx := t.Context()
	w := memstore.New()
	r := w.Connect()
	subCtx, cancel := context.WithCancel(ctx)
	stopped := &changeLog{}
	if err := r.Notify(subCtx, stopped.add); err != nil {
		t.Fatal(err)
	}
	closed := subscribe(t, r)
	live := subscribe(t, w)
	if n := w.Subscribers(); n != 3 {
		t.Errorf("Subscribers = %d, want 3", n)
	}
	cancel()
	r.Close()
	testwait.Eventually(t, "the ended subscriptions to go", func() bool { return w.Subscribers() == 1 })
	if _, err := w.Upsert(ctx, store.Features, "f", item("f", 1).Item); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the live subscriber to see the write", func() bool { return len(live.get()) == 1 })
	// The ended subscriptions were ended before the write: they never see
	// it (memstore checks the end before each delivery).
	if got := stopped.get(); len(got) != 0 {
		t.Errorf("a subscription whose context ended got %v", got)
	}
	if got := closed.get(); len(got) != 0 {
		t.Errorf("a subscription of a closed handle got %v", got)
	}
	if err := r.Notify(ctx, func([]store.Change) {}); !errors.Is(err, memstore.ErrClosed) {
		t.Errorf("Notify after Close = %v, want ErrClosed", err)
	}
}

func TestSetError(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	other := s.Connect()
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{item("f", 1)}}}); err != nil {
		t.Fatal(err)
	}
	outage := fmt.Errorf("%w: injected", store.ErrUnavailable)
	s.SetError(outage)
	if _, _, err := other.Get(ctx, store.Features, "f"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get during the outage = %v, want the injected error", err)
	}
	if err := other.Ping(ctx); !errors.Is(err, outage) {
		t.Errorf("Ping during the outage = %v", err)
	}
	if _, err := s.Upsert(ctx, store.Features, "f", item("f", 2).Item); err == nil {
		t.Error("Upsert during the outage succeeded")
	}
	s.SetError(nil)
	got, ok, err := other.Get(ctx, store.Features, "f")
	if err != nil || !ok || got.Version != 1 {
		t.Errorf("Get after the outage = %v, %v, %v; want version 1 (the failed write changed nothing)", got.Version, ok, err)
	}
}

func TestLastWrite(t *testing.T) {
	ctx := t.Context()
	s := memstore.New()
	if _, ok, err := s.LastWrite(ctx); ok || err != nil {
		t.Fatalf("LastWrite of a new store: ok=%v err=%v", ok, err)
	}
	before := time.Now()
	if _, err := s.Upsert(ctx, store.Features, "f", item("f", 1).Item); err != nil {
		t.Fatal(err)
	}
	at, ok, err := s.LastWrite(ctx)
	if err != nil || !ok || at.Before(before) {
		t.Errorf("LastWrite = %v, %v, %v; want a time after %v", at, ok, err, before)
	}
}

func TestAnnounce(t *testing.T) {
	s := memstore.New()
	l := subscribe(t, s.Connect())
	s.Announce(store.ChangeAll)
	testwait.Eventually(t, "the announced change", func() bool { return len(l.get()) == 1 })
	if got := l.get(); !got[0].IsAll() {
		t.Errorf("got %v, want ChangeAll", got)
	}
	if ok, _ := s.Initialized(t.Context()); ok {
		t.Error("Announce changed the data")
	}
}

// TestInSynctestBubble shows the store works on a fake clock: a
// notification is delivered by the time every goroutine of the bubble is
// blocked, so synctest.Wait is enough to see it.
func TestInSynctestBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := memstore.New()
		l := subscribe(t, s)
		if _, err := s.Upsert(t.Context(), store.Features, "f", item("f", 1).Item); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := l.get(); len(got) != 1 || got[0].Key != "f" {
			t.Errorf("after synctest.Wait the subscriber has %v, want the change of f", got)
		}
		start := time.Now()
		s.Close()
		if time.Since(start) != 0 {
			t.Error("Close took fake time")
		}
	})
}
