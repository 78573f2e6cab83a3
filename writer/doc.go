// Package writer fills daemonflag stores: it loads flag data files,
// validates them, and writes them to any store.Store, once or continuously;
// it upserts and deletes single items, exports a store's dataset, and
// reports what a store holds. The daemonflag command is a thin layer over
// it. Filling a store from LaunchDarkly is package relay's job, and
// importing big-segment memberships is package membership's.
//
// # Flag data files
//
// The input is LaunchDarkly's flag data file format, in JSON or YAML:
//
//	{
//	  "flags":      {"new-ui": {"on": true, "variations": [false, true], "fallthrough": {"variation": 1}, ...}},
//	  "segments":   {"beta":   {"included": ["user-1"], ...}},
//	  "flagValues": {"banner": "hello"}
//	}
//
// Flags and segments are in LaunchDarkly's schema; a flagValues entry is a
// flag that always serves its value. [LoadFiles] merges several files; a key
// defined twice is an error naming both places. Syntax errors give the file,
// line and column.
//
// # Validation
//
// Nothing is written unless the whole dataset is valid ([Validate]): every
// item decodes, every variation index is in range, no prerequisites or
// segments form a cycle, and no prerequisite chain is deeper than the
// evaluator follows ([MaxNesting]). An unknown top-level property of a file
// is an error. References to keys the dataset does not define, unknown
// properties inside an item and invalid "matches" regular expressions are
// warnings, as LaunchDarkly allows them. [WriteOptions.AllowMalformed]
// writes items that decode but are malformed, as LaunchDarkly stores them.
//
// # Safety
//
// A write, sync pass or copy that would delete every live flag of the
// store, or more than half of them, is refused with a *[DeletionError]
// unless AllowDelete is set. [WriteOptions.DryRun] returns the plan
// ([WriteSummary.Changes]) without writing. [Export] and [Inspect] decode
// stored items one by one, so one bad item is named and the rest served.
//
// # Versions
//
// Readers keep the highest version they have seen of each item, so a
// change must come with a higher version. An item that has a "version" keeps
// it. An item without one gets the stored version when its content is
// unchanged and the stored version plus one when it changed. Deleted items
// become tombstones at a higher version, never silent removals.
//
// # Writing
//
// [Write] (or [WriteDataset], with the default options) replaces a store's
// dataset in one Init. [Sync] keeps a store equal to files as they change,
// upserting only what changed (one [store.Batcher] batch per pass where the
// store has it), never writing an invalid dataset, and writing the dataset
// again when the store loses it. [Copy] copies a whole store, big-segment
// memberships included, between any two backends. [UpsertFlag], [UpsertSegment], [DeleteFlag]
// and [DeleteSegment] change one item. [Export] and [Dataset.WriteJSON] turn
// a store's dataset back into a flag data file, so export followed by write
// moves a dataset between stores. [Inspect] reports a store's state.
//
// # Big segments
//
// [Sync] can keep the big-segment synchronized-on time fresh
// ([SyncOptions].TouchBigSegments) with package membership.
package writer
