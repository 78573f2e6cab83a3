package relay

import (
	"sync/atomic"
	"time"
)

// Stats holds a relay's counters and connection state, updated by [Run]
// while it runs (set [Options.Stats]) and safe to read from any goroutine
// with [Stats.Snapshot]. The zero value is ready; one Stats should serve
// one Run at a time.
type Stats struct {
	connected, initialized        atomic.Bool
	connections, failures, events atomic.Int64
	writes, reseeds, skipped      atomic.Int64
	lastData                      atomic.Int64 // UnixNano, 0: never
}

// StatsSnapshot is a copy of a [Stats] at one moment.
type StatsSnapshot struct {
	// Connected: a stream is open (streaming), or the last poll succeeded
	// (polling).
	Connected bool
	// Initialized: a complete dataset has been written to the store.
	Initialized bool
	// Connections counts successful stream connections and polls
	// answered with data or 304.
	Connections int64
	// Failures counts failed connections and polls, dropped streams and
	// refused (malformed) data.
	Failures int64
	// Events counts the stream events and poll datasets received.
	Events int64
	// Writes counts the writes to the store (Inits and upserts).
	Writes int64
	// Reseeds counts the times the store had lost the dataset and the
	// relay wrote it again.
	Reseeds int64
	// Skipped counts items left out of a dataset (empty keys).
	Skipped int64
	// LastData is when the service last sent data or a heartbeat (zero:
	// never).
	LastData time.Time
}

// Snapshot returns the current values.
func (s *Stats) Snapshot() StatsSnapshot {
	snap := StatsSnapshot{
		Connected:   s.connected.Load(),
		Initialized: s.initialized.Load(),
		Connections: s.connections.Load(),
		Failures:    s.failures.Load(),
		Events:      s.events.Load(),
		Writes:      s.writes.Load(),
		Reseeds:     s.reseeds.Load(),
		Skipped:     s.skipped.Load(),
	}
	if n := s.lastData.Load(); n != 0 {
		snap.LastData = time.Unix(0, n)
	}
	return snap
}

func (s *Stats) sawData() { s.lastData.Store(time.Now().UnixNano()) }
