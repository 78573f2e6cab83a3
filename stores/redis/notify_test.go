package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/store"
)

// changeLog collects what a Notify callback receives.
type changeLog struct {
	mu      sync.Mutex
	changes []store.Change
	signal  chan struct{}
}

func newChangeLog() *changeLog { return &changeLog{signal: make(chan struct{}, 1)} }

func (l *changeLog) fn(cs []store.Change) {
	l.mu.Lock()
	l.changes = append(l.changes, cs...)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// wait waits until a change that matches has arrived (since the last wait)
// and returns the changes seen up to it.
func (l *changeLog) wait(t *testing.T, what string, match func(store.Change) bool) []store.Change {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		for i, c := range l.changes {
			if match(c) {
				seen := slices.Clone(l.changes[:i+1])
				l.changes = l.changes[i+1:]
				l.mu.Unlock()
				return seen
			}
		}
		got := slices.Clone(l.changes)
		l.mu.Unlock()
		select {
		case <-l.signal:
		case <-deadline.C:
			t.Fatalf("%s: not notified within 10s; got %v", what, got)
		}
	}
}

func isItem(kind store.Kind, key string) func(store.Change) bool {
	return func(c store.Change) bool { return c.Kind == kind && c.Key == key }
}

func isAll(c store.Change) bool { return c.IsAll() }

// notifyTargets are the deployments the notification tests run on.
func notifyTargets(t *testing.T) []struct {
	name string
	open func(t *testing.T, prefix string) *Store
	kill func(t *testing.T) // drops every pub/sub connection
} {
	kill := func(c goredis.UniversalClient) func(t *testing.T) {
		return func(t *testing.T) {
			ctx := ctxT(t)
			do := func(ctx context.Context, c *goredis.Client) error {
				return c.Do(ctx, "CLIENT", "KILL", "TYPE", "pubsub").Err()
			}
			var err error
			if cc, ok := c.(*goredis.ClusterClient); ok {
				err = cc.ForEachMaster(ctx, do)
			} else {
				err = do(ctx, c.(*goredis.Client))
			}
			if err != nil {
				t.Fatalf("CLIENT KILL TYPE pubsub: %v", err)
			}
		}
	}
	return []struct {
		name string
		open func(t *testing.T, prefix string) *Store
		kill func(t *testing.T)
	}{
		{"single", func(t *testing.T, p string) *Store { return openSingle(t, testPrefix(p)) }, kill(rawSingle(t))},
		{"cluster", func(t *testing.T, p string) *Store { return openCluster(t, taggedPrefix(p), false) }, kill(rawCluster(t))},
		{"cluster-unhashed", func(t *testing.T, p string) *Store { return openCluster(t, testPrefix(p), true) }, kill(rawCluster(t))},
	}
}

