package bolt

import (
	"bytes"
	"context"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Big-segment reads: a membership is the base's, with every run applied.

// Membership returns the big-segment membership of a context hash.
func (s *Store) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	var m store.Membership
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		pb := s.bucket(tx)
		if pb == nil || contextHash == "" {
			return nil
		}
		var err error
		if m, err = lookupMembership(pb, bytesOf(contextHash)); err != nil {
			return fmt.Errorf("bolt membership %q: %w", contextHash, err)
		}
		return nil
	})
	return m, err
}

// SynchronizedOn returns when a writer last declared the big-segment data up
// to date, to the millisecond.
func (s *Store) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	return s.readTime(ctx, syncOnKey, "bolt synchronized-on")
}

// scanChunk is how many memberships ScanMembership reads per read
// transaction; fn runs outside transactions, so it may write to the store.
const scanChunk = 1024

// ScanMembership calls fn for each context hash with a stored membership, in
// hash order. Each hash is reported once; a write during the scan may or may
// not be seen.
func (s *Store) ScanMembership(ctx context.Context, fn func(contextHash string, m store.Membership) error) error {
	type entry struct {
		hash string
		m    store.Membership
	}
	var after []byte
	for {
		var chunk []entry
		err := s.view(ctx, func(tx *bbolt.Tx) error {
			pb := s.bucket(tx)
			if pb == nil {
				return nil
			}
			var sc memberScratch
			err := merge(levels(pb, after, false), &sc, false, func(h []byte) (bool, error) {
				if !sc.empty(false) {
					chunk = append(chunk, entry{string(h), sc.membership()})
				}
				return len(chunk) < scanChunk, nil
			})
			if err != nil {
				return fmt.Errorf("bolt scan membership: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := fn(e.hash, e.m); err != nil {
				return err
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		after = []byte(chunk[len(chunk)-1].hash)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// lookupMembership returns the membership of hash in the prefix bucket pb:
// the base's, with every run's changes applied.
func lookupMembership(pb *bbolt.Bucket, hash []byte) (store.Membership, error) {
	var base []byte
	if b := pb.Bucket(bigSegmentsBucket); b != nil {
		var err error
		if base, err = findMembership(b, hash); err != nil {
			return store.Membership{}, err
		}
	}
	runs := pb.Bucket(runsBucket)
	if runs == nil {
		if base == nil {
			return store.Membership{}, nil
		}
		return decodeMembership(base)
	}
	var sc memberScratch
	if base != nil && !sc.apply(base) {
		return store.Membership{}, fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
	}
	c := runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		rb := runs.Bucket(k)
		if v != nil || rb == nil {
			continue
		}
		d, err := findMembership(rb, hash)
		if err == nil && d != nil && !sc.apply(d) {
			err = fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
		}
		if err != nil {
			return store.Membership{}, fmt.Errorf("run %x: %w", k, err)
		}
	}
	return sc.membership(), nil
}

// findMembership returns the membership value of hash in the membership
// bucket b (nil when there is none).
func findMembership(b *bbolt.Bucket, hash []byte) ([]byte, error) {
	k, v := b.Cursor().Seek(hash)
	if k == nil || v == nil {
		return nil, nil
	}
	it := newEntryIter(k, v)
	for {
		h, m, ok := it.next()
		if !ok {
			return nil, it.err
		}
		switch c := bytes.Compare(h, hash); {
		case c == 0:
			return m, nil
		case c > 0:
			return nil, nil
		}
	}
}

// level iterates the entries of one membership bucket in hash order. A
// lenient level skips damaged blocks; otherwise it stops at one, with err.
type level struct {
	c       *bbolt.Cursor
	lenient bool
	it      entryIter
	hash    []byte
	val     []byte
	ok      bool
	err     error
}

// seek positions l at the first entry after after (the first entry when
// after is nil).
func (l *level) seek(after []byte) {
	var k, v []byte
	if after == nil {
		k, v = l.c.First()
	} else {
		k, v = l.c.Seek(after)
	}
	l.start(k, v)
	for l.ok && after != nil && bytes.Compare(l.hash, after) <= 0 {
		l.next()
	}
}

func (l *level) start(k, v []byte) {
	for {
		for k != nil && v == nil {
			k, v = l.c.Next() // nested buckets: none are written
		}
		if k == nil {
			l.ok = false
			return
		}
		l.it = newEntryIter(k, v)
		if l.hash, l.val, l.ok = l.it.next(); l.ok || !l.damaged() {
			return
		}
		k, v = l.c.Next()
	}
}

func (l *level) next() {
	if l.hash, l.val, l.ok = l.it.next(); l.ok {
		return
	}
	if !l.damaged() {
		l.start(l.c.Next())
	}
}

// damaged reports whether the iteration of the current block stopped at
// damage that ends the level's iteration (in a lenient level, none does).
func (l *level) damaged() bool {
	if l.it.err == nil || l.lenient {
		return false
	}
	l.err = fmt.Errorf("block %q: %w", l.it.key, l.it.err)
	return true
}

// levels returns iterators over the base and the runs of the prefix bucket
// pb, oldest first, positioned after after.
func levels(pb *bbolt.Bucket, after []byte, lenient bool) []*level {
	var ls []*level
	if pb == nil {
		return nil
	}
	if b := pb.Bucket(bigSegmentsBucket); b != nil {
		ls = append(ls, &level{c: b.Cursor(), lenient: lenient})
	}
	if runs := pb.Bucket(runsBucket); runs != nil {
		c := runs.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v != nil {
				continue
			}
			if rb := runs.Bucket(k); rb != nil {
				ls = append(ls, &level{c: rb.Cursor(), lenient: lenient})
			}
		}
	}
	for _, l := range ls {
		l.seek(after)
	}
	return ls
}

// merge calls fn with each context hash that any level holds, in order,
// after applying every level's value of it to sc (reset before each), until
// fn returns false or an error. A damaged block is an error, unless the
// levels are lenient; so is a malformed value, unless lenient is set, when
// it is skipped.
func merge(ls []*level, sc *memberScratch, lenient bool, fn func(hash []byte) (bool, error)) error {
	for {
		var low []byte
		for _, l := range ls {
			if l.err != nil {
				return l.err
			}
			if l.ok && (low == nil || bytes.Compare(l.hash, low) < 0) {
				low = l.hash
			}
		}
		if low == nil {
			return nil
		}
		sc.reset()
		for _, l := range ls {
			if l.ok && bytes.Equal(l.hash, low) {
				if !sc.apply(l.val) && !lenient {
					return fmt.Errorf("%q: %w: %w", low, store.ErrMalformedItem, errBadMembership)
				}
				l.next()
			}
		}
		if more, err := fn(low); err != nil || !more {
			return err
		}
	}
}

// runStats returns the number of runs in the prefix bucket pb and the
// memberships they hold.
func runStats(pb *bbolt.Bucket) (n int, entries uint64) {
	runs := pb.Bucket(runsBucket)
	if runs == nil {
		return 0, 0
	}
	c := runs.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v != nil {
			continue
		}
		if rb := runs.Bucket(k); rb != nil {
			n++
			entries += rb.Sequence()
		}
	}
	return n, entries
}
