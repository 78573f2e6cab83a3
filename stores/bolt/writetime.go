package bolt

import (
	"context"
	"fmt"
	"strconv"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// lastWriteKey holds, in the prefix bucket, when a writer last wrote the
// dataset: Unix milliseconds, decimal (as "<prefix>:$last_write" in the
// Redis layout). Kinds never begin with '$', so it cannot collide with one.
var lastWriteKey = []byte("$last_write")

var _ store.WriteTimeReader = (*Store)(nil)

// stampWrite records now as the dataset's last write time in w's
// transaction.
func (w *txWriter) stampWrite() error {
	b, err := w.bucket()
	if err != nil {
		return err
	}
	if err := b.Put(lastWriteKey, strconv.AppendInt(nil, time.Now().UnixMilli(), 10)); err != nil {
		return err
	}
	w.record(w.path(), lastWriteKey)
	return nil
}

// LastWrite returns when a writer last wrote the dataset under the store's
// prefix (Init, Upsert, UpsertBatch), to the millisecond. ok is false when
// no write recorded it: a file written by a version before this one.
func (s *Store) LastWrite(ctx context.Context) (time.Time, bool, error) {
	return s.readTime(ctx, lastWriteKey, "bolt last write")
}

// readTime reads a Unix-millisecond time stored under key in the prefix's
// bucket; ok is false when there is none.
func (s *Store) readTime(ctx context.Context, key []byte, what string) (time.Time, bool, error) {
	var (
		t  time.Time
		ok bool
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx)
		if b == nil {
			return nil
		}
		v := b.Get(key)
		if v == nil {
			return nil
		}
		ms, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %w: %q is not a millisecond time", what, store.ErrMalformedItem, v)
		}
		t, ok = time.UnixMilli(ms), true
		return nil
	})
	return t, ok, err
}
