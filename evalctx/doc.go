// Package evalctx provides evaluation contexts: the users, organizations,
// devices or other entities that feature flags are evaluated for, in
// LaunchDarkly's context model.
//
// A single context has a kind (default "user"), a non-empty key, an optional
// name, an anonymous flag, custom attributes of any JSON type, and a list of
// attributes marked private. A multi-kind context holds several single
// contexts of distinct kinds, such as a user and the organization they act
// for. Build contexts with [New], [NewWithKind], [NewBuilder] and
// [NewMultiBuilder], or read them from JSON with [Parse], which accepts
// LaunchDarkly's current format and the old user format of its older SDKs.
//
// Contexts are immutable values, safe to share between goroutines. Building
// never panics: a context that breaks a rule (an invalid kind, an empty key,
// two contexts of one kind) is returned anyway, and its [Context.Err] says
// what is wrong; the evaluator reports such a context as an error instead of
// evaluating it.
//
// Flag rules address attributes with a [Ref]: an attribute name, or a
// "/"-separated path into a JSON object attribute ("/address/city"). The
// lookups an evaluator makes ([Context.IndividualContextByKind],
// [Context.GetValueForRef], [Context.FullyQualifiedKey], [Context.Kind],
// [Context.Key]) do not allocate.
package evalctx
