// Package model is LaunchDarkly's flag and segment data model: the types, a
// JSON decoder and encoder for LaunchDarkly's schema, and the preprocessing
// that turns a decoded item into the immutable form the evaluator reads.
//
// [DecodeFlag] and [DecodeSegment] parse one item, check every field's type
// and preprocess the result: target and segment key sets, `in` value sets
// keyed by JSON type and value, compiled regular expressions, parsed
// semantic versions and parsed timestamps. Invalid documents (malformed
// JSON, a field of the wrong type, a missing key) give a [*DecodeError]
// naming the item's key, the field and the problem; they never panic.
// Invalid clause values (a bad regular expression, version or date) are not
// errors: LaunchDarkly treats them as values that never match.
//
// A decoded [Flag] or [Segment] must not be modified: it is shared between
// goroutines and evaluations without locking. Code that builds items by hand
// instead of decoding them should call [PreprocessFlag] or
// [PreprocessSegment] once before sharing them; items that were never
// preprocessed still evaluate correctly, only more slowly.
//
// Encoding ([Flag.MarshalJSON], [Segment.MarshalJSON]) writes LaunchDarkly's
// canonical form: every field LaunchDarkly defines, in LaunchDarkly's order,
// followed by any fields this package does not know, which are preserved
// byte for byte at every level of the document.
//
// Attribute references follow LaunchDarkly's rule: when the object that owns
// an attribute (a clause, a rollout, a segment rule) has no context kind,
// the attribute is a plain name, so "/a/b" is the attribute literally named
// "/a/b"; with a context kind it is parsed as a reference, so "/a/b" is
// property b of attribute a.
package model
