package writer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// ErrSourceNotInitialized is returned by [Copy] for a source store that no
// writer has initialized (a wrong prefix, usually): copying its emptiness
// would delete everything at the destination.
var ErrSourceNotInitialized = errors.New("the source store is not initialized")

// copyBatchSize is how many membership changes one ApplyMembership call of
// [Copy] carries.
const copyBatchSize = 5000

// CopyOptions configures [Copy]. The zero value copies with every safety
// check on.
type CopyOptions struct {
	// AllowDelete lets the copy delete every live flag of the destination,
	// or more than half of them (flags the source does not have). False:
	// such a copy returns a *[DeletionError] and writes nothing.
	AllowDelete bool
}

// CopySummary counts what [Copy] wrote. The counts describe the source,
// which the destination then equals.
type CopySummary struct {
	// Flags and Segments count the live items copied; DeletedFlags and
	// DeletedSegments the tombstones copied.
	Flags, Segments, DeletedFlags, DeletedSegments int
	// Removed counts live items the destination held and the source does
	// not, replaced by tombstones.
	Removed int
	// Contexts counts the context hashes with a big-segment membership
	// copied; Memberships the segment references in their included and
	// excluded sets; MembershipsRemoved the references the destination held
	// and the source does not, removed.
	Contexts, Memberships, MembershipsRemoved int
	// SynchronizedOn is the big-segment synchronized-on time copied; nil
	// when the source has none.
	SynchronizedOn *time.Time
	// BigSegments is false when the source has no big-segment side (it
	// does not implement store.BigSegmentReader), so none were copied.
	BigSegments bool
}

// Copy makes the destination hold exactly what the source holds: every
// flag and segment with its stored JSON and version (tombstones too, and
// items that do not decode: bytes are moved as they are), the big-segment
// memberships (stored by context hash, so they are copied hashed) and the
// big-segment synchronized-on time. Any two backends may be combined.
//
// The flags and segments are written with one [store.Writer.Init] of the
// destination; items only the destination holds become tombstones, so
// readers see their deletion. Memberships are written before the dataset
// (segments then find their members at once), and the synchronized-on time
// last. The source must be initialized ([ErrSourceNotInitialized]); the
// deletion guard of [Write] applies to the destination's flags.
//
// A source with memberships needs [store.MembershipScanner] to list them,
// and a destination implementing [store.BigSegmentWriter]; with a
// destination that also implements MembershipScanner, memberships the
// source lacks are removed.
func Copy(ctx context.Context, from store.Reader, to store.Store, opts CopyOptions) (CopySummary, error) {
	var sum CopySummary
	inited, err := from.Initialized(ctx)
	if err != nil {
		return sum, fmt.Errorf("copy: read source: %w", err)
	}
	if !inited {
		return sum, fmt.Errorf("copy: %w (no writer has stored a dataset under its prefix)", ErrSourceNotInitialized)
	}
	var colls []store.Collection
	live, deleting := 0, 0
	for _, kind := range store.Kinds {
		src, err := from.GetAll(ctx, kind)
		if err != nil {
			return sum, fmt.Errorf("copy: read source %s: %w", kind, err)
		}
		dst, err := to.GetAll(ctx, kind)
		if err != nil {
			return sum, fmt.Errorf("copy: read destination %s: %w", kind, err)
		}
		inSrc := make(map[string]bool, len(src))
		items := slices.Clone(src)
		for _, ki := range src {
			inSrc[ki.Key] = true
			switch {
			case kind == store.Features && ki.Item.Deleted:
				sum.DeletedFlags++
			case kind == store.Features:
				sum.Flags++
			case ki.Item.Deleted:
				sum.DeletedSegments++
			default:
				sum.Segments++
			}
		}
		for _, ki := range dst {
			if kind == store.Features && !ki.Item.Deleted {
				live++
			}
			if inSrc[ki.Key] || ki.Item.Deleted {
				continue
			}
			items = append(items, store.KeyedItem{Key: ki.Key, Item: store.Tombstone(ki.Key, ki.Item.Version+1)})
			sum.Removed++
			if kind == store.Features {
				deleting++
			}
		}
		colls = append(colls, store.Collection{Kind: kind, Items: items})
	}
	if !opts.AllowDelete && tooManyDeletions(deleting, live) {
		return sum, &DeletionError{Deleting: deleting, Live: live}
	}
	syncedOn, err := copyMemberships(ctx, from, to, &sum)
	if err != nil {
		return sum, err
	}
	if err := to.Init(ctx, colls); err != nil {
		return sum, fmt.Errorf("copy: write dataset: %w", err)
	}
	if syncedOn != nil {
		bw := to.(store.BigSegmentWriter) // checked by copyMemberships
		if err := bw.SetSynchronizedOn(ctx, *syncedOn); err != nil {
			return sum, fmt.Errorf("copy: set the big-segment synchronized-on time: %w", err)
		}
		sum.SynchronizedOn = syncedOn
	}
	return sum, nil
}

