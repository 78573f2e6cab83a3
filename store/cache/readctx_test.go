package cache

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// hangingStore is a store whose item reads block until their context ends,
// recording each read's context and when it began.
type hangingStore struct {
	*memstore.Store
	mu    sync.Mutex
	reads []hungRead
}

type hungRead struct {
	key   string
	ctx   context.Context
	began time.Time
}

func (h *hangingStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	h.mu.Lock()
	h.reads = append(h.reads, hungRead{key, ctx, time.Now()})
	h.mu.Unlock()
	<-ctx.Done()
	return store.Item{}, false, ctx.Err()
}

func (h *hangingStore) got() []hungRead {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hungRead(nil), h.reads...)
}

// first returns the first read of each of keys (the cache may read a key
// again, after its first subscription for example), failing when one is
// missing.
func (h *hangingStore) first(t *testing.T, keys ...string) []hungRead {
	t.Helper()
	var out []hungRead
	for _, k := range keys {
		i := slices.IndexFunc(h.got(), func(r hungRead) bool { return r.key == k })
		if i < 0 {
			t.Fatalf("no store read of %q", k)
		}
		out = append(out, h.got()[i])
	}
	return out
}

// lookupAsync looks key up on its own goroutine and returns its error.
func lookupAsync(c *Cache, key string) chan error {
	done := make(chan error, 1)
	go func() {
		_, err := c.GetFlag(context.Background(), key)
		done <- err
	}()
	return done
}

// TestReadsAreBoundedByRefreshTimeout: a miss's store read has between 7/8
// of RefreshTimeout and all of it (on the bubble's fake clock), reads that
// start within an eighth of it share one context, a later one gets a new
// one, and a lookup waiting for a read that times out fails as the store
// being unavailable.
func TestReadsAreBoundedByRefreshTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 8 * time.Second
		h := &hangingStore{Store: newFlagStore(t).Connect()}
		c := New(h, Options{RefreshTimeout: timeout, Logger: slog.New(slog.DiscardHandler)})
		defer c.Close()
		a := lookupAsync(c, "a")
		synctest.Wait()
		c.c.skew.Add(int64(timeout / 16)) // the cache's clock: within the first read's window
		b := lookupAsync(c, "b")
		synctest.Wait()
		c.c.skew.Add(int64(timeout / 8)) // past it
		later := lookupAsync(c, "c")
		synctest.Wait()
		reads := h.first(t, "a", "b", "c")
		for i, r := range reads {
			d, ok := r.ctx.Deadline()
			if left := d.Sub(r.began); !ok || left > timeout || left < timeout*7/8 {
				t.Errorf("read %d may take %v (deadline %v), want between %v and %v", i, left, ok, timeout*7/8, timeout)
			}
		}
		if reads[1].ctx != reads[0].ctx {
			t.Error("reads an sixteenth of RefreshTimeout apart have contexts of their own, want one shared")
		}
		if reads[2].ctx == reads[0].ctx {
			t.Error("a read more than an eighth of RefreshTimeout after the first shares its context")
		}
		for _, done := range []chan error{a, b, later} {
			if err := <-done; !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("lookup whose read timed out: %v, want an error satisfying store.ErrUnavailable", err)
			}
		}
		if took := time.Since(reads[0].began); took != timeout {
			t.Errorf("the reads ended %v after they began, want %v", took, timeout)
		}
	})
}

// TestCloseEndsReadsInFlight: Close ends the context of a store read in
// flight at once, and the lookup waiting for it fails.
func TestCloseEndsReadsInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hangingStore{Store: newFlagStore(t).Connect()}
		c := New(h, Options{Logger: slog.New(slog.DiscardHandler)})
		done := lookupAsync(c, "a")
		synctest.Wait()
		began := time.Now()
		c.Close()
		if err := <-done; err == nil {
			t.Fatal("a lookup whose read Close ended succeeded")
		}
		for _, r := range h.got() {
			if r.ctx.Err() == nil {
				t.Fatalf("after Close, the read of %q goes on", r.key)
			}
		}
		h.first(t, "a")
		if d := time.Since(began); d != 0 {
			t.Errorf("Close took %v of the fake clock, want 0: it must end the read, not wait for its timeout", d)
		}
	})
}

// newFlagStore is a memstore holding flag f (version 1, serving true).
func newFlagStore(t *testing.T) *memstore.Store {
	t.Helper()
	ms := memstore.New()
	it, err := store.ItemFromJSON([]byte(`{"key":"f","version":1,"on":true,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := ms.Init(context.Background(), []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: it}}}}); err != nil {
		t.Fatal(err)
	}
	return ms
}
