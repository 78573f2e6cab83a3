package relay

import (
	"context"
	"math/rand/v2"
	"time"
)

// backoff is one retry regime: a first delay doubling up to a maximum,
// each delay less a random part of up to a half (LaunchDarkly's
// subtractive jitter).
type backoff struct {
	first, max time.Duration
	attempt    int
}

// next returns the delay before the next attempt and counts it.
func (b *backoff) next() time.Duration {
	d := b.first
	for i := 0; i < b.attempt && d < b.max; i++ {
		d *= 2
	}
	d = min(d, max(b.max, b.first))
	b.attempt++
	return d/2 + rand.N(d/2+1)
}

func (b *backoff) reset() { b.attempt = 0 }

// sleep waits for d or until ctx is done, and reports whether ctx is still
// going.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
