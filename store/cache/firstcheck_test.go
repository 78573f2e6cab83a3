package cache

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// orderStore records the order in which a cache calls its store: the first
// "$inited" check, the last-write read, the subscription (once Notify has
// returned) and item reads (and their ends).
type orderStore struct {
	*memstore.Store
	gate       chan struct{} // when set, Initialized waits for it to close
	notifyGate chan struct{} // when set, Notify waits for it to close before it subscribes
	mu         sync.Mutex
	log        []string
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
	if o.notifyGate != nil {
		select {
		case <-o.notifyGate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := o.Store.Notify(ctx, fn)
	o.note("subscribed")
	return err
}

func (o *orderStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	o.note("get " + key)
	defer o.note("got " + key)
	return o.Store.Get(ctx, kind, key)
}

func (o *orderStore) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	o.note("get all " + string(kind))
	defer o.note("got all " + string(kind))
	return o.Store.GetAll(ctx, kind)
}

// flagItem is a boolean flag that serves v to everyone.
func flagItem(t *testing.T, key string, version int, v bool) store.Item {
	t.Helper()
	it, err := store.ItemFromJSON(fmt.Appendf(nil,
		`{"key":%q,"version":%d,"on":true,"variations":[true,false],"fallthrough":{"variation":%d},"offVariation":1}`,
		key, version, map[bool]int{true: 0, false: 1}[v]))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// newFlagStore is a memstore holding flag f (version 1, serving true).
func newFlagStore(t *testing.T) *memstore.Store {
	t.Helper()
	ms := memstore.New()
	if err := ms.Init(context.Background(), []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: flagItem(t, "f", 1, true)}}}}); err != nil {
		t.Fatal(err)
	}
	return ms
}

// before fails unless a comes before b in log (both present).
func before(t *testing.T, log []string, a, b string) {
	t.Helper()
	i, j := slices.Index(log, a), slices.Index(log, b)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("store calls %q: want %q before %q", log, a, b)
	}
}

// A new cache's first lookup, made at once, reads the item after the first
// "$inited" check (whichever goroutine makes it: the monitor, or the lookup
// itself when the monitor has not begun it), made once, and returns it; it
// does not wait for the subscription, and the rest of start-up (the
// last-write read and the subscription) follows.
func TestFirstLookupAfterFirstCheck(t *testing.T) {
	ms := newFlagStore(t)
	for range 50 { // different interleavings of the monitor and the lookup
		o := &orderStore{Store: ms.Connect()}
		c := New(o, Options{})
		f, err := c.GetFlag(context.Background(), "f")
		c.Close()
		if err != nil || f == nil || f.Key != "f" {
			t.Fatalf("GetFlag = %v, %v; want flag f", f, err)
		}
		log := o.calls()
		before(t, log, "initialized done", "get f")
		if n := countOf(log, "initialized"); n != 1 {
			t.Fatalf("store calls %q: %d $inited checks, want 1 (the first check is made once)", log, n)
		}
		for _, call := range []string{"lastwrite", "notify"} {
			if !slices.Contains(log, call) {
				t.Fatalf("store calls %q: no %q: the rest of start-up did not follow", log, call)
			}
		}
	}
}

// A lookup that arrives while the monitor's first check is in progress
// waits for it (and reads after it on the same connection) rather than
// reading alongside; the last-write read and the subscription (a second
// connection) begin only once that read is done, so they do not compete
// with it.
func TestLookupWaitsForMonitorsFirstCheck(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &orderStore{Store: newFlagStore(t).Connect(), gate: make(chan struct{})}
		c := New(o, Options{})
		defer c.Close()
		open := sync.OnceFunc(func() { close(o.gate) })
		defer open()    // before Close, also when the test fails
		synctest.Wait() // the monitor is inside its first check, held by the gate
		if log := o.calls(); !slices.Contains(log, "initialized") {
			t.Fatalf("store calls %q: the monitor has not begun the first check", log)
		}
		done := make(chan error, 1)
		go func() {
			_, err := c.GetFlag(context.Background(), "f")
			done <- err
		}()
		synctest.Wait() // the lookup is blocked
		if log := o.calls(); slices.Contains(log, "get f") || slices.Contains(log, "notify") || slices.Contains(log, "lastwrite") {
			t.Fatalf("store calls %q: want nothing but the first check while it is in progress", log)
		}
		open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		log := o.calls()
		before(t, log, "initialized done", "get f")
		before(t, log, "got f", "notify")
		before(t, log, "got f", "lastwrite")
		if n := countOf(log, "initialized"); n != 1 {
			t.Fatalf("store calls %q: %d $inited checks, want 1", log, n)
		}
		if !slices.Contains(log, "subscribed") {
			t.Fatalf("store calls %q: the cache did not subscribe", log)
		}
	})
}

