package writer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// upsertAttempts bounds how often a single-item write is retried when
// another writer raises the stored version between the read and the write.
const upsertAttempts = 5

// UpsertResult is the outcome of writing or deleting one item.
type UpsertResult struct {
	// Key is the item's key.
	Key string
	// Version is the version written, or, when nothing was written, the
	// version the write would have had.
	Version int
	// Applied reports that the store took the write. It is false when the
	// content was unchanged, and when the item's own version is not above
	// the stored one (the store keeps the higher version).
	Applied bool
	// Unchanged reports that the store already held this content (at this
	// version, when the item gives one), so nothing was written.
	Unchanged bool
	// StoredVersion is the version the store held before; zero when it held
	// nothing.
	StoredVersion int
	// Warnings are the validation warnings (see [Validate]).
	Warnings []Problem
}

// UpsertFlag validates one flag (LaunchDarkly JSON; its "key" property is
// required) and writes it unless the store holds the same content. It
// checks what [Validate] checks of one item, looking up prerequisites and
// segments in the store; it does not look for cycles through stored flags
// (the evaluator reports those as MALFORMED_FLAG). Versions follow
// [WriteDataset]. An invalid flag is a *ValidationError and nothing is
// written.
func UpsertFlag(ctx context.Context, s store.Store, data []byte) (UpsertResult, error) {
	return upsertItem(ctx, s, store.Features, data)
}

// UpsertSegment is [UpsertFlag] for a segment.
func UpsertSegment(ctx context.Context, s store.Store, data []byte) (UpsertResult, error) {
	return upsertItem(ctx, s, store.Segments, data)
}

// DeleteFlag writes a tombstone for the flag at one more than its stored
// version. Deleting a flag the store does not hold writes a tombstone at
// version 1; deleting a tombstone again changes nothing (Unchanged).
func DeleteFlag(ctx context.Context, s store.Store, key string) (UpsertResult, error) {
	return deleteItem(ctx, s, store.Features, key)
}

// DeleteSegment is [DeleteFlag] for a segment.
func DeleteSegment(ctx context.Context, s store.Store, key string) (UpsertResult, error) {
	return deleteItem(ctx, s, store.Segments, key)
}

func upsertItem(ctx context.Context, s store.Store, kind store.Kind, data []byte) (UpsertResult, error) {
	kn := kind.Noun()
	var head map[string]json.RawMessage
	var key string
	if err := json.Unmarshal(data, &head); err != nil {
		return UpsertResult{}, &ValidationError{Problems: []Problem{{Kind: kn, Message: fmt.Sprintf("not a JSON object: %v", err)}}}
	}
	if err := json.Unmarshal(head["key"], &key); err != nil || key == "" {
		return UpsertResult{}, &ValidationError{Problems: []Problem{{Kind: kn, Message: `no "key" property (a non-empty string)`}}}
	}
	res := UpsertResult{Key: key}
	l := newFileLoader("")
	it, ok := l.itemFromObject(kind, key, data, Source{})
	if !ok {
		return res, l.ps.err()
	}
	d := NewDataset()
	d.items(kind)[key] = it

	var storeErr error
	ext := &external{
		flag: func(k string) *model.Flag {
			si, found, err := s.Get(ctx, store.Features, k)
			if err != nil {
				storeErr = firstErr(storeErr, err)
				return nil
			}
			if !found || si.Deleted {
				return nil
			}
			f, err := model.DecodeFlag(si.Data)
			if err != nil {
				return nil
			}
			return f
		},
		segment: func(k string) bool {
			si, found, err := s.Get(ctx, store.Segments, k)
			if err != nil {
				storeErr = firstErr(storeErr, err)
				return false
			}
			return found && !si.Deleted
		},
	}
	v, err := validateWith(d, ext)
	if v != nil {
		res.Warnings = v.warnings
	}
	if storeErr != nil {
		return res, fmt.Errorf("upsert %s %q: read referenced items: %w", kn, key, storeErr)
	}
	if err != nil {
		return res, err
	}
	for attempt := 1; ; attempt++ {
		old, found, err := s.Get(ctx, kind, key)
		if err != nil {
			return res, fmt.Errorf("upsert %s %q: %w", kn, key, err)
		}
		if found {
			res.StoredVersion = old.Version
		}
		p := v.planItem(kind, it, old, found)
		res.Version = p.item.Version
		if p.action == actionNone {
			res.Unchanged = true
			return res, nil
		}
		applied, err := s.Upsert(ctx, kind, key, p.item)
		if err != nil {
			return res, fmt.Errorf("upsert %s %q: %w", kn, key, err)
		}
		res.Applied = applied
		// A chosen version that lost a race with another writer is chosen
		// again; the item's own version is final.
		if applied || it.HasVersion || attempt == upsertAttempts {
			return res, nil
		}
	}
}

func deleteItem(ctx context.Context, s store.Store, kind store.Kind, key string) (UpsertResult, error) {
	kn := kind.Noun()
	res := UpsertResult{Key: key}
	if key == "" {
		return res, errors.New("delete " + kn + ": empty key")
	}
	for attempt := 1; ; attempt++ {
		old, found, err := s.Get(ctx, kind, key)
		if err != nil {
			return res, fmt.Errorf("delete %s %q: %w", kn, key, err)
		}
		res.StoredVersion = old.Version
		if found && old.Deleted {
			res.Version, res.Unchanged = old.Version, true
			return res, nil
		}
		res.Version = old.Version + 1
		applied, err := s.Upsert(ctx, kind, key, store.Tombstone(key, res.Version))
		if err != nil {
			return res, fmt.Errorf("delete %s %q: %w", kn, key, err)
		}
		res.Applied = applied
		if applied || attempt == upsertAttempts {
			return res, nil
		}
	}
}

// firstErr keeps the first error.
func firstErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
