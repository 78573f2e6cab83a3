// Package urlfuzz holds the fuzz target of redis.ParseURL, in a test binary
// of its own: the fuzzer instruments every package linked into the binary
// it runs, and stores/redis's own test binary links the test-server
// helpers (testcontainers and a Docker client), which made each execution
// several times slower (measured on a trivial target: about 95,000
// executions a second alone, 37,000 with go-redis linked, 13,000 with the
// test-server helpers too).
package urlfuzz

import (
	"net"
	"testing"

	"github.com/daemonflag/daemonflag/stores/redis"
)

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"redis://localhost", "rediss://u:p@h:6380/1?prefix={ld}", "redis+cluster://a?addr=b&addr=c",
		"redis+sentinel://s?master=m", "redis://[::1]:1", "redis://h?read_timeout=1s&db=2", "redis://%zz",
		"redis://h?notify=keyspace&pool_size=3&client_name=x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := redis.ParseURL(s)
		if err != nil {
			if o != nil {
				t.Fatalf("ParseURL(%q) returned options with an error", s)
			}
			return
		}
		if len(o.Addrs) == 0 {
			t.Fatalf("ParseURL(%q) returned no address", s)
		}
		for _, a := range o.Addrs {
			if h, p, err := net.SplitHostPort(a); err != nil || h == "" || p == "" {
				t.Fatalf("ParseURL(%q) returned address %q that does not parse again: %v", s, a, err)
			}
		}
		if o.MasterName != "" && o.Cluster {
			t.Fatalf("ParseURL(%q) is both Sentinel and Cluster", s)
		}
		if o.Cluster && o.Redis.DB != 0 {
			t.Fatalf("ParseURL(%q) gave a Cluster database %d", s, o.Redis.DB)
		}
		if o.URL != "" {
			t.Fatalf("ParseURL(%q) left URL set", s)
		}
	})
}
