package bolt

import (
	"context"

	bbolt "go.etcd.io/bbolt"
)

// WriteCounts reports how many writes were done in place on the standby
// file and how many copied or rebuilt the file.
func (s *Store) WriteCounts() (inPlace, copied int64) {
	return s.inPlaceWrites.Load(), s.copyWrites.Load()
}

// SetForceCopy makes every write copy the live file instead of updating the
// standby file in place.
func (s *Store) SetForceCopy(on bool) { s.forceCopy.Store(on) }

// Compactions reports how many writes compacted big-segment runs.
func (s *Store) Compactions() int64 { return s.compactions.Load() }

// Runs reports how many big-segment runs the live file holds under the
// store's prefix.
func (s *Store) Runs() (int, error) {
	n := 0
	err := s.view(context.Background(), func(tx *bbolt.Tx) error {
		if pb := s.bucket(tx); pb != nil {
			n, _ = runStats(pb)
		}
		return nil
	})
	return n, err
}

// WriteCountsForceCopy reports whether SetForceCopy is on.
func (s *Store) WriteCountsForceCopy() bool { return s.forceCopy.Load() }

// ScanChunk is how many memberships ScanMembership reads per read
// transaction.
const ScanChunk = scanChunk

// SetRunMin sets the fewest membership changes that one write puts in a run
// (benchmarks: a huge value measures writes without runs) and returns a
// function that restores it.
func SetRunMin(n int) (restore func()) {
	old := runMin
	runMin = n
	return func() { runMin = old }
}
