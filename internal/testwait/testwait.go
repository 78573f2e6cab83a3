// Package testwait waits, in tests, for something to happen: the one
// "eventually" helper of the repository's tests. It polls with a ticker, so
// it also works inside a testing/synctest bubble, where the clock advances
// only while every goroutine of the bubble is blocked.
package testwait

import (
	"testing"
	"time"
)

// Timeout is how long [Eventually] waits before failing the test: generous,
// because a condition that holds returns at once and only a failing test
// waits this long, on a machine that may be loaded.
const Timeout = 20 * time.Second

// pollInterval is how often conditions are checked.
const pollInterval = 2 * time.Millisecond

// Eventually calls cond until it returns true, and fails t with
// "timed out waiting for <what>" if it has not after [Timeout].
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	if err := poll(Timeout, func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}); err != nil {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// EventuallyNil calls cond until it returns nil, and fails t with the last
// error it returned if it has not within the given time (zero: [Timeout]).
func EventuallyNil(t testing.TB, what string, within time.Duration, cond func() error) {
	t.Helper()
	if within <= 0 {
		within = Timeout
	}
	if err := poll(within, cond); err != nil {
		t.Fatalf("%s: not within %v: %v", what, within, err)
	}
}

type notYet struct{}

func (notYet) Error() string { return "condition not met" }

var errNotYet error = notYet{}

// poll calls cond at once and then every pollInterval until it returns nil
// or the time is up, returning its last error.
func poll(within time.Duration, cond func() error) error {
	err := cond()
	if err == nil {
		return nil
	}
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		<-tick.C
		if err = cond(); err == nil {
			return nil
		}
	}
	return err
}
