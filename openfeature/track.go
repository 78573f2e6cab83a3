package openfeature

import (
	"context"

	of "github.com/open-feature/go-sdk/openfeature"
)

// Track records a custom event (OpenFeature's tracking API). daemonflag's
// client sends no analytics events yet, so Track does nothing; it never
// blocks.
func (p *Provider) Track(_ context.Context, _ string, _ of.EvaluationContext, _ of.TrackingEventDetails) {
}
