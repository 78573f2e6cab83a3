package events

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// payload is a built batch: its ID, its JSON and its event counts.
type payload struct {
	id      string
	body    []byte // the JSON array, uncompressed
	events  int    // events other than the summary
	count   int    // all events, the summary included
	spooled bool   // read from the spool
}

// outcome is the result of one delivery.
type outcome int

const (
	delivered outcome = iota // accepted
	failed                   // not delivered; try again later
	rejected                 // 413: this payload can never be delivered
	stopped                  // 401, 403 or another unrecoverable status: stop sending
)

// retryDelay is LaunchDarkly's wait before the one retry of a payload.
const retryDelay = time.Second

// deliver sends p, retrying once after retryDelay on a recoverable
// failure. It returns the outcome and, for a failure, what went wrong
// (without the SDK key or the endpoint's credentials).
func (pr *Processor) deliver(ctx context.Context, p *payload) (outcome, error) {
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			pr.stats.retried.Add(1)
			t := time.NewTimer(pr.s.retryDelay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return failed, ctx.Err()
			}
		}
		out, err := pr.attempt(ctx, p)
		if out != failed {
			return out, err
		}
		lastErr = err
	}
	return failed, lastErr
}

func (pr *Processor) attempt(ctx context.Context, p *payload) (outcome, error) {
	s := pr.s
	if s.Sink != nil {
		err := s.Sink.WritePayload(ctx, Payload{ID: p.id, Events: p.body, Count: p.count, Unsummarized: s.Unsummarized})
		if err != nil {
			return failed, err
		}
		return delivered, nil
	}
	body := p.body
	if s.Gzip {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		_ = zw.Close()
		body = buf.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.bulkURL, bytes.NewReader(body))
	if err != nil {
		return stopped, fmt.Errorf("building the request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	if s.SDKKey != "" {
		h.Set("Authorization", s.SDKKey)
	}
	h.Set("User-Agent", s.UserAgent)
	h.Set("X-LaunchDarkly-Event-Schema", "4")
	h.Set("X-LaunchDarkly-Payload-ID", p.id)
	if s.Gzip {
		h.Set("Content-Encoding", "gzip")
	}
	for k, v := range s.meta {
		h[k] = v
	}
	if s.Unsummarized {
		h.Set("X-LaunchDarkly-Unsummarized", "true")
	}
	resp, err := s.HTTPClient.Do(req)
	if err != nil {
		return failed, fmt.Errorf("posting events: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if d := resp.Header.Get("Date"); d != "" {
		if t, err := http.ParseTime(d); err == nil {
			pr.lastServerTime.Store(t.UnixMilli())
		}
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return delivered, nil
	case code == http.StatusRequestEntityTooLarge:
		return rejected, fmt.Errorf("the events service answered %d (payload too large)", code)
	case code >= 500 || code == 400 || code == 408 || code == 429:
		return failed, fmt.Errorf("the events service answered %d", code)
	default:
		return stopped, fmt.Errorf("the events service answered %d", code)
	}
}
