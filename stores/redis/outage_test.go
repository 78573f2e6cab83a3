package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
)

// eventually is the repository's one wait helper (internal/testwait).
var eventually = testwait.EventuallyNil

// TestOutageAndRecovery stops a Redis server the test owns, and restarts
// it; then pauses it (a hung server) and resumes it. Calls fail with
// store.ErrUnavailable while it is away and succeed once it is back, with
// the same Store and no reconnect by the caller.
func TestOutageAndRecovery(t *testing.T) {
	srv := startServer(t, plainArgs)
	p := testPrefix("outage")
	s := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: p, Redis: goredis.UniversalOptions{ReadTimeout: 300 * time.Millisecond}})
	ctx := ctxT(t)
	v1 := mustItem(t, `{"key":"f","version":1}`)
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: v1}}}}); err != nil {
		t.Fatal(err)
	}
	// Warm the pool with several connections, which the outage breaks.
	for range 8 {
		if _, _, err := s.Get(ctx, store.Features, "f"); err != nil {
			t.Fatal(err)
		}
	}

	srv.stop()
	start := time.Now()
	_, _, err := s.Get(ctx, store.Features, "f")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Get while stopped: %v; want ErrUnavailable", err)
	}
	if err := s.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Ping while stopped: %v", err)
	}
	if _, err := s.Initialized(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Initialized while stopped: %v", err)
	}
	if _, err := s.Upsert(ctx, store.Features, "f", mustItem(t, `{"version":2}`)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Upsert while stopped: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("4 calls during the outage took %v", d)
	}

	// The server comes back empty (no persistence): the store says so
	// rather than failing, and a writer's Init is seen.
	srv.restart()
	eventually(t, "Ping after restart", 10*time.Second, func() error { return s.Ping(ctx) })
	if ok, err := s.Initialized(ctx); err != nil || ok {
		t.Errorf("Initialized after an empty restart = %v, %v; want false", ok, err)
	}
	v3 := mustItem(t, `{"key":"f","version":3}`)
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: v3}}}}); err != nil {
		t.Fatalf("Init after restart: %v", err)
	}
	if it, _, err := s.Get(ctx, store.Features, "f"); err != nil || it.Version != 3 {
		t.Errorf("Get after restart = %+v, %v", it, err)
	}

	// A hung server: calls time out as unavailable, and work again after.
	srv.pause()
	start = time.Now()
	_, _, err = s.Get(ctx, store.Features, "f")
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get on a paused server: %v; want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Get on a paused server took %v with a 300ms read timeout", d)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	if _, err := s.Membership(cctx, "h"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Membership on a paused server with a 100ms deadline: %v", err)
	}
	cancel()
	srv.resume()
	eventually(t, "Get after resume", 10*time.Second, func() error {
		_, _, err := s.Get(ctx, store.Features, "f")
		return err
	})
}
