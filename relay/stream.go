package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// errStreamEnded reports that the service closed the stream.
var errStreamEnded = errors.New("the service closed the stream")

// errStreamSilent reports a stream that stayed silent for ReadTimeout.
var errStreamSilent = errors.New("no data or heartbeat within the read timeout")

// runStream connects to the stream and keeps connecting again until ctx is
// done or the service answers a status that retrying cannot fix.
func (r *relay) runStream(ctx context.Context) error {
	attempt := 0
	for {
		r.log.Info("relay: connecting to the stream", "url", r.stream)
		start := time.Now()
		err := r.streamOnce(ctx)
		if ctx.Err() != nil {
			r.log.Info("relay: stopped")
			return nil
		}
		var he *HTTPError
		if errors.As(err, &he) && !recoverableStatus(he.StatusCode) {
			r.log.Error("relay: stopping", "err", err)
			return err
		}
		if time.Since(start) >= healthyAfter {
			attempt = 0
		}
		delay := r.retryDelay(attempt)
		attempt++
		args := []any{"url", r.stream, "err", err, "retry_in", delay.Round(time.Millisecond)}
		if errors.Is(err, errStreamEnded) {
			r.log.Info("relay: stream ended; connecting again", args...)
		} else {
			r.log.Warn("relay: stream failed; connecting again (the store keeps its data)", args...)
		}
		if !sleep(ctx, delay) {
			r.log.Info("relay: stopped")
			return nil
		}
	}
}

// streamOnce holds one stream connection until it ends, and returns why.
func (r *relay) streamOnce(ctx context.Context) error {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := r.newRequest(cctx, r.stream)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &HTTPError{URL: r.stream, StatusCode: resp.StatusCode}
	}
	r.log.Info("relay: stream connected", "url", r.stream)

	body := newWatchdogReader(resp.Body, r.o.ReadTimeout, cancel)
	defer body.stop()
	events := newSSEReader(body, r.o.MaxEventSize)
	for {
		ev, err := events.next()
		if err != nil {
			switch {
			case body.fired():
				return errStreamSilent
			case errors.Is(err, io.EOF):
				return errStreamEnded
			case errors.Is(err, errSSETooLarge):
				return malformedf("%v", err)
			}
			return fmt.Errorf("read: %w", err)
		}
		var ch change
		switch ev.Name {
		case "put":
			ch, err = parsePut(ev.Data)
		case "patch":
			ch, err = parsePatch(ev.Data)
		case "delete":
			ch, err = parseDelete(ev.Data)
		default:
			r.log.Debug("relay: ignoring an unknown event", "event", ev.Name)
			continue
		}
		if errors.Is(err, errIgnored) {
			r.log.Debug("relay: ignoring an event", "event", ev.Name, "why", err)
			continue
		}
		if err != nil {
			return fmt.Errorf("%q event: %w", ev.Name, err)
		}
		if err := r.apply(ctx, ch, "stream"); err != nil {
			return err
		}
	}
}

// watchdogReader cancels a connection when no byte arrives for a while.
type watchdogReader struct {
	r       io.Reader
	timeout time.Duration
	timer   *time.Timer
	hit     atomic.Bool
	once    sync.Once
}

func newWatchdogReader(r io.Reader, timeout time.Duration, cancel context.CancelFunc) *watchdogReader {
	w := &watchdogReader{r: r, timeout: timeout}
	w.timer = time.AfterFunc(timeout, func() {
		w.hit.Store(true)
		cancel()
	})
	return w
}

func (w *watchdogReader) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.timer.Reset(w.timeout)
	}
	return n, err
}

func (w *watchdogReader) fired() bool { return w.hit.Load() }

func (w *watchdogReader) stop() { w.once.Do(func() { w.timer.Stop() }) }
