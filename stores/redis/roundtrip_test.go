package redis

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// tripCounter is a go-redis hook counting what the client sends: single
// commands and pipelines (each pipeline, MULTI/EXEC included, is one write
// and one round trip).
type tripCounter struct{ trips atomic.Int64 }

func (c *tripCounter) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c *tripCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.trips.Add(1)
		return next(ctx, cmd)
	}
}

func (c *tripCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.trips.Add(1)
		return next(ctx, cmds)
	}
}

// TestOneRoundTrip checks that each read, a miss included, and Init are one
// round trip to the server.
func TestOneRoundTrip(t *testing.T) {
	ctx := ctxT(t)
	client := rawSingle(t)
	counter := &tripCounter{}
	client.AddHook(counter)
	s, err := NewFromClient(client, Options{Prefix: testPrefix("trips")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropPrefix(client, s.Prefix()) })
	flags := make([]store.KeyedItem, 5000)
	for i := range flags {
		flags[i] = store.KeyedItem{Key: fmt.Sprintf("flag-%d", i), Item: mustItem(t, `{"version":1}`)}
	}
	// Open the connection first: its handshake is not part of any call.
	if err := client.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Init of 5000 flags", func() error { return s.Init(ctx, []store.Collection{{Kind: store.Features, Items: flags}}) }},
		{"Get hit", func() error { _, _, err := s.Get(ctx, store.Features, flags[0].Key); return err }},
		{"Get miss", func() error { _, _, err := s.Get(ctx, store.Features, "nope"); return err }},
		{"GetAll", func() error { _, err := s.GetAll(ctx, store.Features); return err }},
		{"Initialized", func() error { _, err := s.Initialized(ctx); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Membership", func() error { _, err := s.Membership(ctx, contextHash("k")); return err }},
		{"SynchronizedOn", func() error { _, _, err := s.SynchronizedOn(ctx); return err }},
	}
	for _, c := range calls {
		before := counter.trips.Load()
		if err := c.fn(); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if n := counter.trips.Load() - before; n != 1 {
			t.Errorf("%s took %d round trips, want 1", c.name, n)
		}
	}
}