// copyMemberships copies the big-segment memberships and returns the
// synchronized-on time to set once the dataset is written.
func copyMemberships(ctx context.Context, from store.Reader, to store.Store, sum *CopySummary) (*time.Time, error) {
	br, ok := from.(store.BigSegmentReader)
	if !ok {
		return nil, nil
	}
	sum.BigSegments = true
	t, set, err := br.SynchronizedOn(ctx)
	if err != nil {
		return nil, fmt.Errorf("copy: read the source's big-segment synchronized-on time: %w", err)
	}
	src := map[string]store.Membership{}
	if sc, ok := from.(store.MembershipScanner); ok {
		err := sc.ScanMembership(ctx, func(h string, m store.Membership) error {
			if len(m.Included)+len(m.Excluded) > 0 {
				src[h] = store.Membership{Included: slices.Clone(m.Included), Excluded: slices.Clone(m.Excluded)}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("copy: list the source's big-segment memberships: %w", err)
		}
	} else if set {
		return nil, fmt.Errorf("copy: the source (%T) cannot list its big-segment memberships", from)
	}
	bw, ok := to.(store.BigSegmentWriter)
	if !ok {
		if len(src) > 0 || set {
			return nil, fmt.Errorf("copy: the destination (%T) cannot store big-segment memberships", to)
		}
		return nil, nil
	}
	var changes []store.MembershipChange
	flush := func(force bool) error {
		if len(changes) == 0 || (!force && len(changes) < copyBatchSize) {
			return nil
		}
		if err := bw.ApplyMembership(ctx, changes); err != nil {
			return fmt.Errorf("copy: write big-segment memberships: %w", err)
		}
		changes = changes[:0]
		return nil
	}
	add := func(c store.MembershipChange) error {
		changes = append(changes, c)
		return flush(false)
	}
	// Removals first: what the destination holds and the source does not.
	if sc, ok := to.(store.MembershipScanner); ok {
		var removals []store.MembershipChange
		err := sc.ScanMembership(ctx, func(h string, m store.Membership) error {
			want := src[h]
			for _, ref := range m.Included {
				if !slices.Contains(want.Included, ref) {
					removals = append(removals, store.MembershipChange{ContextHash: h, SegmentRef: ref, Remove: true})
				}
			}
			for _, ref := range m.Excluded {
				if !slices.Contains(want.Excluded, ref) {
					removals = append(removals, store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true, Remove: true})
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("copy: list the destination's big-segment memberships: %w", err)
		}
		for _, c := range removals {
			if err := add(c); err != nil {
				return nil, err
			}
		}
		sum.MembershipsRemoved = len(removals)
		if err := flush(true); err != nil {
			return nil, err
		}
	}
	hashes := make([]string, 0, len(src))
	for h := range src {
		hashes = append(hashes, h)
	}
	slices.Sort(hashes)
	for _, h := range hashes {
		m := src[h]
		sum.Contexts++
		for _, ref := range m.Included {
			sum.Memberships++
			if err := add(store.MembershipChange{ContextHash: h, SegmentRef: ref}); err != nil {
				return nil, err
			}
		}
		for _, ref := range m.Excluded {
			sum.Memberships++
			if err := add(store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true}); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(true); err != nil {
		return nil, err
	}
	if !set {
		return nil, nil
	}
	return &t, nil
}
