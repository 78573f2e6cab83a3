package writer

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// Export reads the store's flags and segments into a dataset, leaving out
// tombstones. Items keep their stored JSON, version included, so that
// writing the export to another store (or back) keeps every version:
// Export then [Dataset.WriteJSON] then [LoadFiles] and [WriteDataset] is a
// round trip.
//
// Items are decoded one by one: a stored item that does not decode as a
// LaunchDarkly flag or segment (not JSON, a property of the wrong type), or
// whose key property differs from the key it is stored under, is left out
// and named in the dataset's Warnings ("not exported: ..."), and the rest
// is exported. Items that decode but that validation calls malformed are
// exported; write them with [WriteOptions.AllowMalformed].
//
// Export does not require the store to be initialized; callers that want
// to catch a wrong prefix check [store.Reader.Initialized] first.
func Export(ctx context.Context, r store.Reader) (*Dataset, error) {
	d := NewDataset()
	for _, kind := range []store.Kind{store.Features, store.Segments} {
		all, err := r.GetAll(ctx, kind)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", kind, err)
		}
		m := d.items(kind)
		for _, ki := range all {
			if ki.Item.Deleted {
				continue
			}
			src := Source{File: "store " + string(kind) + "/" + ki.Key}
			key, err := decodeStored(kind, ki.Item.Data)
			data := ki.Item.Data
			switch {
			case err != nil:
				d.Warnings = append(d.Warnings, Problem{Source: src, Kind: kind.Noun(), Key: ki.Key, Warning: true,
					Message: "not exported: the stored item is malformed: " + err.Error()})
				continue
			case key == "":
				data = setProperty(data, "key", jsonString(ki.Key))
			case key != ki.Key:
				d.Warnings = append(d.Warnings, Problem{Source: src, Kind: kind.Noun(), Key: ki.Key, Warning: true,
					Message: fmt.Sprintf("not exported: stored under %q but its key property is %q", ki.Key, key)})
				continue
			}
			m[ki.Key] = &Item{Key: ki.Key, Data: data, Version: ki.Item.Version, HasVersion: true, Source: src}
		}
	}
	sortProblems(d.Warnings)
	return d, nil
}

// decodeStored decodes a stored item of kind and returns its key property
// ("" when it has none).
func decodeStored(kind store.Kind, data []byte) (string, error) {
	if kind == store.Features {
		f, err := model.DecodeFlag(data)
		if err != nil {
			return "", err
		}
		return f.Key, nil
	}
	s, err := model.DecodeSegment(data)
	if err != nil {
		return "", err
	}
	return s.Key, nil
}

// StoreInfo describes a store's content; see [Inspect].
type StoreInfo struct {
	// Initialized reports whether a writer has stored a complete dataset.
	Initialized bool `json:"initialized"`
	// Flags and Segments count the live items; DeletedFlags and
	// DeletedSegments the tombstones.
	Flags           int `json:"flags"`
	Segments        int `json:"segments"`
	DeletedFlags    int `json:"deletedFlags"`
	DeletedSegments int `json:"deletedSegments"`
	// BigSegments describes the big-segment data; nil when the store has no
	// big-segment side.
	BigSegments *BigSegmentsInfo `json:"bigSegments"`
	// Malformed lists the stored items (tombstones aside) that do not decode
	// as LaunchDarkly flags or segments, by kind and key; clients evaluate
	// such a flag as MALFORMED_FLAG. Empty for a healthy store. They are
	// counted in Flags and Segments.
	Malformed []MalformedItem `json:"malformed"`
	// LastWrite is when a writer last wrote the dataset, where the store
	// records it (store.WriteTimeReader); nil when it does not.
	LastWrite *time.Time `json:"lastWrite,omitempty"`
	// LastWriteAgeSeconds is LastWrite's age when inspected; nil with it.
	LastWriteAgeSeconds *float64 `json:"lastWriteAgeSeconds,omitempty"`
}

// MalformedItem is a stored item that does not decode; see
// [StoreInfo.Malformed].
type MalformedItem struct {
	// Kind is "flag" or "segment".
	Kind string `json:"kind"`
	Key  string `json:"key"`
	// Error says what is wrong.
	Error string `json:"error"`
}

// BigSegmentsInfo describes a store's big-segment data.
type BigSegmentsInfo struct {
	// SynchronizedOn is when a writer last declared the big-segment data up
	// to date; nil when it never has.
	SynchronizedOn *time.Time `json:"synchronizedOn"`
	// AgeSeconds is how long ago SynchronizedOn was, when it is set.
	// Clients treat the data as stale after 120 s by default.
	AgeSeconds *float64 `json:"ageSeconds,omitempty"`
}

// Inspect reads what a store holds: whether it is initialized, how many
// flags and segments (and tombstones) it has, which of them do not decode
// (each named in StoreInfo.Malformed; the others are still counted and
// listed), and, when it implements [store.BigSegmentReader], its
// big-segment synchronized-on time and age.
func Inspect(ctx context.Context, r store.Reader) (StoreInfo, error) {
	var info StoreInfo
	var err error
	if info.Initialized, err = r.Initialized(ctx); err != nil {
		return info, fmt.Errorf("inspect: %w", err)
	}
	for _, kind := range []store.Kind{store.Features, store.Segments} {
		all, err := r.GetAll(ctx, kind)
		if err != nil {
			return info, fmt.Errorf("inspect %s: %w", kind, err)
		}
		live, dead := &info.Flags, &info.DeletedFlags
		if kind == store.Segments {
			live, dead = &info.Segments, &info.DeletedSegments
		}
		for _, ki := range all {
			if ki.Item.Deleted {
				*dead++
				continue
			}
			*live++
			key, err := decodeStored(kind, ki.Item.Data)
			switch {
			case err != nil:
				info.Malformed = append(info.Malformed, MalformedItem{Kind: kind.Noun(), Key: ki.Key, Error: err.Error()})
			case key != "" && key != ki.Key:
				info.Malformed = append(info.Malformed, MalformedItem{Kind: kind.Noun(), Key: ki.Key,
					Error: fmt.Sprintf("its key property is %q", key)})
			}
		}
	}
	slices.SortFunc(info.Malformed, func(a, b MalformedItem) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key))
	})
	if wr, ok := r.(store.WriteTimeReader); ok {
		t, set, err := wr.LastWrite(ctx)
		if err != nil {
			return info, fmt.Errorf("inspect last write: %w", err)
		}
		if set {
			age := time.Since(t).Seconds()
			info.LastWrite, info.LastWriteAgeSeconds = &t, &age
		}
	}
	if br, ok := r.(store.BigSegmentReader); ok {
		t, set, err := br.SynchronizedOn(ctx)
		if err != nil {
			return info, fmt.Errorf("inspect big segments: %w", err)
		}
		info.BigSegments = &BigSegmentsInfo{}
		if set {
			age := time.Since(t).Seconds()
			info.BigSegments.SynchronizedOn, info.BigSegments.AgeSeconds = &t, &age
		}
	}
	return info, nil
}