// TestNotifyWritesOfAnotherStore writes through one store object and
// listens with another (its own connections, as another process would):
// every Init, upsert and batch is notified, the write time is recorded, and
// a dropped subscription is made again and followed by ChangeAll.
func TestNotifyWritesOfAnotherStore(t *testing.T) {
	for _, tc := range notifyTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			w := tc.open(t, "notify")
			r := mustOpen(t, Options{Addrs: w.clientAddrs(), Cluster: w.shardedPubSub, Prefix: w.Prefix(),
				AllowUnhashedClusterPrefix: !w.atomicInit})
			log := newChangeLog()
			if err := r.Notify(ctx, log.fn); err != nil {
				t.Fatalf("Notify: %v", err)
			}
			if _, ok, err := r.LastWrite(ctx); err != nil || ok {
				t.Fatalf("LastWrite before any write = %v, %v; want none", ok, err)
			}
			before := time.Now().Add(-time.Second)
			if err := w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: mustItem(t, `{"key":"f","version":1}`)}}}}); err != nil {
				t.Fatal(err)
			}
			log.wait(t, "Init", isAll)
			if at, ok, err := r.LastWrite(ctx); err != nil || !ok || at.Before(before) || at.After(time.Now().Add(time.Second)) {
				t.Errorf("LastWrite after Init = %v, %v, %v; want about now", at, ok, err)
			}
			if _, err := w.Upsert(ctx, store.Features, "f", mustItem(t, `{"key":"f","version":2}`)); err != nil {
				t.Fatal(err)
			}
			log.wait(t, "Upsert", isItem(store.Features, "f"))
			// A delete is a tombstone upsert.
			if _, err := w.Upsert(ctx, store.Segments, "s", store.Tombstone("s", 3)); err != nil {
				t.Fatal(err)
			}
			log.wait(t, "delete", isItem(store.Segments, "s"))
			applied, err := w.UpsertBatch(ctx, []store.ItemUpdate{
				{Kind: store.Segments, Key: "s2", Item: mustItem(t, `{"key":"s2","version":1}`)},
				{Kind: store.Features, Key: "f", Item: mustItem(t, `{"key":"f","version":1}`)}, // older: not applied
				{Kind: store.Features, Key: "g", Item: mustItem(t, `{"key":"g","version":1}`)},
			})
			if err != nil || !slices.Equal(applied, []bool{true, false, true}) {
				t.Fatalf("UpsertBatch = %v, %v; want [true false true]", applied, err)
			}
			seen := log.wait(t, "batch", isItem(store.Features, "g"))
			if !slices.ContainsFunc(seen, isItem(store.Segments, "s2")) && !slices.ContainsFunc(log.wait(t, "batch s2", isItem(store.Segments, "s2")), isItem(store.Segments, "s2")) {
				t.Error("batch: s2 not notified")
			}

			// The subscription drops: it is made again, ChangeAll follows,
			// and later writes are notified again.
			tc.kill(t)
			log.wait(t, "ChangeAll after the subscription dropped", isAll)
			if _, err := w.Upsert(ctx, store.Features, "after-drop", mustItem(t, `{"key":"after-drop","version":1}`)); err != nil {
				t.Fatal(err)
			}
			log.wait(t, "Upsert after resubscribing", isItem(store.Features, "after-drop"))
		})
	}
}

// clientAddrs returns the addresses the store's client connects to.
func (s *Store) clientAddrs() []string {
	switch c := s.client.(type) {
	case *goredis.Client:
		return []string{c.Options().Addr}
	case *goredis.ClusterClient:
		return c.Options().Addrs
	}
	return nil
}

// TestNotifyOwnWrites: a store object used to write tells its own
// subscribers directly, also with notifications from the server off.
func TestNotifyOwnWrites(t *testing.T) {
	ctx := ctxT(t)
	s := mustOpen(t, Options{URL: singleURL(t), Prefix: testPrefix("own")})
	log := newChangeLog()
	if err := s.Notify(ctx, log.fn); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Upsert(ctx, store.Features, "f", mustItem(t, `{"key":"f","version":1}`)); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "own upsert", isItem(store.Features, "f"))
	if err := s.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "own Init", isAll)

	off := mustOpen(t, Options{URL: singleURL(t), Prefix: testPrefix("off"), Notify: NotifyOff})
	if err := off.Notify(ctx, log.fn); !errors.Is(err, ErrNotifyOff) {
		t.Errorf("Notify with NotifyOff: %v; want ErrNotifyOff", err)
	}
}

// TestNotifyServerRestart restarts the server under a subscription: the
// reader subscribes again once the server is back and asks for a full
// re-check.
func TestNotifyServerRestart(t *testing.T) {
	srv := startServer(t, plainArgs)
	ctx := ctxT(t)
	r := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: testPrefix("restart")})
	log := newChangeLog()
	if err := r.Notify(ctx, log.fn); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	srv.restart()
	log.wait(t, "ChangeAll after a restart", isAll)
	w := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: r.Prefix()})
	if _, err := w.Upsert(ctx, store.Features, "f", mustItem(t, `{"key":"f","version":1}`)); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "Upsert after the restart", isItem(store.Features, "f"))

	// A server that is down when Notify is called: an error, at once.
	srv.stop()
	down := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: r.Prefix()})
	if err := down.Notify(ctx, log.fn); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Notify with the server down: %v; want ErrUnavailable", err)
	}
}

