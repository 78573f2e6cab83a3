package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// runNotifyHelper runs the roles of the notification tests.
func runNotifyHelper(role string) error {
	path := os.Getenv(envPath)
	n := envInt(envFlags, 100)
	ctx := context.Background()
	switch role {
	case "quick-writer":
		// Upserts keys q0..q(n-1) as fast as it can, one write each.
		s, err := bolt.Open(path, &bolt.Options{NoSync: true})
		if err != nil {
			return err
		}
		defer s.Close()
		for i := range n {
			it := quickItem(i)
			if _, err := s.Upsert(ctx, store.Features, it.Key, it.Item); err != nil {
				return err
			}
		}
		fmt.Println("writes-done")
		return nil
	}
	return fmt.Errorf("unknown role %q", role)
}

func quickItem(i int) store.KeyedItem {
	key := "q" + strconv.Itoa(i)
	return store.KeyedItem{Key: key, Item: store.Item{Version: 1, Data: fmt.Appendf(nil, `{"key":%q,"version":1}`, key)}}
}

// changeLog collects notifications; seen tracks which keys a reader would
// have re-read: the named ones, and on ChangeAll every key the store holds.
type changeLog struct {
	t   *testing.T
	r   *bolt.Store
	mu  sync.Mutex
	all int
	got map[store.Change]int
	ch  chan struct{}
}

func watchChanges(t *testing.T, r *bolt.Store) *changeLog {
	t.Helper()
	l := &changeLog{t: t, r: r, got: map[store.Change]int{}, ch: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	err := r.Notify(ctx, func(cs []store.Change) {
		l.mu.Lock()
		for _, c := range cs {
			if c.IsAll() {
				l.all++
			}
			l.got[c]++
		}
		l.mu.Unlock()
		select {
		case l.ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	return l
}

// waitKeys waits until every key has been notified, by name or by a
// ChangeAll after which a re-read finds it.
func (l *changeLog) waitKeys(keys []string, d time.Duration) {
	l.t.Helper()
	deadline := time.After(d)
	seen := map[string]bool{}
	alls := 0
	for {
		l.mu.Lock()
		for _, k := range keys {
			if l.got[store.Change{Kind: store.Features, Key: k}] > 0 {
				seen[k] = true
			}
		}
		newAll := l.all > alls
		alls = l.all
		l.mu.Unlock()
		if newAll {
			// The reader re-reads everything.
			items, err := l.r.GetAll(context.Background(), store.Features)
			if err != nil {
				l.t.Fatal(err)
			}
			for _, ki := range items {
				seen[ki.Key] = true
			}
		}
		missing := 0
		for _, k := range keys {
			if !seen[k] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		select {
		case <-l.ch:
		case <-deadline:
			l.t.Fatalf("after %v, %d of %d changed keys were never notified (notifications: %d, ChangeAll %d)", d, missing, len(keys), len(l.got), alls)
		}
	}
}

func TestNotifyOtherStoreWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 20)
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	l := watchChanges(t, r)
	w := mustOpen(t, path, nil)
	ctx := context.Background()
	c := counterItem(1001)
	if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
		t.Fatal(err)
	}
	l.waitKeys([]string{"counter"}, 5*time.Second)
	l.mu.Lock()
	named, alls := l.got[store.Change{Kind: store.Features, Key: "counter"}], l.all
	l.mu.Unlock()
	if named == 0 || alls != 0 {
		t.Errorf("an Upsert was notified as %d named changes and %d ChangeAll; want the key, from the change log", named, alls)
	}
	// An Init replaces everything: ChangeAll.
	if err := w.Init(ctx, genData(2, 20)); err != nil {
		t.Fatal(err)
	}
	for {
		l.mu.Lock()
		alls = l.all
		l.mu.Unlock()
		if alls > 0 {
			break
		}
		waitFor(t, l.ch, 5*time.Second, "ChangeAll after an Init")
	}
}

func TestNotifyOwnWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	s := mustOpen(t, path, nil) // writes and reads, as a relay with a client
	ctx := context.Background()
	if err := s.Init(ctx, genData(1, 5)); err != nil {
		t.Fatal(err)
	}
	l := watchChanges(t, s)
	var keys []string
	for i := range 20 {
		it := quickItem(i)
		keys = append(keys, it.Key)
		if _, err := s.Upsert(ctx, store.Features, it.Key, it.Item); err != nil {
			t.Fatal(err)
		}
	}
	l.waitKeys(keys, 5*time.Second)
}

// TestNotifyProcessManyQuickWrites has another process make many quick
// writes: no change may be lost (a reader that is told, by name or by
// ChangeAll, re-reads).
func TestNotifyProcessManyQuickWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 10)
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	l := watchChanges(t, r)
	const n = 300
	cmd, out, stderr := helper(t, "quick-writer", path, envFlags+"="+strconv.Itoa(n))
	waitLine(t, out, "writes-done")
	finish(t, "quick writer", cmd, out, stderr)
	var keys []string
	for i := range n {
		keys = append(keys, quickItem(i).Key)
	}
	l.waitKeys(keys, 10*time.Second)
	l.mu.Lock()
	t.Logf("%d writes by another process: %d distinct changes notified, %d ChangeAll", n, len(l.got), l.all)
	l.mu.Unlock()
}

func TestNotifyMissingDirectory(t *testing.T) {
	r := mustOpen(t, filepath.Join(t.TempDir(), "nodir", "flags.db"), &bolt.Options{ReadOnly: true})
	err := r.Notify(context.Background(), func([]store.Change) {})
	if !errors.Is(err, bolt.ErrNotExist) {
		t.Errorf("Notify with no directory: %v, want an error wrapping ErrNotExist", err)
	}
}

func TestNotifyStopsWithContextAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 5)
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := r.Notify(ctx, func([]store.Change) {}); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := r.Notify(context.Background(), func([]store.Change) {}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	if err := waitFor(t, closed, time.Second, "Close with a subscriber"); err != nil {
		t.Fatal(err)
	}
	if err := r.Notify(context.Background(), func([]store.Change) {}); !errors.Is(err, bolt.ErrClosed) {
		t.Errorf("Notify after Close: %v, want ErrClosed", err)
	}
}

func TestUpsertBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, nil)
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	if err := w.Init(ctx, genData(1, 100)); err != nil {
		t.Fatal(err)
	}
	// A reader reads throughout: every read sees the whole batch or none.
	stop := make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				readErr <- nil
				return
			default:
			}
			items, err := r.GetAll(ctx, store.Features)
			if err != nil {
				readErr <- err
				return
			}
			if _, _, err := checkDataset(items, 100); err != nil {
				readErr <- err
				return
			}
		}
	}()
	for gen := 2; gen <= 6; gen++ {
		var updates []store.ItemUpdate
		for _, ki := range genData(gen, 100)[1].Items {
			if ki.Key == "counter" {
				continue
			}
			updates = append(updates, store.ItemUpdate{Kind: store.Features, Key: ki.Key, Item: ki.Item})
		}
		// One stale update, which must not apply, and the counter of the
		// generation.
		stale := counterItem(1)
		updates = append(updates, store.ItemUpdate{Kind: store.Features, Key: "counter", Item: stale.Item})
		c := counterItem(gen * 1000)
		updates = append(updates, store.ItemUpdate{Kind: store.Features, Key: "counter", Item: c.Item})
		in0, cp0 := w.WriteCounts()
		applied, err := w.UpsertBatch(ctx, updates)
		if err != nil {
			t.Fatal(err)
		}
		if in, cp := w.WriteCounts(); in+cp != in0+cp0+1 {
			t.Errorf("a batch took %d file writes, want 1", in+cp-in0-cp0)
		}
		for i, ok := range applied {
			if want := i != len(updates)-2; ok != want {
				t.Errorf("gen %d: applied[%d] = %v, want %v", gen, i, ok, want)
			}
		}
	}
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatalf("a reader saw part of a batch: %v", err)
	}
	items, err := r.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatal(err)
	}
	if gen, _, err := checkDataset(items, 100); err != nil || gen != 6 {
		t.Fatalf("after the batches: generation %d, %v", gen, err)
	}
	// A bad key fails the whole batch before anything is written.
	if _, err := w.UpsertBatch(ctx, []store.ItemUpdate{{Kind: store.Features, Key: "ok", Item: store.Item{Version: 1}}, {Kind: store.Features, Key: ""}}); err == nil {
		t.Error("a batch with an empty key: nil error")
	}
	if _, found, _ := r.Get(ctx, store.Features, "ok"); found {
		t.Error("a failed batch wrote part of itself")
	}
}

func TestLastWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, nil)
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	if _, ok, err := w.LastWrite(ctx); ok || err != nil {
		t.Fatalf("LastWrite before any write = %v, %v", ok, err)
	}
	check := func(what string, write func() error) {
		t.Helper()
		before := time.Now().Truncate(time.Millisecond)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		got, ok, err := r.LastWrite(ctx)
		if err != nil || !ok || got.Before(before) || got.After(after) {
			t.Errorf("LastWrite after %s = %v, %v, %v; want a time in [%v, %v]", what, got, ok, err, before, after)
		}
	}
	check("Init", func() error { return w.Init(ctx, genData(1, 5)) })
	check("Upsert", func() error {
		c := counterItem(1001)
		_, err := w.Upsert(ctx, store.Features, c.Key, c.Item)
		return err
	})
	check("UpsertBatch", func() error {
		c := counterItem(1002)
		_, err := w.UpsertBatch(ctx, []store.ItemUpdate{{Kind: store.Features, Key: c.Key, Item: c.Item}})
		return err
	})
	// Another prefix has its own record.
	other := mustOpen(t, path, &bolt.Options{Prefix: "other", ReadOnly: true})
	if _, ok, err := other.LastWrite(ctx); ok || err != nil {
		t.Errorf("LastWrite of a prefix never written = %v, %v", ok, err)
	}
}

// TestClientSeesWritesAtOnce runs a client over a read-only store with a TTL
// of an hour: a write by another process reaches its evaluations through
// the store's notifications, not the TTL.
func TestClientSeesWritesAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "flags.db")
	initWith(t, path, stringFlags(1, 10, "before"))
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	c, err := client.New(client.Config{Store: r, Cache: cache.Options{TTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ec := evalctx.New("user")
	if v, _ := c.StringVariation("q3", ec, "none"); v != "none" {
		t.Fatalf("q3 before it exists: %q", v)
	}
	// The "not found" of q3 is cached for the TTL, an hour: only a
	// notification makes the client read q3 again. The flags q0..q4 are
	// written by another process, one write each.
	cmd, out, stderr := helper(t, "quick-writer", path, envFlags+"=5")
	waitLine(t, out, "writes-done")
	finish(t, "quick writer", cmd, out, stderr)
	// quickItem flags have no variations: the client serves the default,
	// but the flag is found.
	testwait.Eventually(t, "the client to find q3", func() bool {
		_, d, err := c.StringVariationDetail("q3", ec, "none")
		return err == nil && d.Reason.Kind != "ERROR"
	})
}
