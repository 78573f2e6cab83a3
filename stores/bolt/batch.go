package bolt

import (
	"context"
	"fmt"

	"github.com/daemonflag/daemonflag/store"
)

var _ store.Batcher = (*Store)(nil)

// UpsertBatch applies each update as Upsert would (an item is stored only
// over a lower version, tombstones included), in order, in one transaction
// published with one rename: readers see all of the batch or none of it.
// applied[i] reports whether updates[i] was written. A bad kind or key fails
// the whole batch before anything is written.
func (s *Store) UpsertBatch(ctx context.Context, updates []store.ItemUpdate) ([]bool, error) {
	type prepared struct{ kind, key, val []byte }
	ps := make([]prepared, len(updates))
	for i, u := range updates {
		if err := checkKind(u.Kind); err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		if err := checkKey("key", u.Key); err != nil {
			return nil, fmt.Errorf("update %d (kind %s): %w", i, u.Kind, err)
		}
		ps[i] = prepared{[]byte(u.Kind), []byte(u.Key), encodeValue(u.Item)}
	}
	applied := make([]bool, len(updates))
	extra := 0
	for _, p := range ps {
		extra += len(p.key) + len(p.val) + 16
	}
	op := &writeOp{extra: extra}
	op.apply = func(w *txWriter) error {
		clear(applied)
		for i, p := range ps {
			ok, err := w.upsert(p.kind, p.key, p.val, updates[i].Item.Version)
			if err != nil {
				return err
			}
			applied[i] = ok
		}
		return w.stampWrite()
	}
	if err := s.submit(ctx, op); err != nil {
		return nil, err
	}
	return applied, nil
}
