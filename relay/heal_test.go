package relay_test

import (
	"context"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testservers"
	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
)

// A Redis that loses its data (FLUSHALL here; a restart without
// persistence in production) gets the relay's last complete dataset back
// at once: the last put with the patches since.
func TestRelayReseedsAFlushedRedis(t *testing.T) {
	addr := testaddrs.Redis(t)
	st := openStore(t, addr)
	srv := newSSEServer(t)
	stats := new(relay.Stats)
	run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL},
		HealInterval: 20 * time.Millisecond, Stats: stats})
	c := srv.next(t)
	c.event("put", putData(map[string]string{"f1": flagJSON("f1", 1), "f2": flagJSON("f2", 1)},
		map[string]string{"s1": segmentJSON("s1", 1)}))
	run.update(t)
	c.event("patch", `{"path":"/flags/f1","data":`+flagJSON("f1", 7)+`}`)
	run.update(t)
	c.event("delete", `{"path":"/flags/f2","version":3}`)
	run.update(t)

	opt, err := goredis.ParseURL(testservers.RedisURL(t))
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opt)
	defer rc.Close()
	ctx := context.Background()
	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	flushed := time.Now()
	u := run.update(t)
	if !u.Init || !u.Reseed || u.Flags != 2 || u.Segments != 1 {
		t.Fatalf("update %+v, want a reseed of 2 flags and 1 segment", u)
	}
	t.Logf("data back %v after FLUSHALL", time.Since(flushed).Round(time.Millisecond))
	if ok, err := st.Initialized(ctx); !ok || err != nil {
		t.Fatalf("not initialized after the reseed: %v, %v", ok, err)
	}
	if it := stored(t, st, store.Features, "f1"); it.Version != 7 {
		t.Errorf("f1 version %d, want the patched 7", it.Version)
	}
	if it := stored(t, st, store.Features, "f2"); !it.Deleted || it.Version != 3 {
		t.Errorf("f2 = %+v, want the tombstone of version 3", it)
	}
	stored(t, st, store.Segments, "s1")
	if n := strings.Count(run.logs.String(), "the store had lost its dataset"); n != 1 {
		t.Errorf("%d reseed log lines, want 1:\n%s", n, run.logs)
	}
	if s := stats.Snapshot(); s.Reseeds != 1 {
		t.Errorf("Reseeds = %d, want 1", s.Reseeds)
	}
	// Later updates go on as before.
	c.event("patch", `{"path":"/flags/f1","data":`+flagJSON("f1", 8)+`}`)
	if u := run.update(t); u.Key != "f1" || !u.Applied {
		t.Fatalf("update %+v", u)
	}
}

// Before the first dataset there is nothing to write back: an empty store
// stays empty and uninitialized.
func TestRelayDoesNotReseedBeforeTheFirstDataset(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	srv := newSSEServer(t)
	stats := new(relay.Stats)
	failures := make(chan error, 100)
	srv.status.Store(503)
	startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL},
		HealInterval: time.Millisecond, Stats: stats, OnFailure: func(err error) { failures <- err }})
	for range 5 {
		<-failures
	}
	if ok, _ := st.Initialized(context.Background()); ok || stats.Snapshot().Reseeds != 0 {
		t.Fatalf("initialized %v, reseeds %d", ok, stats.Snapshot().Reseeds)
	}
}
