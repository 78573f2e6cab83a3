// Package otel connects daemonflag to OpenTelemetry: a client hook that
// records each evaluation as the feature_flag.evaluation event of
// OpenTelemetry's semantic conventions (v1.40 or later: span events, log
// records, or a span per evaluation), and metrics fed by the client's
// counters (client.Stats) through asynchronous instruments.
//
// It is a separate Go module, so the core module never depends on the
// OpenTelemetry SDK; it uses only the OpenTelemetry API, and the SDK in its
// tests.
//
//	hook := otel.NewHook(otel.HookOptions{})
//	c, err := client.New(client.Config{Store: st, Hooks: []client.Hook{hook}})
//	hook.Bind(c) // gives the hook the flag versions and rollout facts
//	m, err := otel.NewMetrics(otel.MetricsOptions{})
//	err = m.Observe(c)
package otel
