package integration

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// syncInterval is the writer's polling interval (and first retry delay).
const syncInterval = 100 * time.Millisecond

// startSync starts `daemonflag sync` on files.
func startSync(t testing.TB, name, addr string, files []string) *proc {
	t.Helper()
	args := append([]string{"sync", "--store", addr, "--interval", syncInterval.String()}, files...)
	return startProc(t, name, daemonflagBin(t), args, procOptions{env: childEnv()})
}

// writeOnce runs `daemonflag write` on files and fails the test unless it
// succeeds.
func writeOnce(t testing.TB, addr string, files ...string) runResult {
	t.Helper()
	args := append([]string{"write", "--store", addr}, files...)
	return mustRun(t, 2*time.Minute, childEnv(), daemonflagBin(t), args...)
}

// versionWatch records, from the test process, when a flag's stored
// version changes: the moment the writer's write became visible in the
// store.
type versionWatch struct {
	changes chan versionChange
	stop    context.CancelFunc
	done    chan struct{}
}

type versionChange struct {
	version int
	at      time.Time
}

// watchVersion polls the store for key's version every few milliseconds
// until stopped (or for at most five minutes).
func watchVersion(t testing.TB, s store.Reader, key string) *versionWatch {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	w := &versionWatch{changes: make(chan versionChange, 1000), stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := -1
		for ctx.Err() == nil {
			rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
			it, found, err := s.Get(rctx, store.Features, key)
			rcancel()
			if err == nil && found && it.Version != last {
				last = it.Version
				select {
				case w.changes <- versionChange{it.Version, time.Now()}:
				default:
				}
			}
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(w.close)
	return w
}

func (w *versionWatch) close() {
	w.stop()
	<-w.done
}

// next waits for the next version change, up to timeout.
func (w *versionWatch) next(timeout time.Duration) (versionChange, bool) {
	select {
	case c := <-w.changes:
		return c, true
	case <-time.After(timeout):
		return versionChange{}, false
	}
}

// distribution summarizes durations for a log line.
func distribution(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	r := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	return fmt.Sprintf("n=%d min=%s p50=%s p90=%s p99=%s max=%s",
		len(s), r(s[0]), r(q(0.5)), r(q(0.9)), r(q(0.99)), r(s[len(s)-1]))
}
