package redis

import (
	"context"
	"strconv"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
)

// helloCalls returns how many HELLO commands the server has run.
func helloCalls(t *testing.T, raw *goredis.Client) int {
	t.Helper()
	info, err := raw.Info(context.Background(), "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_hello:calls="); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
			if err != nil {
				t.Fatalf("commandstats line %q: %v", line, err)
			}
			return n
		}
	}
	return 0
}

// A store's connections answer go-redis's bare HELLO themselves (it would
// change nothing on the server): a new store's first command is the first
// thing its connection sends, a round trip less; the store works as usual,
// on plain TCP and (see TestTLS) TLS. A HELLO that carries credentials (an
// ACL user) or a client name still goes to the server, and authenticates.
func TestBareHelloIsAnsweredLocally(t *testing.T) {
	srv := startServer(t, plainArgs)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.addr(), Protocol: 2})
	t.Cleanup(func() { _ = raw.Close() })
	ctx := ctxT(t)
	if err := raw.Do(ctx, "ACL", "SETUSER", "reader", "on", ">r-pass", "~*", "&*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		redis     goredis.UniversalOptions
		wantHello bool
	}{
		{"no credentials", goredis.UniversalOptions{}, false},
		{"ACL user", goredis.UniversalOptions{Username: "reader", Password: "r-pass"}, true},
		{"client name", goredis.UniversalOptions{ClientName: "daemonflag-test"}, true},
		{"RESP3", goredis.UniversalOptions{Protocol: 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := helloCalls(t, raw)
			s := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: testPrefix("hello"), Redis: tc.redis})
			if ok, err := s.Initialized(ctx); err != nil || ok {
				t.Fatalf("Initialized = %v, %v; want false, nil", ok, err)
			}
			if err := s.client.Set(ctx, s.keys.inited, "", 0).Err(); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.Initialized(ctx); err != nil || !ok {
				t.Fatalf("Initialized after the marker = %v, %v; want true", ok, err)
			}
			got := helloCalls(t, raw) - before
			if tc.wantHello && got == 0 {
				t.Errorf("no HELLO reached the server; want the handshake sent (it carries something)")
			}
			if !tc.wantHello && got != 0 {
				t.Errorf("%d HELLO reached the server; want none (a bare HELLO is answered by the connection)", got)
			}
			if tc.redis.ClientName != "" {
				names, err := raw.ClientList(ctx).Result()
				if err != nil || !strings.Contains(names, "name="+tc.redis.ClientName) {
					t.Errorf("CLIENT LIST has no connection named %q: %v", tc.redis.ClientName, err)
				}
			}
		})
	}
	// A wrong password fails as before: the HELLO carrying it is sent.
	s := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: testPrefix("hello"), Redis: goredis.UniversalOptions{Username: "reader", Password: "wrong"}})
	if _, err := s.Initialized(ctx); err == nil {
		t.Error("Initialized with a wrong password succeeded")
	}
}
