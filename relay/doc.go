// Package relay fills a daemonflag store from LaunchDarkly's streaming or
// polling service, or from a LaunchDarkly Relay Proxy, the way one of
// LaunchDarkly's SDKs in front of a persistent store would: [Run] connects,
// writes the first complete dataset with one Init, and applies every later
// patch and delete as an upsert, keeping the highest version of each item.
// Services then read that store in daemon mode.
//
// The wire formats are LaunchDarkly's: server-sent events "put", "patch" and
// "delete" on the stream (/all), and {"flags": ..., "segments": ...} from
// the polling endpoint (/sdk/latest-all).
package relay
