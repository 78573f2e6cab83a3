package integration

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
)

// TestSyncHealsFlushedRedis: FLUSHALL on a Redis server of the test's own
// under a running `daemonflag sync`: the writer notices the lost dataset,
// writes it again at once (within a poll interval), logs one line and
// counts it; a second flush is healed the same way.
func TestSyncHealsFlushedRedis(t *testing.T) {
	srv := ownRedis(t, "redis-heal")
	addr := redisAddress(srv)
	dir := t.TempDir()
	file := filepath.Join(dir, "flags.json")
	if err := os.WriteFile(file, []byte(`{"flags": {"greeting": {"on": true, "variations": ["hello"], "fallthrough": {"variation": 0}, "version": 7},
		"other": {"on": false, "variations": [1], "offVariation": 0}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startSync(t, "sync", addr, []string{file})
	ctx := context.Background()
	s, err := stores.Open(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	has := func() bool {
		it, found, err := s.Get(ctx, store.Features, "greeting")
		inited, ierr := s.Initialized(ctx)
		return err == nil && ierr == nil && found && inited && it.Version == 7
	}
	if !waitFor(20*time.Second, 10*time.Millisecond, has) {
		t.Fatalf("sync never wrote the dataset:\n%s", w.log.tail(20))
	}
	parsed, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	prefix := parsed.Prefix
	rc := goredis.NewClient(&goredis.Options{Addr: srv.addr()})
	defer rc.Close()
	for round := 1; round <= 2; round++ {
		if err := rc.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		flushed := time.Now()
		if !waitFor(10*time.Second, 5*time.Millisecond, has) {
			t.Fatalf("round %d: the dataset never came back:\n%s", round, w.log.tail(20))
		}
		back := time.Since(flushed)
		t.Logf("round %d: dataset back %v after FLUSHALL (poll interval %v)", round, back.Round(time.Millisecond), syncInterval)
		if n, err := rc.HLen(ctx, prefix+":features").Result(); err != nil || n != 2 {
			t.Fatalf("round %d: %d flags after healing, %v", round, n, err)
		}
	}
	if !waitFor(5*time.Second, 10*time.Millisecond, func() bool {
		return len(w.log.lines("the store lost its dataset; writing the last complete dataset again", "heals=2")) == 1
	}) {
		t.Fatalf("the writer did not log the second heal:\n%s", w.log.tail(20))
	}
	if n := len(w.log.lines("the store lost its dataset")); n != 2 {
		t.Errorf("%d heal lines, want one per flush:\n%s", n, w.log.tail(20))
	}
}
