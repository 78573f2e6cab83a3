package bolt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Dataset writes: Init and Upsert (UpsertBatch is in batch.go).

// Init replaces the store's dataset under its prefix with data and marks it
// initialized. Big-segment data and other prefixes are kept. The new dataset
// is built in a new file and published with one rename, so readers see the
// old dataset or the new one, never a mix.
func (s *Store) Init(ctx context.Context, data []store.Collection) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	for _, c := range data {
		if err := checkKind(c.Kind); err != nil {
			return err
		}
		for _, ki := range c.Items {
			if err := checkKey("key", ki.Key); err != nil {
				return fmt.Errorf("%w (kind %s)", err, c.Kind)
			}
		}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closed.Load() {
		return ErrClosed
	}
	s.swept = false
	size := 0
	for _, c := range data {
		for _, ki := range c.Items {
			size += len(ki.Key) + len(ki.Item.Data) + 16
		}
	}
	b := builder{fresh: true, build: func(ctx context.Context, w *txWriter, ltx *bbolt.Tx) error {
		return s.buildInit(ctx, w.tx, ltx, data)
	}}
	return s.writeNext(ctx, true, func(live *snapshot, slot string, _ bool) error {
		s.copyWrites.Add(1)
		err := s.writeCopy(ctx, live, slot, b, size)
		if err != nil && live != nil && live.isBroken() && errors.Is(err, ErrCorrupt) {
			// The live file broke while Init read what it keeps of it
			// (other prefixes, big segments): Init does not need it.
			s.keepCorrupt()
			err = s.writeCopy(ctx, nil, slot, b, size)
		}
		return err
	})
}

// buildInit fills an empty transaction: everything of the live file but this
// prefix's items, then data.
func (s *Store) buildInit(ctx context.Context, tx, ltx *bbolt.Tx, data []store.Collection) error {
	if ltx != nil {
		err := ltx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			if string(name) == string(metaBucket) || string(name) == string(s.prefix) {
				return nil
			}
			return copyBucket(tx.CreateBucket, name, b)
		})
		if err != nil {
			return err
		}
	}
	pb, err := tx.CreateBucket(s.prefix)
	if err != nil {
		return err
	}
	if ltx != nil {
		if lp := ltx.Bucket(s.prefix); lp != nil {
			for _, name := range [][]byte{bigSegmentsBucket, runsBucket} {
				if bs := lp.Bucket(name); bs != nil {
					if err := copyBucket(pb.CreateBucket, name, bs); err != nil {
						return err
					}
				}
			}
			if v := lp.Get(syncOnKey); v != nil {
				if err := pb.Put(syncOnKey, slices.Clone(v)); err != nil {
					return err
				}
			}
		}
	}
	n := 0
	for _, c := range data {
		kb, err := pb.CreateBucketIfNotExists([]byte(c.Kind))
		if err != nil {
			return err
		}
		// Keys go in in order into full pages: a compact file.
		kb.FillPercent = 1
		items := slices.Clone(c.Items)
		slices.SortStableFunc(items, func(a, b store.KeyedItem) int { return cmp.Compare(a.Key, b.Key) })
		for _, ki := range items {
			if n++; n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := kb.Put([]byte(ki.Key), encodeValue(ki.Item)); err != nil {
				return fmt.Errorf("kind %s, key %q: %w", c.Kind, ki.Key, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	now := strconv.AppendInt(nil, time.Now().UnixMilli(), 10)
	if err := pb.Put(lastWriteKey, now); err != nil {
		return err
	}
	return pb.Put(initedKey, now)
}

// Upsert stores item under key unless the stored item (tombstones included)
// has the same or a higher version. Concurrent upserts are committed
// together in one write.
func (s *Store) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	if err := checkKind(kind); err != nil {
		return false, err
	}
	if err := checkKey("key", key); err != nil {
		return false, err
	}
	k, kb, val := []byte(key), []byte(kind), encodeValue(item)
	op := &writeOp{}
	op.apply = func(w *txWriter) error {
		ok, err := w.upsert(kb, k, val, item.Version)
		if err != nil {
			return err
		}
		op.applied = ok
		return w.stampWrite()
	}
	if err := s.submit(ctx, op); err != nil {
		return false, err
	}
	return op.applied, nil
}

// upsert stores the encoded item val under kind/key unless the stored item
// has version or a higher one, and reports whether it did.
func (w *txWriter) upsert(kind, key, val []byte, version int) (bool, error) {
	b, err := w.bucket(kind)
	if err != nil {
		return false, err
	}
	if old := b.Get(key); old != nil {
		// A stored value that does not decode is overwritten.
		if v, err := decodeVersion(old); err == nil && v >= version {
			return false, nil
		}
	}
	if err := b.Put(key, val); err != nil {
		return false, err
	}
	w.record(w.path(kind), key)
	return true, nil
}
