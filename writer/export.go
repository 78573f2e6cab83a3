package writer

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Export reads the store's flags and segments into a dataset, leaving out
// tombstones. Items keep their stored JSON, version included, so that
// writing the export to another store (or back) keeps every version:
// Export then [Dataset.WriteJSON] then [LoadFiles] and [WriteDataset] is a
// round trip. A stored item that is not valid JSON, or whose key property
// differs from the key it is stored under, is an error naming it.
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
			var head struct {
				Key *string `json:"key"`
			}
			if err := json.Unmarshal(ki.Item.Data, &head); err != nil {
				return nil, fmt.Errorf("export %s %q: stored JSON: %w", kind.Noun(), ki.Key, err)
			}
			data := ki.Item.Data
			switch {
			case head.Key == nil:
				data = setProperty(data, "key", jsonString(ki.Key))
			case *head.Key != ki.Key:
				return nil, fmt.Errorf("export %s %q: stored under %q but its key property is %q", kind.Noun(), ki.Key, ki.Key, *head.Key)
			}
			m[ki.Key] = &Item{Key: ki.Key, Data: data, Version: ki.Item.Version, HasVersion: true, Source: src}
		}
	}
	return d, nil
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
// flags and segments (and tombstones) it has, and, when it implements
// [store.BigSegmentReader], its big-segment synchronized-on time and age.
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
			} else {
				*live++
			}
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
