package testwait

import (
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestEventuallyReturnsOnceTrue(t *testing.T) {
	var n atomic.Int32
	go func() {
		for range 3 {
			n.Add(1)
		}
	}()
	Eventually(t, "three increments", func() bool { return n.Load() == 3 })
}

func TestPollGivesUpWithLastError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		start := time.Now()
		err := poll(time.Second, func() error {
			calls++
			return errors.New("still down")
		})
		if err == nil || err.Error() != "still down" {
			t.Fatalf("poll = %v, want the condition's last error", err)
		}
		if waited := time.Since(start); waited < time.Second {
			t.Errorf("poll gave up after %v, want at least 1s", waited)
		}
		if calls < 2 {
			t.Errorf("cond called %d times, want it polled", calls)
		}
	})
}

func TestPollInBubbleSeesTimers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var fired atomic.Bool
		time.AfterFunc(5*time.Second, func() { fired.Store(true) })
		if err := poll(Timeout, func() error {
			if fired.Load() {
				return nil
			}
			return errNotYet
		}); err != nil {
			t.Fatalf("poll: %v", err)
		}
	})
}
