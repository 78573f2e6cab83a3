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
	normal := backoff{first: r.o.InitialRetryDelay, max: MaxRetryDelay}
	extended := backoff{first: r.o.ExtendedRetryDelay, max: MaxExtendedRetryDelay}
	for {
		r.log.Info("relay: connecting to the stream", "url", r.target)
		up, err := r.streamOnce(ctx)
		r.stats.connected.Store(false)
		if ctx.Err() != nil {
			r.log.Info("relay: stopped")
			return nil
		}
		if up > 0 {
			extended.reset() // the service took the request: the extended regime is over
		}
		if up >= healthyAfter {
			normal.reset()
		}
		r.stats.failures.Add(1)
		if r.o.OnFailure != nil {
			r.o.OnFailure(err)
		}
		var he *HTTPError
		var delay time.Duration
		switch {
		case errors.As(err, &he) && !Recoverable(he.StatusCode):
			if !r.o.KeepRetrying {
				r.log.Error("relay: stopping", "err", err)
				return err
			}
			delay = extended.next()
			r.log.Error("relay: the service refused the stream; trying again later (extended retry)",
				"err", err, "retry_in", delay.Round(time.Millisecond))
		case errors.Is(err, errStreamEnded):
			delay = normal.next()
			r.log.Info("relay: stream ended; connecting again", "url", r.target, "retry_in", delay.Round(time.Millisecond))
		default:
			delay = normal.next()
			r.log.Warn("relay: stream failed; connecting again (the store keeps its data)",
				"url", r.target, "err", err, "retry_in", delay.Round(time.Millisecond))
		}
		if !sleep(ctx, delay) {
			r.log.Info("relay: stopped")
			return nil
		}
	}
}

// streamOnce holds one stream connection until it ends, and returns how
// long it was connected (0: never) and why it ended.
func (r *relay) streamOnce(ctx context.Context) (time.Duration, error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := r.newRequest(cctx, r.target)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("connect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return 0, &HTTPError{URL: r.target, StatusCode: resp.StatusCode}
	}
	start := time.Now()
	r.stats.connections.Add(1)
	r.stats.connected.Store(true)
	r.log.Info("relay: stream connected", "url", r.target)

	body := newWatchdogReader(resp.Body, r.o.ReadTimeout, cancel, r.stats)
	defer body.stop()
	events := newSSEReader(body, r.o.MaxEventSize)
	for {
		ev, err := events.next()
		if err != nil {
			up := time.Since(start)
			switch {
			case body.fired():
				return up, errStreamSilent
			case errors.Is(err, io.EOF):
				return up, errStreamEnded
			case errors.Is(err, errSSETooLarge):
				return up, malformedf("%v", err)
			}
			return up, fmt.Errorf("read: %w", err)
		}
		r.stats.events.Add(1)
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
			return time.Since(start), fmt.Errorf("%q event: %w", ev.Name, err)
		}
		if err := r.apply(ctx, ch, "stream"); err != nil {
			return time.Since(start), err
		}
	}
}

// watchdogReader cancels a connection when no byte arrives for a while.
type watchdogReader struct {
	r       io.Reader
	timeout time.Duration
	timer   *time.Timer
	stats   *Stats
	hit     atomic.Bool
	once    sync.Once
}

func newWatchdogReader(r io.Reader, timeout time.Duration, cancel context.CancelFunc, stats *Stats) *watchdogReader {
	w := &watchdogReader{r: r, timeout: timeout, stats: stats}
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
		w.stats.sawData()
	}
	return n, err
}

func (w *watchdogReader) fired() bool { return w.hit.Load() }

func (w *watchdogReader) stop() { w.once.Do(func() { w.timer.Stop() }) }
