package bolt

// WriteCounts reports how many writes were done in place on the standby
// file and how many copied or rebuilt the file.
func (s *Store) WriteCounts() (inPlace, copied int64) {
	return s.inPlaceWrites.Load(), s.copyWrites.Load()
}

// SetForceCopy makes every write copy the live file instead of updating the
// standby file in place.
func (s *Store) SetForceCopy(on bool) { s.forceCopy.Store(on) }
