package integration

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
)

// backend is one kind of store the scenarios run on.
type backend struct {
	name string
	// address returns the address of a fresh, empty dataset (a new bbolt
	// file, or a new random prefix), or skips (fails, when backends are
	// required) the test when the backend is not configured.
	address func(t testing.TB) string
	// atomicInit: readers never see a partly written Init.
	atomicInit bool
}

func backends() []backend {
	return []backend{
		{name: "bolt", address: testaddrs.Bolt, atomicInit: true},
		{name: "redis", address: testaddrs.Redis, atomicInit: true},
		{name: "redis-cluster", address: testaddrs.RedisCluster, atomicInit: true},
		{name: "dynamodb", address: testaddrs.DynamoDB, atomicInit: false},
	}
}

// forEachBackend runs fn in a subtest per backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// childEnv is added to every child's environment: dummy AWS credentials
// for the DynamoDB-compatible server (it accepts any), and no lookups of
// shared AWS configuration or instance metadata.
func childEnv() []string {
	var env []string
	for k, v := range testaddrs.TestAWSEnv() {
		env = append(env, k+"="+v)
	}
	return env
}

// withPrefix returns addr with its dataset prefix replaced by prefix (or
// added); the other parameters stay as they are.
func withPrefix(addr, prefix string) string {
	base, query, _ := strings.Cut(addr, "?")
	var params []string
	for _, p := range strings.Split(query, "&") {
		if p != "" && !strings.HasPrefix(p, "prefix=") {
			params = append(params, p)
		}
	}
	params = append(params, "prefix="+url.QueryEscape(prefix))
	// A Redis Cluster hash tag reads better unescaped, and parses either way.
	return base + "?" + strings.NewReplacer("%7B", "{", "%7D", "}").Replace(strings.Join(params, "&"))
}

// prefixOf returns the prefix in effect for addr.
func prefixOf(t testing.TB, addr string) string {
	t.Helper()
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	return a.Prefix
}

// openStore opens addr in the test process; it is closed when the test
// ends. readOnly matters for bbolt only.
func openStore(t testing.TB, addr string, readOnly bool) store.Store {
	t.Helper()
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := a.Open(ctx, &stores.OpenOptions{ReadOnly: readOnly})
	if err != nil {
		t.Fatalf("open %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitInitialized waits until the store at addr holds a dataset.
func waitInitialized(t testing.TB, s store.Reader, timeout time.Duration) {
	t.Helper()
	var last error
	ok := waitFor(timeout, 50*time.Millisecond, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		inited, err := s.Initialized(ctx)
		last = err
		return err == nil && inited
	})
	if !ok {
		t.Fatalf("store not initialized within %v (last error: %v)", timeout, last)
	}
}

// storedVersions returns the version of every live flag in the store.
func storedVersions(t testing.TB, s store.Reader) map[string]int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all, err := s.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatalf("read flags: %v", err)
	}
	out := make(map[string]int, len(all))
	for _, ki := range all {
		if !ki.Item.Deleted {
			out[ki.Key] = ki.Item.Version
		}
	}
	return out
}
