package relay

import "time"

// SetMinPollInterval lowers the minimum poll interval for a test and
// returns the function that restores it.
func SetMinPollInterval(d time.Duration) (restore func()) {
	old := minPollInterval
	minPollInterval = d
	return func() { minPollInterval = old }
}
