// Package testaddrs gives tests the store addresses (see package stores) of
// every backend they should run against, so that a test written once as a
// table over addresses covers them all, and a new backend joins by adding
// its address here.
//
// bbolt is always available (a file in the test's temporary directory).
// Redis, Redis Cluster and DynamoDB come from the servers that
// internal/testservers finds through environment variables; without them
// the subtest is skipped, or fails when DAEMONFLAG_REQUIRE_BACKENDS is set.
//
// Each call returns a fresh, empty dataset: a new file, or a prefix with a
// random token, so reruns and parallel tests never see each other's data.
//
// For big-segment tests, OpenRedisBigSegments and OpenDynamoDBBigSegments
// open stores directly (not by address) on a fresh dataset, and delete it
// when the test ends.
package testaddrs

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testservers"
)

// Backend is one backend tests run against.
type Backend struct {
	// Name names the backend in subtest names: "bolt", "redis",
	// "redis-cluster", "dynamodb".
	Name string
	// Address returns the address of a fresh, empty dataset on the backend,
	// or skips (or fails) t when the backend is not configured.
	Address func(t testing.TB) string
}

// Backends returns every backend, bbolt first.
func Backends() []Backend {
	return []Backend{
		{"bolt", Bolt},
		{"redis", Redis},
		{"redis-cluster", RedisCluster},
		{"dynamodb", DynamoDB},
	}
}

// ForEach runs fn in a subtest per backend, with a fresh address.
func ForEach(t *testing.T, fn func(t *testing.T, addr string)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, b.Address(t))
		})
	}
}

// Token returns a random 12-character hex string.
func Token() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Bolt returns the address of a new bbolt file in t's temporary directory.
func Bolt(t testing.TB) string {
	t.Helper()
	return "bolt:" + filepath.Join(t.TempDir(), "flags.db")
}

// Redis returns an address on the single Redis server with a new prefix.
func Redis(t testing.TB) string {
	t.Helper()
	u := testservers.RedisURL(t)
	return join(u, "prefix=dftest-"+Token())
}

// RedisCluster returns an address on the Redis Cluster with a new prefix
// holding a hash tag, as a cluster requires.
func RedisCluster(t testing.TB) string {
	t.Helper()
	addrs := testservers.RedisClusterAddrs(t)
	var b strings.Builder
	b.WriteString("redis+cluster://")
	b.WriteString(addrs[0])
	b.WriteString("?prefix={dftest-" + Token() + "}")
	for _, a := range addrs[1:] {
		b.WriteString("&addr=" + a)
	}
	return b.String()
}

var (
	tableOnce sync.Once
	tableName string
)

// DynamoDB returns an address on the DynamoDB-compatible server with a new
// prefix, in a table of this test process that the address asks to be
// created (create=true). It sets dummy AWS credentials in the environment
// when none are set, since local servers accept any.
func DynamoDB(t testing.TB) string {
	t.Helper()
	endpoint := testservers.DynamoDBEndpoint(t)
	tableOnce.Do(func() {
		tableName = "daemonflag-stores-test-" + Token()
		for k, v := range TestAWSEnv() {
			if os.Getenv(k) == "" {
				_ = os.Setenv(k, v)
			}
		}
	})
	return "dynamodb://" + tableName + "?endpoint=" + endpoint + "&region=us-east-1&create=true&prefix=dftest-" + Token()
}

// TestAWSEnv returns environment variables with dummy AWS credentials, for
// subprocesses that talk to a local DynamoDB-compatible server.
func TestAWSEnv() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID":     "daemonflag-test",
		"AWS_SECRET_ACCESS_KEY": "daemonflag-test",
		"AWS_REGION":            "us-east-1",
		// No shared config lookups or instance metadata probes.
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

func join(u, param string) string {
	if strings.Contains(u, "?") {
		return u + "&" + param
	}
	return u + "?" + param
}
