// Package bench compares daemonflag with LaunchDarkly's Go server-side SDK on
// the same data, the same contexts and the same servers, in one run.
//
// It is a separate Go module so that LaunchDarkly's SDK never enters the main
// module's dependencies. Everything lives in its tests:
//
//   - benchmarks, paired by name: every benchmark has a path element "ours"
//     or "ld", and the two benchmarks whose names differ only there measure
//     the same case (BenchmarkEval/ours/rule-in and BenchmarkEval/ld/rule-in);
//   - interop tests: LaunchDarkly's SDK (Redis through redigo, DynamoDB) reads
//     a dataset our writer wrote and agrees with our client on every flag, and
//     our client reads a dataset LaunchDarkly's store integrations wrote;
//   - a differential test: random flags, segments and contexts evaluated by
//     both evaluators, which must agree on value, variation index, reason,
//     experiment flag and prerequisite evaluations.
//
// Backends come from the environment, as in the main module's tests:
// DAEMONFLAG_REDIS_URL and DAEMONFLAG_DYNAMODB_ENDPOINT; without them the
// tests and benchmarks that need them are skipped, unless
// DAEMONFLAG_REQUIRE_BACKENDS=1, when they fail. The outage benchmark starts
// and stops its own redis-server (found in PATH) on a free loopback port.
//
// The differential test takes its seed from -seed or DAEMONFLAG_DIFF_SEED and
// its number of pairs from DAEMONFLAG_DIFF_PAIRS (default 10,000).
//
// `go run ./cmd/compare` (in this directory) runs every benchmark and prints
// the comparison table; see that command's documentation.
package bench
