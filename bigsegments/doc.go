// Package bigsegments answers big-segment membership questions for the
// evaluator, from a big-segment store that another process (daemonflag's
// writer or a LaunchDarkly Relay Proxy) keeps up to date.
//
// A big segment is a segment with "unbounded": true whose member lists live
// in the store, keyed by a hash of each context key ([store.ContextHash]), rather
// than in the segment's JSON. A stored membership lists the segment
// references ([store.SegmentRef]: "<segmentKey>.g<generation>") a context is
// explicitly included in or excluded from; when a reference is in both, the
// inclusion wins.
//
// A [Manager] sits between the evaluator and a [store.BigSegmentReader]:
//
//   - Memberships are cached per context key in an LRU cache (1000 entries,
//     5 s TTL by default). A context with no stored membership is cached
//     too. Concurrent lookups of one uncached key share one store read, and
//     each read is one store round trip. Store errors are never cached; the
//     evaluation that met one reports STORE_ERROR.
//   - A cached lookup costs no allocation and no hashing: the cache is keyed
//     by the context key, and the hash is computed only on a miss.
//   - A poller reads the store's synchronized-on time (every 5 s by default,
//     never less often than the stale threshold) and derives a [Status]:
//     unavailable when the read fails, stale when the time is older than
//     120 s (by default) or was never set. Listeners hear of every change.
//   - Each lookup reports the status for the evaluation reason: HEALTHY,
//     STALE (the membership is still used), or STORE_ERROR (the lookup
//     failed, or the last status poll did). NOT_CONFIGURED is the
//     evaluator's to give, when it has no big-segment provider at all or a
//     big segment has no generation.
package bigsegments
