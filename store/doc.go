// Package store declares the contracts between daemonflag and its persistent
// stores, in the manner of database/sql/driver: a small read side that the
// client needs, a small write side that the writer needs, and optional extras
// (availability probe, big segments) that callers discover with a type
// assertion.
//
// Items cross these contracts serialized, as LaunchDarkly's persistent-store
// interface moves them: the item's JSON bytes with its version and deleted
// flag. Backends never decode flags or segments; the only thing they read from
// an item's JSON is its "version" and "deleted" fields (see [ParseVersion]),
// which the LaunchDarkly layouts require for conditional writes.
//
// Every method takes a [context.Context]. Every backend is safe for concurrent
// use by multiple goroutines, and documents in its package doc what it
// guarantees to readers in other processes.
package store
