package memstore

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// members is one context hash's membership, as sets.
type members struct {
	included map[string]struct{}
	excluded map[string]struct{}
}

func (m *members) membership() store.Membership {
	return store.Membership{Included: sortedSet(m.included), Excluded: sortedSet(m.excluded)}
}

func sortedSet(set map[string]struct{}) []string {
	if len(set) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(set))
}

// Membership implements [store.BigSegmentReader]. The references come
// sorted.
func (s *Store) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	if err := s.check(ctx); err != nil {
		return store.Membership{}, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	if m := s.d.members[contextHash]; m != nil {
		return m.membership(), nil
	}
	return store.Membership{}, nil
}

// SynchronizedOn implements [store.BigSegmentReader], with millisecond
// precision as the LaunchDarkly layouts keep it.
func (s *Store) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(ctx); err != nil {
		return time.Time{}, false, err
	}
	s.d.mu.RLock()
	defer s.d.mu.RUnlock()
	return s.d.syncOn, s.d.hasSyncOn, nil
}

// ApplyMembership implements [store.BigSegmentWriter]: the changes apply in
// order, all under one lock.
func (s *Store) ApplyMembership(ctx context.Context, changes []store.MembershipChange) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, c := range changes {
		m := s.d.members[c.ContextHash]
		if m == nil {
			if c.Remove {
				continue
			}
			m = &members{included: map[string]struct{}{}, excluded: map[string]struct{}{}}
			s.d.members[c.ContextHash] = m
		}
		set := m.included
		if c.Excluded {
			set = m.excluded
		}
		if c.Remove {
			delete(set, c.SegmentRef)
		} else {
			set[c.SegmentRef] = struct{}{}
		}
		if len(m.included) == 0 && len(m.excluded) == 0 {
			delete(s.d.members, c.ContextHash)
		}
	}
	return nil
}

// SetSynchronizedOn implements [store.BigSegmentWriter].
func (s *Store) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.syncOn = time.UnixMilli(t.UnixMilli())
	s.d.hasSyncOn = true
	return nil
}

// ScanMembership implements [store.MembershipScanner]. It works on a
// snapshot taken when it starts, so fn may write to the store.
func (s *Store) ScanMembership(ctx context.Context, fn func(contextHash string, m store.Membership) error) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	s.d.mu.RLock()
	snap := make(map[string]store.Membership, len(s.d.members))
	for h, m := range s.d.members {
		snap[h] = m.membership()
	}
	s.d.mu.RUnlock()
	for _, h := range slices.Sorted(maps.Keys(snap)) {
		if err := fn(h, snap[h]); err != nil {
			return err
		}
	}
	return nil
}
