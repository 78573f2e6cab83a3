// Package testservers tells tests where the real backend servers are.
//
// An address comes from the first of these that applies:
//
//  1. An environment variable. The test script (scripts/test.sh) starts a
//     Redis server, a three-master Redis Cluster and a DynamoDB-compatible
//     server (dynalite) on loopback ports and passes their addresses:
//
//     DAEMONFLAG_REDIS_URL             redis://127.0.0.1:PORT
//     DAEMONFLAG_REDIS_CLUSTER_ADDRS   127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3
//     DAEMONFLAG_DYNAMODB_ENDPOINT     http://127.0.0.1:PORT
//     DAEMONFLAG_REQUIRE_BACKENDS=1    a missing backend fails the test
//
//  2. A container started with testcontainers-go, when a Docker engine
//     answers (see DockerAvailable): redis:7 for Redis, DynamoDB Local
//     (amazon/dynamodb-local) for DynamoDB. Each container is started at most
//     once per test process, on first use, and shared by every test in that
//     process; its port is published on 127.0.0.1 only. Testcontainers'
//     reaper (Ryuk) removes the containers shortly after the process exits;
//     a TestMain that calls TerminateContainers removes them at once, which
//     matters when the reaper is turned off (TESTCONTAINERS_RYUK_DISABLED).
//     DAEMONFLAG_TESTCONTAINERS=0 turns this step off. There is no container
//     for Redis Cluster: testcontainers-go has no cluster module, so cluster
//     tests need DAEMONFLAG_REDIS_CLUSTER_ADDRS.
//
//  3. Otherwise the test is skipped with a message that says how to run it,
//     or fails when DAEMONFLAG_REQUIRE_BACKENDS is set.
//
// A Docker engine that answers but cannot start a container (no image and no
// network, say) fails the test: Docker was there, so a skip would hide a
// broken setup. Set the environment variable, or DAEMONFLAG_TESTCONTAINERS=0,
// to avoid Docker.
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
	// EnvTestcontainers set to "0" or "false" stops the package from
	// looking for a Docker engine and starting containers.
	EnvTestcontainers = "DAEMONFLAG_TESTCONTAINERS"
)

// Required reports whether missing backends must fail tests rather than skip
// them.
func Required() bool {
	return truthy(os.Getenv(EnvRequireBackends))
}

func truthy(v string) bool {
	return v != "" && v != "0" && v != "false"
}

// testcontainersEnabled reports whether the Docker fallback may be used.
func testcontainersEnabled() bool {
	v, set := os.LookupEnv(EnvTestcontainers)
	return !set || truthy(v)
}

// RedisURL returns the URL of a single-node Redis server.
func RedisURL(t testing.TB) string {
	t.Helper()
	return lookup(t, &redisBackend)
}

// RedisClusterAddrs returns the seed addresses of a Redis Cluster. Only the
// environment variable provides them; there is no container fallback.
func RedisClusterAddrs(t testing.TB) []string {
	t.Helper()
	return strings.Split(lookup(t, &redisClusterBackend), ",")
}

// DynamoDBEndpoint returns the endpoint URL of a DynamoDB-compatible server.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	return lookup(t, &dynamoDBBackend)
}

// backend is one kind of server tests ask for.
type backend struct {
	what string // for messages: "Redis"
	env  string // the environment variable holding its address
	// container, when non-nil, starts (once per process) a container
	// serving this backend and returns its address.
	container func() (string, error)
	// noContainer says why there is no container fallback, for messages.
	noContainer string
}

var (
	redisBackend = backend{
		what: "Redis", env: EnvRedisURL,
		container: redisContainer.endpoint,
	}
	redisClusterBackend = backend{
		what: "Redis Cluster", env: EnvRedisClusterAddrs,
		noContainer: "testcontainers-go has no Redis Cluster module, so Docker does not help here",
	}
	dynamoDBBackend = backend{
		what: "DynamoDB", env: EnvDynamoDBEndpoint,
		container: dynamoDBContainer.endpoint,
	}
)

// lookup returns the backend's address, or skips or fails t.
func lookup(t testing.TB, b *backend) string {
	t.Helper()
	in := inputs{
		value:    os.Getenv(b.env),
		required: Required(),
		useTC:    testcontainersEnabled(),
		docker:   dockerProbe,
	}
	out := decide(b, in)
	switch {
	case out.fail:
		t.Fatal(out.msg)
	case out.msg != "":
		t.Skip(out.msg)
	}
	return out.addr
}

// inputs are what decide depends on besides the backend.
type inputs struct {
	value    string // the environment variable's value
	required bool   // DAEMONFLAG_REQUIRE_BACKENDS is set
	useTC    bool   // the Docker fallback is enabled
	// docker reports whether a Docker engine answers, and if not, why.
	docker func() (ok bool, why string)
}

// outcome is decide's answer: an address, or a message to skip with (fail
// false) or to fail with (fail true).
type outcome struct {
	addr string
	msg  string
	fail bool
}

// decide picks the address source for b. It is the whole policy of this
// package, kept free of testing.TB so it can be tested directly.
func decide(b *backend, in inputs) outcome {
	if in.value != "" {
		return outcome{addr: in.value}
	}
	var why string
	switch {
	case b.container == nil:
		why = b.noContainer
	case !in.useTC:
		why = "Docker fallback turned off by " + EnvTestcontainers
	default:
		ok, reason := in.docker()
		if ok {
			addr, err := b.container()
			if err != nil {
				return outcome{fail: true, msg: b.what + ": a Docker engine answered but starting the container failed: " +
					err.Error() + "; set " + b.env + " to use a running server, or " + EnvTestcontainers +
					"=0 to not use Docker"}
			}
			return outcome{addr: addr}
		}
		why = "no Docker engine for testcontainers-go: " + reason
	}
	msg := b.what + " is not configured: set " + b.env + " or run ./scripts/test.sh, which starts one"
	if b.container != nil {
		msg += ", or make a Docker engine reachable (DOCKER_HOST or /var/run/docker.sock) and the tests start one in a container"
	}
	msg += " (" + why + ")"
	return outcome{msg: msg, fail: in.required}
}
