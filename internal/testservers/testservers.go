// Package testservers tells tests where the real backend servers are.
//
// The test script (scripts/test.sh) starts a Redis server, a three-master
// Redis Cluster and a DynamoDB-compatible server (dynalite) on loopback
// ports and passes their addresses in environment variables:
//
//	DAEMONFLAG_REDIS_URL             redis://127.0.0.1:PORT
//	DAEMONFLAG_REDIS_CLUSTER_ADDRS   127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
//	DAEMONFLAG_DYNAMODB_ENDPOINT     http://127.0.0.1:PORT
//	DAEMONFLAG_REQUIRE_BACKENDS=1    a missing backend fails the test
//
// Without an address a test is skipped with a message that says how to run
// it, unless DAEMONFLAG_REQUIRE_BACKENDS is set, in which case it fails.
package testservers

import (
	"os"
	"strings"
	"testing"
)

// Environment variables read by this package.
const (
	EnvRedisURL          = "DAEMONFLAG_REDIS_URL"
	EnvRedisClusterAddrs = "DAEMONFLAG_REDIS_CLUSTER_ADDRS"
	EnvDynamoDBEndpoint  = "DAEMONFLAG_DYNAMODB_ENDPOINT"
	EnvRequireBackends   = "DAEMONFLAG_REQUIRE_BACKENDS"
)

// Required reports whether missing backends must fail tests rather than skip
// them.
func Required() bool {
	v := os.Getenv(EnvRequireBackends)
	return v != "" && v != "0" && v != "false"
}

func missing(t testing.TB, what, env string) {
	t.Helper()
	msg := what + " is not configured: set " + env + " or run ./scripts/test.sh, which starts one"
	if Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// RedisURL returns the URL of a single-node Redis server.
func RedisURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvRedisURL)
	if u == "" {
		missing(t, "Redis", EnvRedisURL)
	}
	return u
}

// RedisClusterAddrs returns the seed addresses of a Redis Cluster.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	v := os.Getenv(EnvRedisClusterAddrs)
	if v == "" {
		missing(t, "Redis Cluster", EnvRedisClusterAddrs)
	}
	return strings.Split(v, ",")
}

// DynamoDBEndpoint returns the endpoint URL of a DynamoDB-compatible server.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	e := os.Getenv(EnvDynamoDBEndpoint)
	if e == "" {
		missing(t, "DynamoDB", EnvDynamoDBEndpoint)
	}
	return e
}
