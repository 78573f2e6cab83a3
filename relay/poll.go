package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// runPoll polls until ctx is done or the service answers a status that
// retrying cannot fix.
func (r *relay) runPoll(ctx context.Context) error {
	r.log.Info("relay: polling", "url", r.poll, "interval", r.o.PollInterval)
	etag := ""
	for {
		next, err := r.pollOnce(ctx, etag)
		if ctx.Err() != nil {
			r.log.Info("relay: stopped")
			return nil
		}
		var he *HTTPError
		switch {
		case errors.As(err, &he) && !recoverableStatus(he.StatusCode):
			r.log.Error("relay: stopping", "err", err)
			return err
		case err != nil:
			r.log.Warn("relay: poll failed; polling again at the next interval (the store keeps its data)",
				"url", r.poll, "err", err, "retry_in", r.o.PollInterval)
		default:
			etag = next
		}
		if !sleep(ctx, r.o.PollInterval) {
			r.log.Info("relay: stopped")
			return nil
		}
	}
}

// pollOnce makes one poll and writes a new dataset; it returns the ETag to
// send next time.
func (r *relay) pollOnce(ctx context.Context, etag string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	req, err := r.newRequest(cctx, r.poll)
	if err != nil {
		return etag, err
	}
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return etag, fmt.Errorf("request: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		r.log.Debug("relay: poll: not modified", "url", r.poll)
		return etag, nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return etag, &HTTPError{URL: r.poll, StatusCode: resp.StatusCode}
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return etag, fmt.Errorf("read: %w", err)
	}
	all, err := parseAllData(body)
	if err != nil {
		return etag, err
	}
	if err := r.apply(ctx, change{all: all}, "poll"); err != nil {
		return etag, err
	}
	return resp.Header.Get("ETag"), nil
}
