package openfeature

import (
	"context"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// Track records a custom event through the client's analytics events
// (client.TrackMetric, or client.TrackData when the value is 0): the event's
// name is its key, details.Value() its metric value, and the details'
// attributes its data (a JSON object; none without attributes). The Go SDK
// cannot tell a value of 0 from no value, so 0 is sent as no metric value.
// Without events configured in the client (client.Config.Events) it does
// nothing. It never blocks. A context that cannot be mapped, or attributes
// that are not JSON, drop the event (Track has no way to report an error).
func (p *Provider) Track(_ context.Context, name string, evalCtx of.EvaluationContext, details of.TrackingEventDetails) {
	flat := of.FlattenedContext(evalCtx.Attributes())
	if k := evalCtx.TargetingKey(); k != "" {
		flat[of.TargetingKey] = k
	}
	ec, cerr := toContext(flat)
	if cerr != nil {
		return
	}
	var data jsonvalue.Value
	if attrs := details.Attributes(); len(attrs) > 0 {
		v, err := jsonvalue.FromAny(attrs)
		if err != nil {
			return
		}
		data = v
	}
	if v := details.Value(); v != 0 {
		_ = p.client.TrackMetric(name, ec, v, data)
		return
	}
	_ = p.client.TrackData(name, ec, data)
}
