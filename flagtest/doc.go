// Package flagtest gives tests flags in memory: a store that tests fill
// through builders, and clients that see every change at once. It is
// daemonflag's counterpart of LaunchDarkly's test data source
// (ldtestdata), built on daemonflag's own store contracts, and goes further:
// rules take any clause operator, negated or not, on any context kind;
// fallthroughs and rules serve percentage rollouts and experiments; flags
// have prerequisites; segments (with rules, weights and big-segment
// memberships) can be built too; and flags can be given as JSON, one by
// one or as a whole flag data file.
//
// Three lines in any test:
//
//	td := flagtest.New()
//	td.Update(td.Flag("new-checkout").VariationForAll(true))
//	c := td.Client(t) // a *client.Client on td, closed when the test ends
//
// then pass c (or td, as the store of your own client.Config) to the code
// under test. Call Update again at any time: the next evaluation sees it.
//
// # What is stored
//
// A [TestData] is a [memstore.Store] filled as a writer fills a store: each
// item is encoded with package model's encoder (LaunchDarkly's canonical
// flag JSON), with a version one above the stored one, and written with
// Upsert, so caches, change listeners and [store.Notifier] subscribers see
// the change as they would see a writer's. Deleting writes a tombstone.
// Big-segment memberships go to the store's big-segment side, with the
// synchronized-on time set, so evaluations report HEALTHY.
//
// # Builders
//
// [TestData.Flag] returns a [FlagBuilder], a copy of the flag as last
// updated, or a boolean flag that is on and serves true to everyone for a
// new key. Values are plain Go values (bool, string, numbers, maps, slices,
// anything encoding/json encodes); a value the flag does not have is added
// to its variations. Mistakes (an index out of range, a clause without
// operator, a prerequisite on an unknown flag) are returned by Update,
// which then stores nothing.
package flagtest
