package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

const markFlagJSON = `{"key":"f","version":%d,"on":%t,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`

func markFlag(t testing.TB, version int, on bool) store.Item {
	t.Helper()
	return mustItem(t, fmt.Sprintf(markFlagJSON, version, on))
}

// Every write of this package sets a new write mark, on a single server and
// on a Cluster (tagged and unhashed prefixes), also two writes within one
// millisecond; a direct edit of the hash leaves it as it was; a dataset
// nobody of ours wrote has none.
func TestWriteMarkMovesWithEveryWrite(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Store
	}{
		{"single", func(t *testing.T) *Store { return openSingle(t, testPrefix("mark")) }},
		{"cluster tagged", func(t *testing.T) *Store { return openCluster(t, taggedPrefix("mark"), false) }},
		{"cluster unhashed", func(t *testing.T) *Store { return openCluster(t, testPrefix("mark"), true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.open(t)
			ctx := ctxT(t)
			mark := func() string {
				t.Helper()
				m, err := s.WriteMark(ctx)
				if err != nil {
					t.Fatalf("WriteMark: %v", err)
				}
				return m
			}
			if m := mark(); m != "" {
				t.Fatalf("WriteMark of an empty dataset = %q, want \"\"", m)
			}
			if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: markFlag(t, 1, true)}}}}); err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			prev := mark()
			if prev == "" {
				t.Fatal("WriteMark after Init = \"\", want a mark")
			}
			seen[prev] = true
			start := time.Now()
			for v := 2; v < 6; v++ { // several writes, most within one millisecond
				if _, err := s.Upsert(ctx, store.Features, "f", markFlag(t, v, v%2 == 0)); err != nil {
					t.Fatal(err)
				}
				m := mark()
				if seen[m] {
					t.Fatalf("WriteMark after upsert %d = %q, a mark seen before", v, m)
				}
				seen[m] = true
			}
			t.Logf("4 upserts and mark reads in %v", time.Since(start))
			// A direct edit, behind the writer's back: no mark.
			before := mark()
			if err := s.client.HSet(ctx, s.keys.features, "f", fmt.Sprintf(markFlagJSON, 9, false)).Err(); err != nil {
				t.Fatal(err)
			}
			if m := mark(); m != before {
				t.Errorf("WriteMark after a direct HSET = %q, want %q unchanged", m, before)
			}
			// An upsert that changes nothing (an older version) marks nothing either.
			if _, err := s.Upsert(ctx, store.Features, "f", markFlag(t, 3, true)); err != nil {
				t.Fatal(err)
			}
			if m := mark(); m != before {
				t.Errorf("WriteMark after an upsert that wrote nothing = %q, want %q unchanged", m, before)
			}
		})
	}
}

// With keyspace notifications (which announce any write, marked or not)
// WriteMark is unsupported, so a cache waits for its subscription.
func TestWriteMarkUnsupportedWithKeyspaceNotifications(t *testing.T) {
	s := mustOpen(t, Options{URL: singleURL(t), Prefix: testPrefix("markks"), Notify: NotifyKeyspace})
	if _, err := s.WriteMark(ctxT(t)); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("WriteMark with notify=keyspace: %v; want errors.ErrUnsupported", err)
	}
}

// heldStore is a Store whose Notify waits until hold is closed: the window
// between a cache's first reads and the start of listening, held open. It
// counts the write-mark reads.
type heldStore struct {
	*Store
	hold  chan struct{}
	marks atomic.Int64
	read  chan struct{} // gets a value after each WriteMark
}

func (h *heldStore) Notify(ctx context.Context, fn func([]store.Change)) error {
	select {
	case <-h.hold:
	case <-ctx.Done():
		return ctx.Err()
	}
	return h.Store.Notify(ctx, fn)
}

func (h *heldStore) WriteMark(ctx context.Context) (string, error) {
	m, err := h.Store.WriteMark(ctx)
	h.marks.Add(1)
	h.read <- struct{}{}
	return m, err
}

// A cache on Redis starts reading before its subscription listens. A write
// of a writer of ours in that window (its message lost: nobody listened)
// moves the mark, so once listening began the cache reads again and shows
// the change at once, long before its TTL; a direct edit of the hash in the
// window moves nothing, and the cached value stays until its TTL.
func TestCacheStartupWindowOnRedis(t *testing.T) {
	for _, tc := range []struct {
		name   string
		writer bool // the change is a writer's upsert, not a direct edit
	}{
		{"writer upsert is caught up", true},
		{"direct edit keeps the TTL", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix("window")
			w := openSingle(t, prefix)
			ctx := ctxT(t)
			if err := w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: markFlag(t, 1, true)}}}}); err != nil {
				t.Fatal(err)
			}
			r := &heldStore{Store: mustOpen(t, Options{URL: singleURL(t), Prefix: prefix}), hold: make(chan struct{}), read: make(chan struct{}, 4)}
			release := sync.OnceFunc(func() { close(r.hold) })
			defer release()
			x := cache.New(r, cache.Options{TTL: time.Hour, Logger: slog.New(slog.DiscardHandler)})
			defer x.Close()
			if f, err := x.GetFlag(ctx, "f"); err != nil || f == nil || !f.On {
				t.Fatalf("GetFlag = %v, %v; want flag f, on, before the store listens", f, err)
			}
			if g, err := x.GetFlag(ctx, "g"); err != nil || g != nil {
				t.Fatalf("GetFlag(g) = %v, %v; want not found", g, err)
			}
			<-r.read // the first check's
			if tc.writer {
				if _, err := w.Upsert(ctx, store.Features, "f", markFlag(t, 2, false)); err != nil {
					t.Fatal(err)
				}
			} else if err := w.client.HSet(ctx, w.keys.features, "f", fmt.Sprintf(markFlagJSON, 2, false)).Err(); err != nil {
				t.Fatal(err)
			}
			release()
			select {
			case <-r.read: // once listening began
			case <-ctx.Done():
				t.Fatal("the mark was not read again once the store listened")
			}
			if tc.writer {
				waitFor(t, ctx, "the write made before listening to show (the TTL is an hour)", func() bool {
					f, _ := x.GetFlag(ctx, "f")
					return f != nil && f.Version == 2 && !f.On
				})
				return
			}
			// A barrier: a writer's upsert of the cached miss g, made now,
			// is announced, and shows once the notification worker has
			// handled it; a catch-up would have been queued before (as soon
			// as the mark was read), so f would have been read again by then.
			if _, err := w.Upsert(ctx, store.Features, "g", mustItem(t, `{"key":"g","version":1,"on":true,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, "the upsert made after listening began to show", func() bool {
				g, _ := x.GetFlag(ctx, "g")
				return g != nil
			})
			if f, _ := x.GetFlag(ctx, "f"); f == nil || !f.On || f.Version != 1 {
				t.Fatalf("f after listening began = %+v; want the cached version 1 until the TTL", f)
			}
		})
	}
}

// waitFor polls cond until it holds or ctx ends (a real server: the event
// comes over the network).
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}
