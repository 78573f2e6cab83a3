// Package membership writes big-segment memberships into a store: [Import]
// reads files of context keys (one per line, or one column of a CSV file)
// and adds them to, or removes them from, one generation of a big segment's
// included or excluded set, restartably; [Touch] and [KeepSynchronized] keep
// the synchronized-on time fresh, so clients do not report the data stale.
//
// Memberships are stored in LaunchDarkly's layout: by [store.ContextHash] of
// each context key, as segment references ([store.SegmentRef]), so stores
// written here are read by LaunchDarkly's SDKs and the other way round.
package membership