// TestNotifyKeyspace listens to keyspace notifications for a store that a
// writer without change messages (a LaunchDarkly Relay Proxy, here raw
// commands) fills: refused with a hint while the server has them off,
// delivered as ChangeAll once CONFIG SET turns them on.
func TestNotifyKeyspace(t *testing.T) {
	srv := startServer(t, plainArgs)
	ctx := ctxT(t)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.addr()})
	t.Cleanup(func() { _ = raw.Close() })
	p := testPrefix("keyspace")
	r := mustOpen(t, Options{URL: "redis://" + srv.addr() + "?notify=keyspace", Prefix: p})
	log := newChangeLog()
	err := r.Notify(ctx, log.fn)
	if err == nil || !strings.Contains(err.Error(), "notify-keyspace-events") || !strings.Contains(err.Error(), "CONFIG SET") {
		t.Fatalf("Notify with keyspace events off: %v; want an error saying how to turn them on", err)
	}
	if err := raw.ConfigSet(ctx, "notify-keyspace-events", "Kgh$").Err(); err != nil {
		t.Fatal(err)
	}
	if err := r.Notify(ctx, log.fn); err != nil {
		t.Fatalf("Notify with keyspace events on: %v", err)
	}
	for _, step := range []struct {
		what string
		do   func() error
	}{
		{"HSET features", func() error { return raw.HSet(ctx, p+":features", "f", `{"key":"f","version":1}`).Err() }},
		{"SET $inited", func() error { return raw.Set(ctx, p+":$inited", "", 0).Err() }},
		{"DEL segments", func() error {
			if err := raw.HSet(ctx, p+":segments", "s", `{"key":"s","version":1}`).Err(); err != nil {
				return err
			}
			return raw.Del(ctx, p+":segments").Err()
		}},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		log.wait(t, step.what, isAll)
	}
}

// TestNotifyKeyspaceCluster does the same on the Cluster, where keyspace
// notifications stay on the node of the key.
func TestNotifyKeyspaceCluster(t *testing.T) {
	ctx := ctxT(t)
	admin := rawCluster(t)
	setAll := func(v string) error {
		return admin.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return c.ConfigSet(ctx, "notify-keyspace-events", v).Err()
		})
	}
	if err := setAll("Kgh$"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = setAll("") })
	for _, tagged := range []bool{true, false} {
		t.Run(fmt.Sprintf("tagged=%v", tagged), func(t *testing.T) {
			p := testPrefix("keyspace")
			if tagged {
				p = taggedPrefix("keyspace")
			}
			r := mustOpen(t, Options{Addrs: clusterAddrs(t), Prefix: p, Notify: NotifyKeyspace, AllowUnhashedClusterPrefix: !tagged})
			log := newChangeLog()
			if err := r.Notify(ctx, log.fn); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{p + ":features", p + ":segments"} {
				if err := admin.HSet(ctx, key, "x", `{"key":"x","version":1}`).Err(); err != nil {
					t.Fatal(err)
				}
				log.wait(t, "HSET "+key, isAll)
			}
		})
	}
}

