// Package relay fills a daemonflag store from LaunchDarkly's streaming or
// polling service, or from a LaunchDarkly Relay Proxy, the way one of
// LaunchDarkly's SDKs in front of a persistent store would: [Run] connects,
// writes the first complete dataset with one Init, and applies every later
// patch and delete as an upsert, keeping the highest version of each item.
// Services then read that store in daemon mode.
//
// The wire formats are LaunchDarkly's: server-sent events "put", "patch" and
// "delete" on the stream (/all), and {"flags": ..., "segments": ...} from
// the polling endpoint (/sdk/latest-all), with the "filter" query parameter
// of payload filters.
//
// What a platform team configures in an SDK's connection is in [Options]:
// service endpoints ([RelayProxyEndpoints]), application metadata, wrapper
// and instance ID headers (X-LaunchDarkly-Tags, -Wrapper, -Instance-Id, as
// LaunchDarkly's SDKs send them), TLS roots, proxies, and LaunchDarkly's
// retry rules ([Recoverable], the normal and extended regimes, the read
// timeout of a silent stream).
//
// Guarantees:
//   - The store is only ever written with complete, valid data: a
//     malformed event or poll (not the JSON described, not valid UTF-8,
//     an item without a whole-number version) writes nothing; an item with
//     an empty key is left out of its dataset with a warning.
//   - An event is held once in memory: read into one buffer, refused as
//     soon as it passes [Options.MaxEventSize], decoded in place (a 50 MB
//     put peaks at about 2x its size).
//   - The relay keeps its last complete dataset and writes it again when
//     the store loses it ([Options.HealInterval]).
//   - The SDK key is never logged or put in an error.
//
// [Stats], [Options.OnUpdate] and [Options.OnFailure] expose what the relay
// does, for health checks and metrics.
package relay
