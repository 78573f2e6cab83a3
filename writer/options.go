package writer

// WriteOptions configures [Write]. The zero value is the safe default: a
// write that would delete most of the store's flags is refused, every
// validation error stops the write, and the write happens.
type WriteOptions struct {
	// AllowDelete lets a write delete every live flag of the store, or more
	// than half of them. False: such a write returns a *[DeletionError] and
	// writes nothing (a misspelt or emptied file, or the export of a wrong
	// prefix, would otherwise wipe the store).
	AllowDelete bool

	// AllowMalformed writes items that decode as LaunchDarkly flags and
	// segments but that validation calls malformed (a variation index out
	// of range, a prerequisite or segment cycle, a prerequisite chain deeper
	// than the evaluator follows, a clause without a valid attribute, a
	// rule that serves nothing). LaunchDarkly stores such items, and its
	// evaluator (like daemonflag's) answers MALFORMED_FLAG for them, so a
	// dataset a LaunchDarkly Relay Proxy wrote can be moved with
	// [Export] and Write. Each such item is reported in
	// [WriteSummary.Warnings]. Items that do not decode (syntax, types)
	// stay errors. False: malformed items are errors.
	AllowMalformed bool

	// DryRun computes what the write would do ([WriteSummary.Changes])
	// and writes nothing. The deletion guard still applies: a dry run of a
	// write that would be refused returns the same error, with the plan.
	DryRun bool
}
