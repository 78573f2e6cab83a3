package redis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// heldNotify is a Store whose Notify waits for gate before it subscribes:
// the start-up window of a cache (read, not yet listening) held open.
type heldNotify struct {
	*Store
	gate    chan struct{}
	mu      sync.Mutex
	entered bool
}

func (h *heldNotify) Notify(ctx context.Context, fn func([]store.Change)) error {
	h.mu.Lock()
	h.entered = true
	h.mu.Unlock()
	select {
	case <-h.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.Notify(ctx, fn)
}

func (h *heldNotify) subscribing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entered
}

func flagVersion(t *testing.T, version int) store.Item {
	t.Helper()
	it, err := store.ItemFromJSON(fmt.Appendf(nil, `{"key":"f","version":%d,"on":true,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`, version))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// A cache on Redis (TTL an hour) reads f, then a writer changes f before
// the cache's subscription listens: the change message reaches nobody, and
// the cache shows the change once it listens (it reads again what it read
// before), not at the TTL.
func TestChangeBeforeListeningSeenOnceListening(t *testing.T) {
	ctx := ctxT(t)
	p := testPrefix("startup")
	w := openSingle(t, p)
	if err := w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: flagVersion(t, 1)}}}}); err != nil {
		t.Fatal(err)
	}
	h := &heldNotify{Store: openSingle(t, p), gate: make(chan struct{})}
	open := sync.OnceFunc(func() { close(h.gate) })
	defer open()
	c := cache.New(h, cache.Options{TTL: time.Hour})
	defer c.Close()
	if f, err := c.GetFlag(ctx, "f"); err != nil || f == nil || f.Version != 1 {
		t.Fatalf("GetFlag = %v, %v; want version 1", f, err)
	}
	testwait.Eventually(t, "the cache to begin subscribing", h.subscribing)
	if ok, err := w.Upsert(ctx, store.Features, "f", flagVersion(t, 2)); err != nil || !ok {
		t.Fatalf("Upsert = %v, %v", ok, err)
	}
	if f, _ := c.GetFlag(ctx, "f"); f.Version != 1 {
		t.Fatalf("GetFlag = version %d before the cache listens: the test does not hold the window", f.Version)
	}
	open()
	testwait.Eventually(t, "the change written before listening began", func() bool {
		f, err := c.GetFlag(ctx, "f")
		return err == nil && f != nil && f.Version == 2
	})
	// Listening now: the next change arrives by its message.
	if ok, err := w.Upsert(ctx, store.Features, "f", flagVersion(t, 3)); err != nil || !ok {
		t.Fatalf("Upsert = %v, %v", ok, err)
	}
	testwait.Eventually(t, "a change written while listening", func() bool {
		f, err := c.GetFlag(ctx, "f")
		return err == nil && f != nil && f.Version == 3
	})
}
