// Package integration holds daemonflag's end-to-end tests: real writer and
// client processes sharing one store, on every backend (bbolt, Redis, Redis
// Cluster, DynamoDB through dynalite or DynamoDB Local), with faults
// injected from outside. The package has no API.
//
// # Scenarios
//
//	TestPropagation            a writer (daemonflag sync) and three clients; each
//	                           edit of a flag file reaches every client (delays
//	                           reported); no client evaluates a mix of two datasets
//	TestStoreOutage            the store goes away under load and comes back;
//	                           clients serve last good values, report unavailable,
//	                           recover and pick up the edit made meanwhile
//	TestWriterKilledDuringInit the writer is SIGKILLed inside an Init of 10,000
//	                           flags; the old dataset stays (whole on Redis and
//	                           bbolt); the next run fixes the store
//	TestEmptyStore             clients start before any dataset exists
//	TestWrongPrefix            a client reads another prefix than the writer's
//	TestBigSegments            memberships imported while clients evaluate; STALE
//	TestRacingWriters          two writer processes race upserts of the same flags
//
// Each runs on every backend. The measured figures are printed with t.Logf
// on lines that begin "integration:"; run with -v to see them.
//
// # Processes
//
// The tests build the daemonflag command and two test programs,
// internal/evalclient (a client that evaluates continuously and reports
// what it sees as JSON lines) and internal/upserter (a writer of explicitly
// versioned flags), with go build, once per run. Every process a test
// starts is stopped by its PID when the test ends (stdin closed, then
// SIGTERM, then SIGKILL), and the kernel kills it if the test process dies
// (Linux). Every wait and every loop is bounded in time.
//
// # Backends
//
// The addresses come from internal/testservers through stores/testaddrs
// (./scripts/test.sh starts the servers; without them the tests skip, or
// fail under DAEMONFLAG_REQUIRE_BACKENDS=1). The tests that stop or pause
// a server (the outage, the killed writer) start servers of their own
// (redis-server from PATH, a Redis Cluster of three, dynalite from
// .tools/dynalite) on free loopback ports, so the shared ones stay up.
//
// # Environment
//
//	DAEMONFLAG_INTEGRATION_RACE=1   build the child programs with -race too
//	                                (several times slower)
//	DAEMONFLAG_INTEGRATION_CLI=PATH test this daemonflag executable instead of
//	                                building cmd/daemonflag
package integration
