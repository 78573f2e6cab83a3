// Package events produces and delivers analytics events in LaunchDarkly's
// event format (schema 4, as LaunchDarkly's go-sdk-events v3 writes it):
// feature, debug, summary, index, identify, custom and migration_op events,
// posted as JSON arrays to "{Endpoint}/bulk" of a LaunchDarkly-compatible
// events service (in daemon mode, the Relay Proxy inside the network), or
// written to a [Sink].
//
// A [Processor] is what the client records into. Recording never blocks and
// never waits for the network: evaluations that need no full event are only
// counted (a per-flag counter found without allocating), full events go to
// a bounded in-memory queue, and one background goroutine builds a payload
// every flush interval and sends it with LaunchDarkly's retry rule (one
// retry after 1 s on a network error or a 5xx, 400, 408 or 429; 401 and 403
// stop event sending for good; 413 drops only that payload).
//
// # Guarantees
//
//   - Bounded memory: at most Config.Capacity events wait in memory (queued
//     or in an undelivered payload); events over capacity are dropped,
//     counted in [Stats], and logged once per change between accepting and
//     dropping. Summary counters take constant memory per flag version.
//   - Order: payloads are delivered in the order they were built; with a
//     spool directory, payloads that could not be delivered are written to
//     disk (bounded in bytes) and resent, oldest first, before newer ones,
//     also after a restart.
//   - Privacy: private attributes (per context, global, or all) are removed
//     from every context written and listed in "_meta.redactedAttributes";
//     anonymous contexts in feature, custom and migration_op events keep only
//     kind, key and anonymous (debug, index and identify events keep their
//     attributes, as LaunchDarkly's SDK writes them). Contexts, their attributes and the SDK key never appear in a
//     log line.
//   - Payload IDs: every payload has a random (version 4) UUID in
//     X-LaunchDarkly-Payload-ID, the same on its retry and when it is resent
//     from the spool.
package events
