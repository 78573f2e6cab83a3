// Package openfeature is an OpenFeature provider for daemonflag: the
// OpenFeature Go SDK (github.com/open-feature/go-sdk) evaluates flags through
// a daemon-mode [github.com/daemonflag/daemonflag/client.Client] reading a shared store.
//
//	p, err := openfeature.NewFromAddress(ctx, "redis://flags:6379", client.Config{}, openfeature.Options{})
//	if err != nil { ... }
//	if err := of.SetProviderAndWait(p); err != nil { ... } // waits for the store's dataset
//	ofClient := of.NewDefaultClient()
//	on, err := ofClient.BooleanValue(ctx, "new-checkout", false, of.NewEvaluationContext("user-123", map[string]any{"email": "ann@example.com"}))
//
// This is a separate Go module, so the core module never depends on the
// OpenFeature SDK.
//
// # Contexts
//
// [ToContext] maps the SDK's flattened evaluation context to a
// LaunchDarkly-model context: "targetingKey" (else "key") is the key, "kind"
// the kind (default "user"), "kind": "multi" makes each top-level object a
// context of the kind its attribute names; "anonymous", "name" and
// "privateAttributes" are built-in properties; everything else is a custom
// attribute. A context that cannot be mapped is TARGETING_KEY_MISSING or
// INVALID_CONTEXT, with a message naming the attribute.
//
// # Results
//
// The variant is the variation index as a string ("" when the caller's
// default was served). Reasons are OpenFeature's standard ones (see
// [Reason]); while the store is unavailable, or has lost its dataset, and
// the client serves the last good values, the reason is STALE. Errors map
// to FLAG_NOT_FOUND, TYPE_MISMATCH, PARSE_ERROR (a malformed flag),
// TARGETING_KEY_MISSING, INVALID_CONTEXT, PROVIDER_NOT_READY (a closed
// client, or a store holding no dataset) and GENERAL (the store failed with
// nothing cached). Flag metadata carries LaunchDarkly's detail: the Meta*
// keys.
//
// Integer evaluation truncates a value with a fraction toward zero, as
// LaunchDarkly's IntVariation does; object evaluation returns JSON objects
// as map[string]any and arrays as []any, and any other JSON type is
// TYPE_MISMATCH.
//
// # Events and state
//
// Initialization waits (at most Options.InitTimeout) for the store to hold
// a dataset; the SDK then emits PROVIDER_READY, or PROVIDER_ERROR when it
// does not. Afterwards the provider emits its own events for every change of
// the store's state: PROVIDER_STALE when the store becomes unavailable (or
// loses its dataset) while the client serves the last good values,
// PROVIDER_ERROR when there is nothing to serve, PROVIDER_READY when the
// store is back; and PROVIDER_CONFIGURATION_CHANGED, with the keys in
// FlagChanges, once per store update that changes flags (found by the
// client's change listeners). The Go SDK (v1.20) itself emits the event of
// initialization's outcome, so the provider does not repeat it.
//
// # Tracking
//
// [Provider.Track] implements OpenFeature's tracking API; see its
// documentation.
package openfeature
