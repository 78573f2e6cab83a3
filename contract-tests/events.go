package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// eventsConfig is the harness's "events" configuration. Without it the
// client sends no events, as LaunchDarkly's SDK test services do.
type eventsConfig struct {
	BaseURI                 string   `json:"baseUri"`
	Capacity                *int     `json:"capacity"`
	AllAttributesPrivate    bool     `json:"allAttributesPrivate"`
	GlobalPrivateAttributes []string `json:"globalPrivateAttributes"`
	FlushIntervalMS         *int64   `json:"flushIntervalMs"`
	EnableGzip              *bool    `json:"enableGzip"`
}

// eventsPlan turns the events configuration into the client's; nil
// without one.
func (c *sdkConfig) eventsPlan(ep serviceEndpoints) (*events.Config, error) {
	ec := c.Events
	if ec == nil {
		return nil, nil
	}
	base := firstNonEmpty(ec.BaseURI, ep.Events)
	if base == "" {
		return nil, errors.New("events has no baseUri and serviceEndpoints no events URI (the service never sends to LaunchDarkly itself)")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("events URI %q is not an http(s) URI", base)
	}
	cfg := &events.Config{
		Endpoint:             base,
		SDKKey:               c.Credential,
		AllAttributesPrivate: ec.AllAttributesPrivate,
		PrivateAttributes:    ec.GlobalPrivateAttributes,
		// The harness waits for events only a short while after a flush
		// command; closing must not hang on a receiver that is gone.
		CloseTimeout: 2 * time.Second,
	}
	if ec.Capacity != nil {
		if *ec.Capacity < 0 {
			return nil, errors.New("events.capacity is negative")
		}
		cfg.Capacity = *ec.Capacity
	}
	d, err := millis("events.flushIntervalMs", ec.FlushIntervalMS)
	if err != nil {
		return nil, err
	}
	cfg.FlushInterval = d
	if ec.EnableGzip != nil {
		cfg.Gzip = *ec.EnableGzip
	}
	return cfg, nil
}

// identifyEventParams are the parameters of "identifyEvent".
type identifyEventParams struct {
	Context json.RawMessage `json:"context"`
	User    json.RawMessage `json:"user"`
}

// customEventParams are the parameters of "customEvent".
type customEventParams struct {
	EventKey     string          `json:"eventKey"`
	Context      json.RawMessage `json:"context"`
	User         json.RawMessage `json:"user"`
	Data         jsonvalue.Value `json:"data"`
	OmitNullData bool            `json:"omitNullData"`
	MetricValue  *float64        `json:"metricValue"`
}

func (e *entity) identifyEvent(p *identifyEventParams) (any, error) {
	if p == nil {
		return nil, badRequest("no identifyEvent parameters")
	}
	ec, err := evaluationContext(p.Context, p.User)
	if err != nil {
		return nil, err
	}
	_ = e.client.Identify(ec) // an invalid context sends nothing, as LaunchDarkly's SDKs do
	return nil, nil
}

func (e *entity) customEvent(p *customEventParams) (any, error) {
	if p == nil {
		return nil, badRequest("no customEvent parameters")
	}
	ec, err := evaluationContext(p.Context, p.User)
	if err != nil {
		return nil, err
	}
	switch {
	case p.MetricValue != nil:
		_ = e.client.TrackMetric(p.EventKey, ec, *p.MetricValue, p.Data)
	case p.Data.IsNull() && p.OmitNullData:
		_ = e.client.TrackEvent(p.EventKey, ec)
	default:
		_ = e.client.TrackData(p.EventKey, ec, p.Data)
	}
	return nil, nil
}

// flushEvents delivers the queued events; the harness then waits for
// them at its events endpoint.
func (e *entity) flushEvents(ctx context.Context) (any, error) {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	e.client.FlushAndWait(timeout)
	return nil, nil
}
