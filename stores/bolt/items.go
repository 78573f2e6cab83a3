package bolt

import (
	"context"
	"fmt"
	"strings"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Reads of the dataset: flags, segments and the init marker.

// bucket returns the bucket at prefix/name..., or nil.
func (s *Store) bucket(tx *bbolt.Tx, names ...[]byte) *bbolt.Bucket {
	if tx == nil {
		return nil
	}
	b := tx.Bucket(s.prefix)
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket(n)
	}
	return b
}

func checkKind(kind store.Kind) error {
	k := string(kind)
	if k == "" || strings.HasPrefix(k, "$") || strings.HasPrefix(k, string(bigSegmentsBucket)) {
		return fmt.Errorf("bolt: invalid kind %q", k)
	}
	return nil
}

// Get returns the item of the given kind and key, tombstones included.
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	if err := checkKind(kind); err != nil {
		return store.Item{}, false, err
	}
	var (
		it    store.Item
		found bool
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx, []byte(kind))
		if b == nil || key == "" {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		d, err := decodeValue(v)
		if err != nil {
			return fmt.Errorf("bolt get %s %q: %w", kind, key, err)
		}
		d.Data = append([]byte(nil), d.Data...)
		it, found = d, true
		return nil
	})
	if err != nil {
		return store.Item{}, false, err
	}
	return it, found, nil
}

// GetAll returns every item of the kind, tombstones included, from one
// consistent snapshot.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var out []store.KeyedItem
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx, []byte(kind))
		if b == nil {
			return nil
		}
		var a arena
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket; none are written
			}
			it, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("bolt get all %s, key %q: %w", kind, k, err)
			}
			it.Data = a.copy(it.Data)
			out = append(out, store.KeyedItem{Key: string(k), Item: it})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// arena copies many small byte slices into a few large allocations.
type arena struct{ buf []byte }

func (a *arena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(64<<10, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// Initialized reports whether a writer has stored a complete dataset under
// the store's prefix.
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx)
		ok = b != nil && b.Get(initedKey) != nil
		return nil
	})
	return ok, err
}

// Ping checks that the store file can be read, opening it again if it failed
// to open before (a file repaired in place is then seen at once); it waits
// for a file lock no longer than ctx allows. A missing file is an error
// wrapping [ErrNotExist] for a read-only store; for a store that writes it
// is not an error (the store is available and not initialized).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.refresh(ctx, checkRetry); err != nil {
		return err
	}
	return s.view(ctx, func(tx *bbolt.Tx) error {
		if tx != nil && tx.Bucket(metaBucket) == nil {
			return corrupt(s.path, "no %s bucket", metaBucket)
		}
		return nil
	})
}
