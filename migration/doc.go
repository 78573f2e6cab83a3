// Package migration moves a system from an old to a new implementation
// behind a migration flag, as LaunchDarkly's migration flags do (Go SDK v7
// ldmigration and the client's Migrator): a string flag whose value is a
// [Stage] decides which origins are read and written, a [Tracker] measures
// each operation (origins invoked, latency, errors, consistency of reads)
// and sends one "migration_op" analytics event per operation.
//
// The stage table (the first origin listed is authoritative: its result is
// returned):
//
//	stage      reads               writes
//	off        old                 old
//	dualwrite  old                 old, then new
//	shadow     old and new (old)   old, then new
//	live       new and old (new)   new, then old
//	rampdown   new                 new, then old
//	complete   new                 new
//
// When the authoritative write fails the other write is skipped. Reads of
// both origins run concurrently by default ([Concurrent]), or one after the
// other ([Serial]: authoritative first; [Random]: in random order).
// Consistency is checked (with [Config.Compare]) only when both reads
// succeed, and only for a share of the reads: one in the flag's
// migration.checkRatio (default 1, every read; 0 never).
//
// A [Migrator] is built for one operation pair with [NewMigrator]; the client's
// MigrationVariation (package client) is what it evaluates, and gives a
// Tracker for code that runs its own operations.
package migration
