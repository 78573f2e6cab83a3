// Package evaluation is the flag evaluator: given a preprocessed flag
// ([model.Flag]), an evaluation context ([evalctx.Context]) and access to
// other flags, segments and big-segment memberships, it produces the value,
// variation index and reason LaunchDarkly's evaluator produces, for every
// input.
//
// The rules LaunchDarkly defines and this package follows:
//   - an off flag serves its off variation, or no value with reason OFF;
//     any variation index out of range is ERROR/MALFORMED_FLAG;
//   - prerequisites are evaluated in order, recursively; a failure reports
//     the direct prerequisite; an off prerequisite always fails; a cycle is
//     MALFORMED_FLAG (a diamond is not a cycle);
//   - individual targets, then rules in order, then the fallthrough;
//   - clauses: a missing attribute or context kind never matches, even
//     negated; an unknown operator never matches; "kind" tests the context
//     kinds; arrays match when any element does (see
//     [model.Clause.MatchValue] for the operators);
//   - segments: included beats excluded, then rules (with optional weights
//     and nested segmentMatch); a segment cycle is MALFORMED_FLAG; big
//     segments are looked up through a [BigSegmentProvider] at most once per
//     context key, and the worst status seen goes into the reason;
//   - rollouts and experiments bucket with SHA-1 exactly as LaunchDarkly
//     does, so every context lands in the same bucket as with
//     LaunchDarkly's SDKs.
//
// The evaluator holds no state between evaluations and is safe for
// concurrent use. Evaluations of preprocessed flags do not allocate on the
// common paths; a [Detail] and its [Reason] are returned by value.
//
// [CheckType] and [TypedDetail] give typed variation calls (bool, int,
// double, string) LaunchDarkly's WRONG_TYPE behaviour.
package evaluation
