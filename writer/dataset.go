package writer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"github.com/daemonflag/daemonflag/store"
)

// Dataset is a set of flags and segments, as loaded from flag data files or
// exported from a store. Keys in the maps equal the items' keys.
type Dataset struct {
	Flags    map[string]*Item
	Segments map[string]*Item

	// Warnings are findings made while loading that do not stop the data
	// from being used, such as an unknown top-level property.
	Warnings []Problem
}

// Item is one flag or segment.
type Item struct {
	// Key is the flag's or segment's key.
	Key string
	// Data is the item's JSON in LaunchDarkly's schema: an object whose
	// "key" property is Key.
	Data []byte
	// Version is the item's "version" property; HasVersion is false when
	// it has none, and the writer then chooses one (see [WriteDataset]).
	Version    int
	HasVersion bool
	// Source is where the item was defined.
	Source Source

	// origin maps byte offsets in Data to positions in a JSON file; nil
	// when Data is not a slice of a file (YAML, flagValues, exports) with
	// at most a "key" property inserted first.
	origin *origin
	// keyReplaced is set when a "key": null of the file was replaced by the
	// map key (offsets after it no longer match the file).
	keyReplaced bool
}

// origin records where an item's JSON sits in a JSON file.
type origin struct {
	name     string
	idx      *lineIndex
	start    int // offset of Data[0] in the file
	inserted int // bytes inserted at offset 1 of Data (a "key" property)
}

// sourceAt returns the file position of byte offset off of the item's Data.
func (it *Item) sourceAt(off int) Source {
	o := it.origin
	if o == nil || off < 0 {
		return it.Source
	}
	if off > 1 {
		off = max(1, off-o.inserted)
	}
	p := o.start + off
	if p > len(o.idx.data) {
		return it.Source
	}
	line, col := o.idx.pos(p)
	return Source{File: o.name, Line: line, Column: col}
}

// NewDataset returns an empty dataset.
func NewDataset() *Dataset {
	return &Dataset{Flags: map[string]*Item{}, Segments: map[string]*Item{}}
}

// FlagKeys returns the flag keys in order.
func (d *Dataset) FlagKeys() []string { return sortedKeys(d.Flags) }

// SegmentKeys returns the segment keys in order.
func (d *Dataset) SegmentKeys() []string { return sortedKeys(d.Segments) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// items returns the dataset's map for kind.
func (d *Dataset) items(kind store.Kind) map[string]*Item {
	if kind == store.Features {
		return d.Flags
	}
	return d.Segments
}

// Merge combines datasets into one. A key defined in two of them (as a
// flag, or as a segment) is an error that names both places; the error is a
// *ValidationError listing every such key.
func Merge(sets ...*Dataset) (*Dataset, error) {
	return merge(sets, false)
}

// MergeKeepFirst combines datasets into one, keeping the first definition
// of a key defined in more than one of them; each later definition is a
// warning (in the result's Warnings) naming both places. It is the
// "ignore all but first" handling of duplicate keys of LaunchDarkly's file
// data source.
func MergeKeepFirst(sets ...*Dataset) *Dataset {
	out, _ := merge(sets, true)
	return out
}

func merge(sets []*Dataset, keepFirst bool) (*Dataset, error) {
	out := NewDataset()
	var ps problems
	for _, d := range sets {
		if d == nil {
			continue
		}
		out.Warnings = append(out.Warnings, d.Warnings...)
		for _, kind := range []store.Kind{store.Features, store.Segments} {
			dst := out.items(kind)
			src := d.items(kind)
			for _, k := range sortedKeys(src) {
				it := src[k]
				if prev, ok := dst[k]; ok {
					if keepFirst {
						out.Warnings = append(out.Warnings, Problem{Source: it.Source, Kind: kind.Noun(), Key: k, Warning: true,
							Message: fmt.Sprintf("defined twice: at %s and at %s; the first is used", prev.Source, it.Source)})
						continue
					}
					ps.errorf(it.Source, kind.Noun(), k, "defined twice: at %s and at %s", prev.Source, it.Source)
					continue
				}
				dst[k] = it
			}
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteJSON writes the dataset in LaunchDarkly's flag data file format,
// indented, with keys in order:
//
//	{
//	  "flags": {"key": {...}, ...},
//	  "segments": {"key": {...}, ...}
//	}
//
// The output loads back with [Parse] or [LoadFiles] into the same dataset.
func (d *Dataset) WriteJSON(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, sec := range []struct {
		name  string
		items map[string]*Item
	}{{"flags", d.Flags}, {"segments", d.Segments}} {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %q: {", sec.name)
		for j, k := range sortedKeys(sec.items) {
			if j > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n    ")
			b.Write(jsonString(k))
			b.WriteString(": ")
			if err := json.Indent(&b, sec.items[k].Data, "    ", "  "); err != nil {
				return fmt.Errorf("%s %q: %w", kindOfSection(sec.name).Noun(), k, err)
			}
		}
		if len(sec.items) > 0 {
			b.WriteString("\n  ")
		}
		b.WriteString("}")
	}
	b.WriteString("\n}\n")
	_, err := w.Write(b.Bytes())
	return err
}

func kindOfSection(name string) store.Kind {
	if name == "flags" {
		return store.Features
	}
	return store.Segments
}

// jsonString returns s as a JSON string (without escaping <, > and &,
// which JSON does not require).
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
}
