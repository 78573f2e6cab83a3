package relay

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// runPoll polls until ctx is done or the service answers a status that
// retrying cannot fix.
func (r *relay) runPoll(ctx context.Context) error {
	r.log.Info("relay: polling", "url", r.target, "interval", r.o.PollInterval)
	extended := backoff{first: max(r.o.ExtendedRetryDelay, r.o.PollInterval), max: max(MaxExtendedRetryDelay, r.o.PollInterval)}
	etag := ""
	for {
		next, err := r.pollOnce(ctx, etag)
		if ctx.Err() != nil {
			r.log.Info("relay: stopped")
			return nil
		}
		delay := r.o.PollInterval
		if err != nil && r.o.OnFailure != nil {
			r.o.OnFailure(err)
		}
		var he *HTTPError
		switch {
		case errors.As(err, &he) && !Recoverable(he.StatusCode):
			r.stats.connected.Store(false)
			r.stats.failures.Add(1)
			if !r.o.KeepRetrying {
				r.log.Error("relay: stopping", "err", err)
				return err
			}
			delay = extended.next()
			r.log.Error("relay: the service refused the poll; trying again later (extended retry)",
				"err", err, "retry_in", delay.Round(time.Millisecond))
		case err != nil:
			r.stats.connected.Store(false)
			r.stats.failures.Add(1)
			r.log.Warn("relay: poll failed; polling again at the next interval (the store keeps its data)",
				"url", r.target, "err", err, "retry_in", delay)
		default:
			extended.reset()
			etag = next
		}
		if !sleep(ctx, delay) {
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
	req, err := r.newRequest(cctx, r.target)
	if err != nil {
		return etag, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", "gzip")
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
		r.stats.connections.Add(1)
		r.stats.connected.Store(true)
		r.stats.sawData()
		r.log.Debug("relay: poll: not modified", "url", r.target)
		return etag, nil
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return etag, &HTTPError{URL: r.target, StatusCode: resp.StatusCode}
	}
	body, err := r.readBody(resp)
	if err != nil {
		return etag, err
	}
	r.stats.connections.Add(1)
	r.stats.connected.Store(true)
	r.stats.sawData()
	r.stats.events.Add(1)
	ch, err := parseAllData(body)
	if err != nil {
		return etag, err
	}
	if err := r.apply(ctx, ch, "poll"); err != nil {
		return etag, err
	}
	return resp.Header.Get("ETag"), nil
}

// readBody reads a poll response into one buffer, decompressing gzip,
// refusing more than MaxEventSize bytes as soon as it sees them.
func (r *relay) readBody(resp *http.Response) ([]byte, error) {
	var src io.Reader = resp.Body
	size := resp.ContentLength
	switch enc := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, malformedf("gzip: %v", err)
		}
		defer zr.Close()
		src, size = zr, -1
	default:
		return nil, malformedf("unsupported Content-Encoding %q", enc)
	}
	limit := int64(r.o.MaxEventSize)
	buf := make([]byte, 0, min(max(size, 512), limit+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // grow (append's growth)
		}
		n, err := src.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, malformedf("poll response larger than %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) {
				return nil, malformedf("reading the response: %v", err)
			}
			return nil, fmt.Errorf("read: %w", err)
		}
	}
}