// Without an item read waiting, the rest of start-up begins once the first
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
		if log := o.calls(); slices.Contains(log, "notify") || slices.Contains(log, "lastwrite") {
			t.Fatalf("store calls %q: the rest of start-up began during the first check", log)
		}
		open()
		if !c.Initialized(context.Background()) {
			t.Fatal("Initialized = false after the first check, want true")
		}
		synctest.Wait()
		log := o.calls()
		before(t, log, "initialized done", "notify")
		before(t, log, "initialized done", "lastwrite")
		if !slices.Contains(log, "subscribed") {
			t.Fatalf("store calls %q: the cache did not subscribe", log)
		}
		if st := c.Status(); st.LastWrite.IsZero() {
			t.Error("Status().LastWrite is zero after start-up, want the writer's last write")
		}
	})
}

// The start-up window: a change written after the cache's first read and
// before its subscription listens is announced to nobody. Once the store
// listens, what was read before is read again, so the change shows one
// round trip after listening began, not at the TTL (an hour here).
func TestChangeDuringStartupSeenOnceListening(t *testing.T) {
	for _, all := range []bool{false, true} {
		name := map[bool]string{false: "one flag", true: "all flags"}[all]
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ms := newFlagStore(t)
				o := &orderStore{Store: ms.Connect(), notifyGate: make(chan struct{})}
				c := New(o, Options{TTL: time.Hour})
				defer c.Close()
				open := sync.OnceFunc(func() { close(o.notifyGate) })
				defer open()
				value := func() bool {
					t.Helper()
					var f *model.Flag
					if all {
						flags, err := c.AllFlags(context.Background())
						if err != nil || len(flags) != 1 {
							t.Fatalf("AllFlags = %v, %v; want flag f", flags, err)
						}
						f = flags[0]
					} else {
						var err error
						if f, err = c.GetFlag(context.Background(), "f"); err != nil || f == nil {
							t.Fatalf("GetFlag = %v, %v; want flag f", f, err)
						}
					}
					return f.Version == 2
				}
				if value() {
					t.Fatal("the first read returned version 2 before it was written")
				}
				synctest.Wait() // the subscription is held by the gate
				if log := o.calls(); !slices.Contains(log, "notify") || slices.Contains(log, "subscribed") {
					t.Fatalf("store calls %q: want the subscription begun and not yet listening", log)
				}
				// A writer's change in the window: nobody listens yet.
				if ok, err := ms.Upsert(context.Background(), store.Features, "f", flagItem(t, "f", 2, false)); err != nil || !ok {
					t.Fatalf("Upsert = %v, %v", ok, err)
				}
				synctest.Wait()
				if value() {
					t.Fatal("the change showed before the cache listened: the test does not hold the subscription")
				}
				reads := countOf(o.calls(), "get f")
				open()
				synctest.Wait() // listening, and what was read before read again
				if !value() {
					t.Fatalf("store calls %q: the change written before listening began is not served once the cache listens", o.calls())
				}
				if !all && countOf(o.calls(), "get f") != reads+1 {
					t.Errorf("store calls %q: want one read of f again once listening", o.calls())
				}
				if all {
					log := o.calls()
					before(t, log, "got all features", "notify")
					if n := countOf(log, "get all features"); n != 2 {
						t.Errorf("store calls %q: %d reads of all flags, want 2 (the first, and once listening)", log, n)
					}
				}
				// Listening now: a later change is announced and shows at once.
				if ok, err := ms.Upsert(context.Background(), store.Features, "f", flagItem(t, "f", 3, true)); err != nil || !ok {
					t.Fatalf("Upsert = %v, %v", ok, err)
				}
				synctest.Wait()
				if v, err := c.GetFlag(context.Background(), "f"); err != nil || v.Version != 3 {
					t.Errorf("GetFlag after a change while listening = %v, %v; want version 3", v, err)
				}
			})
		})
	}
}

// A cache whose reads all came after the store listened reads nothing again.
func TestNoRecheckAfterListening(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &orderStore{Store: newFlagStore(t).Connect()}
		c := New(o, Options{TTL: time.Hour})
		defer c.Close()
		if !c.Initialized(context.Background()) {
			t.Fatal("Initialized = false")
		}
		synctest.Wait() // subscribed
		if log := o.calls(); !slices.Contains(log, "subscribed") {
			t.Fatalf("store calls %q: not subscribed", log)
		}
		if _, err := c.GetFlag(context.Background(), "f"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := countOf(o.calls(), "get f"); n != 1 {
			t.Errorf("store calls %q: %d reads of f, want 1", o.calls(), n)
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