// TestUpsertBatch checks the batch's version rules on every deployment:
// newer items are written, older ones and repeats of a key with a version
// not above the batch's earlier one are not, and a batch is all or nothing
// for a reader.
func TestUpsertBatch(t *testing.T) {
	for _, tc := range notifyTargets(t) {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := tc.open(t, "batch")
			if _, err := s.Upsert(ctx, store.Features, "a", mustItem(t, `{"key":"a","version":5}`)); err != nil {
				t.Fatal(err)
			}
			applied, err := s.UpsertBatch(ctx, []store.ItemUpdate{
				{Kind: store.Features, Key: "a", Item: mustItem(t, `{"key":"a","version":4}`)},
				{Kind: store.Features, Key: "a", Item: mustItem(t, `{"key":"a","version":6}`)},
				{Kind: store.Features, Key: "a", Item: mustItem(t, `{"key":"a","version":6}`)},
				{Kind: store.Segments, Key: "s", Item: mustItem(t, `{"key":"s","version":1}`)},
				{Kind: store.Features, Key: "gone", Item: store.Item{Version: 2, Deleted: true}},
			})
			if want := []bool{false, true, false, true, true}; err != nil || !slices.Equal(applied, want) {
				t.Fatalf("UpsertBatch = %v, %v; want %v", applied, err, want)
			}
			for _, c := range []struct {
				kind store.Kind
				key  string
				ver  int
			}{{store.Features, "a", 6}, {store.Segments, "s", 1}, {store.Features, "gone", 2}} {
				if it, found, err := s.Get(ctx, c.kind, c.key); err != nil || !found || it.Version != c.ver {
					t.Errorf("Get %s %s = %+v, %v, %v; want version %d", c.kind, c.key, it, found, err, c.ver)
				}
			}
			if got, err := s.UpsertBatch(ctx, nil); err != nil || len(got) != 0 {
				t.Errorf("empty UpsertBatch = %v, %v", got, err)
			}
			if _, err := s.UpsertBatch(ctx, []store.ItemUpdate{{Key: "x", Item: mustItem(t, `{"version":1}`)}}); err == nil {
				t.Error("UpsertBatch with an empty kind: no error")
			}
		})
	}
}

// TestUpsertBatchAtomic has a reader poll two flags that every batch moves
// together: it never sees them at different versions (one MULTI/EXEC).
func TestUpsertBatchAtomic(t *testing.T) {
	ctx := ctxT(t)
	s := openSingle(t, testPrefix("batch-atomic"))
	r := openSingle(t, s.Prefix())
	done := make(chan struct{})
	var mixed, reads int
	go func() {
		defer close(done)
		for reads < 2000 {
			all, err := r.GetAll(ctx, store.Features)
			if err != nil {
				return
			}
			reads++
			if len(all) == 2 && all[0].Item.Version != all[1].Item.Version {
				mixed++
			}
		}
	}()
	for v := 1; ; v++ {
		select {
		case <-done:
			if mixed > 0 {
				t.Errorf("%d of %d reads saw a batch half applied", mixed, reads)
			}
			return
		default:
		}
		_, err := s.UpsertBatch(ctx, []store.ItemUpdate{
			{Kind: store.Features, Key: "x", Item: mustItem(t, fmt.Sprintf(`{"key":"x","version":%d}`, v))},
			{Kind: store.Features, Key: "y", Item: mustItem(t, fmt.Sprintf(`{"key":"y","version":%d}`, v))},
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestNotifyHungServer pauses the server (SIGSTOP: connections stay open,
// nothing answers): the subscription's PING goes unanswered, so it is
// dropped and made again once the server answers, followed by ChangeAll.
func TestNotifyHungServer(t *testing.T) {
	srv := startServer(t, plainArgs)
	ctx := ctxT(t)
	var logs testlog.Buffer
	h, st := subscriptionHealthEvery, subscribeTimeout
	subscriptionHealthEvery, subscribeTimeout = 100*time.Millisecond, 300*time.Millisecond
	r := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: testPrefix("hung"), Logger: logs.Logger()})
	subscriptionHealthEvery, subscribeTimeout = h, st // the store keeps its copy
	log := newChangeLog()
	if err := r.Notify(ctx, log.fn); err != nil {
		t.Fatal(err)
	}
	srv.pause()
	eventually(t, "the hung subscription noticed", 10*time.Second, func() error {
		if !strings.Contains(logs.String(), "no answer to PING") {
			return errors.New("not yet")
		}
		return nil
	})
	srv.resume()
	log.wait(t, "ChangeAll once the server answers again", isAll)
	w := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: r.Prefix()})
	if _, err := w.Upsert(ctx, store.Features, "f", mustItem(t, `{"key":"f","version":1}`)); err != nil {
		t.Fatal(err)
	}
	log.wait(t, "an upsert after the pause", isItem(store.Features, "f"))
}
