package client

import (
	"fmt"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// TrackEvent records a custom event (LaunchDarkly's TrackEvent) for ec,
// with no data and no metric value: a "custom" event with the context's
// keys, and an index event if the context was not seen recently. It never
// blocks. With events off it does nothing and returns nil. It returns an
// error matching [ErrInvalidContext] for an invalid context and
// [ErrClientNotReady] after Close.
func (c *Client) TrackEvent(key string, ec evalctx.Context) error {
	return c.track(key, ec, jsonvalue.Null(), nil)
}

// TrackData is [Client.TrackEvent] with data attached to the event (null
// data is left out).
func (c *Client) TrackData(key string, ec evalctx.Context, data jsonvalue.Value) error {
	return c.track(key, ec, data, nil)
}

// TrackMetric is [Client.TrackEvent] with a numeric metric value (for
// LaunchDarkly's numeric metrics and experiments) and optional data.
func (c *Client) TrackMetric(key string, ec evalctx.Context, metricValue float64, data jsonvalue.Value) error {
	return c.track(key, ec, data, &metricValue)
}

func (c *Client) track(key string, ec evalctx.Context, data jsonvalue.Value, metric *float64) error {
	if err := c.eventInputError(ec); err != nil {
		return err
	}
	c.events.RecordCustom(events.Custom{Key: key, Context: ec, Data: data, MetricValue: metric})
	return nil
}

// Identify records an identify event with ec's attributes (private ones
// redacted), as LaunchDarkly's Identify does. It never blocks; with events
// off it does nothing and returns nil. Errors as [Client.TrackEvent].
func (c *Client) Identify(ec evalctx.Context) error {
	if err := c.eventInputError(ec); err != nil {
		return err
	}
	c.events.RecordIdentify(ec)
	return nil
}

func (c *Client) eventInputError(ec evalctx.Context) error {
	if c.closed.Load() {
		return fmt.Errorf("client: %w: %w", ErrClientNotReady, errClosed)
	}
	if err := ec.Err(); err != nil {
		return fmt.Errorf("client: %w: %w", ErrInvalidContext, err)
	}
	return nil
}

// Flush asks for the queued events to be delivered now, without waiting.
// With events off it does nothing.
func (c *Client) Flush() { c.events.Flush() }

// FlushAndWait delivers the queued events and waits until they are
// delivered (or spooled, or given up on after the retry) or timeout passes.
// It reports whether delivery finished in time; false with events off or
// after Close.
func (c *Client) FlushAndWait(timeout time.Duration) bool { return c.events.FlushAndWait(timeout) }

// EventStats returns the event processor's counters (queue length,
// flushes, drops, deliveries, retries, spool); zero with events off.
func (c *Client) EventStats() events.Stats { return c.events.Stats() }
