package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// orderStore records the order in which a cache calls its store: the first
// "$inited" check, the last-write read, the subscription (once Notify has
// returned) and item reads.
type orderStore struct {
	*memstore.Store
	gate chan struct{} // when set, Initialized waits for it to close
	mu   sync.Mutex
	log  []string
}

func (o *orderStore) note(s string) {
	o.mu.Lock()
	o.log = append(o.log, s)
	o.mu.Unlock()
}

func (o *orderStore) calls() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.log)
}

func (o *orderStore) Initialized(ctx context.Context) (bool, error) {
	o.note("initialized")
	if o.gate != nil {
		<-o.gate
	}
	defer o.note("initialized done")
	return o.Store.Initialized(ctx)
}

func (o *orderStore) LastWrite(ctx context.Context) (time.Time, bool, error) {
	o.note("lastwrite")
	return o.Store.LastWrite(ctx)
}

func (o *orderStore) Notify(ctx context.Context, fn func([]store.Change)) error {
	o.note("notify")
	err := o.Store.Notify(ctx, fn)
	o.note("subscribed")
	return err
}

func (o *orderStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	o.note("get " + key)
	return o.Store.Get(ctx, kind, key)
}

// unmarkedStore is an orderStore whose notifications are not all marked
// (as Redis keyspace notifications): its WriteMark is unsupported.
type unmarkedStore struct{ *orderStore }

func (unmarkedStore) WriteMark(context.Context) (string, error) {
	return "", fmt.Errorf("test: %w", errors.ErrUnsupported)
}

// plainStore is an orderStore without a write mark (no store.WriteMarker).
type plainStore struct {
	store.Reader
	store.Notifier
	store.WriteTimeReader
}

// A new cache's first lookup, made at once, reads the item only after the
// first "$inited" check, the writer's last-write time and, since the store
// marks no writes (store.WriteMarker), the first subscription attempt
// (whichever goroutine makes the check: the monitor, or the lookup itself
// when the monitor has not begun it), and returns the item.
func TestFirstLookupAfterFirstCheckAndSubscription(t *testing.T) {
	ms := newFlagStore(t)
	for range 50 { // different interleavings of the monitor and the lookup
		o := &orderStore{Store: ms.Connect()}
		c := New(unmarkedStore{o}, Options{})
		f, err := c.GetFlag(context.Background(), "f")
		c.Close()
		if err != nil || f == nil || f.Key != "f" {
			t.Fatalf("GetFlag = %v, %v; want flag f", f, err)
		}
		log := o.calls()
		get := slices.Index(log, "get f")
		for _, before := range []string{"initialized", "lastwrite", "subscribed"} {
			if i := slices.Index(log, before); i < 0 || i > get {
				t.Fatalf("store calls %q: want %q before the first item read", log, before)
			}
		}
		if n := countOf(log, "initialized"); n != 1 {
			t.Fatalf("store calls %q: %d $inited checks, want 1 (the first check is made once)", log, n)
		}
	}
}

// A lookup that arrives while the monitor's first check is in progress
// waits for it (and reads after it on the same connection) rather than
// reading alongside; on a store that marks no writes, the subscription it
// also waits for starts beside the check.
func TestLookupWaitsForMonitorsFirstCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newFlagStore(t)
		o := &orderStore{Store: ms.Connect(), gate: make(chan struct{})}
		c := New(plainStore{o, o, o}, Options{}) // no store.WriteMarker: reads wait for the subscription
		defer c.Close()
		open := sync.OnceFunc(func() { close(o.gate) })
		defer open()    // before Close, also when the test fails
		synctest.Wait() // the monitor is inside its first check, held by the gate
		if log := o.calls(); !slices.Contains(log, "initialized") {
			t.Fatalf("store calls %q: the monitor has not begun the first check", log)
		}
		done := lookupAsync(c, "f")
		synctest.Wait() // the lookup is blocked
		if log := o.calls(); slices.Contains(log, "get f") {
			t.Fatalf("store calls %q: the lookup read the item during the first check", log)
		} else if !slices.Contains(log, "subscribed") {
			t.Fatalf("store calls %q: the waiting lookup did not start the subscription beside the check", log)
		}
		open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		log := o.calls()
		if slices.Index(log, "get f") < slices.Index(log, "lastwrite") || countOf(log, "initialized") != 1 {
			t.Fatalf("store calls %q: want one check, the last-write read, then the item", log)
		}
	})
}

// Without an item read waiting, the subscription starts only once the first
// check is done, so the check (what WaitForInitialization waits for) does
// not share the processors with a second connection being opened.
func TestSubscriptionStartsAfterFirstCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := memstore.New()
		if err := ms.Init(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		o := &orderStore{Store: ms.Connect(), gate: make(chan struct{})}
		c := New(o, Options{})
		defer c.Close()
		open := sync.OnceFunc(func() { close(o.gate) })
		defer open()
		synctest.Wait() // the monitor is inside its first check
		if log := o.calls(); slices.Contains(log, "notify") {
			t.Fatalf("store calls %q: the subscription began during the first check", log)
		}
		open()
		if !c.Initialized(context.Background()) {
			t.Fatal("Initialized = false after the first check, want true")
		}
		synctest.Wait()
		log := o.calls()
		if i := slices.Index(log, "notify"); i < 0 || i < slices.Index(log, "initialized done") {
			t.Fatalf("store calls %q: want the subscription after the first check", log)
		}
	})
}

func countOf(log []string, s string) int {
	n := 0
	for _, l := range log {
		if l == s {
			n++
		}
	}
	return n
}
