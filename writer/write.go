package writer

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// WriteSummary is the outcome of [Write].
type WriteSummary struct {
	// Flags and Segments count the items written (tombstones not included).
	Flags, Segments int
	// Changed counts items whose content or version differs from what the
	// store held before, new items included.
	Changed int
	// Deleted counts tombstones written for items the store held and the
	// dataset no longer has.
	Deleted int
	// Changes lists every new, changed and deleted item, in the order they
	// are written (see [Write]); with [WriteOptions.DryRun] it is the plan.
	Changes []Change
	// Warnings are the validation warnings (see [Validate]), and with
	// [WriteOptions.AllowMalformed] one per malformed item written.
	Warnings []Problem
	// DryRun is true when nothing was written because
	// [WriteOptions.DryRun] asked for the plan only.
	DryRun bool
}

// WriteDataset is [Write] with the zero [WriteOptions]: every safety check
// on.
func WriteDataset(ctx context.Context, s store.Store, d *Dataset) (WriteSummary, error) {
	return Write(ctx, s, d, WriteOptions{})
}

// Write validates d (see [Validate]) and, when it is valid, replaces the
// store's dataset with it in one [store.Writer.Init], which also marks the
// store initialized. When d is invalid it returns a *ValidationError and
// writes nothing. When the write would delete every live flag of the store,
// or more than half of them, it returns a *[DeletionError] (matching
// [ErrTooManyDeletions]) and writes nothing, unless opts.AllowDelete is set.
// With opts.DryRun it returns the plan (WriteSummary.Changes) and writes
// nothing.
//
// Versions: an item with a "version" keeps it. An item without one gets the
// version the store holds for its key when its content (compared without
// the version) is unchanged, and otherwise one more than that version (1
// for a new key), so that readers, which keep the highest version they have
// seen, see every change.
//
// Items the store holds and d does not are written as tombstones (at one
// more than their stored version) rather than dropped, and stored
// tombstones are kept, so a key that is later defined again gets a version
// above any a reader has cached.
//
// Items are stored in LaunchDarkly's canonical JSON form (the form
// model.Flag.MarshalJSON writes), with unknown properties kept.
func Write(ctx context.Context, s store.Store, d *Dataset, opts WriteOptions) (WriteSummary, error) {
	sum, _, err := write(ctx, s, d, opts)
	return sum, err
}

// write is Write, also returning the plan (nil when there was none).
func write(ctx context.Context, s store.Store, d *Dataset, opts WriteOptions) (WriteSummary, []planned, error) {
	var sum WriteSummary
	v, err := validateOpts(d, nil, opts.AllowMalformed)
	if v != nil {
		sum.Warnings = v.warnings
	}
	if err != nil {
		return sum, nil, err
	}
	plan, err := v.plan(ctx, s)
	if err != nil {
		return sum, nil, err
	}
	colls := []store.Collection{{Kind: store.Segments}, {Kind: store.Features}}
	for _, p := range plan {
		c := &colls[1]
		if p.kind == store.Segments {
			c = &colls[0]
		}
		c.Items = append(c.Items, store.KeyedItem{Key: p.key, Item: p.item})
		switch p.action {
		case actionWrite:
			sum.Changed++
		case actionTombstone:
			sum.Deleted++
		}
		if !p.item.Deleted {
			if p.kind == store.Features {
				sum.Flags++
			} else {
				sum.Segments++
			}
		}
	}
	sum.Changes = planChanges(plan)
	if !opts.AllowDelete {
		if err := checkDeletions(plan); err != nil {
			return sum, plan, err
		}
	}
	if opts.DryRun {
		sum.DryRun = true
		return sum, plan, nil
	}
	if err := s.Init(ctx, colls); err != nil {
		return sum, plan, fmt.Errorf("write dataset: %w", err)
	}
	return sum, plan, nil
}

// itemVersions are the versions a plan gives the dataset's items, by kind
// and key.
type itemVersions map[store.Kind]map[string]int

func planVersions(plan []planned) itemVersions {
	out := itemVersions{store.Features: {}, store.Segments: {}}
	for _, p := range plan {
		if p.action == actionWrite || p.action == actionNone {
			out[p.kind][p.key] = p.item.Version
		}
	}
	return out
}

// withVersions returns a copy of d whose items carry the versions vs gives
// them (items vs does not name keep theirs).
func (d *Dataset) withVersions(vs itemVersions) *Dataset {
	out := &Dataset{Flags: make(map[string]*Item, len(d.Flags)), Segments: make(map[string]*Item, len(d.Segments)), Warnings: d.Warnings}
	for _, kind := range []store.Kind{store.Features, store.Segments} {
		dst := out.items(kind)
		for k, it := range d.items(kind) {
			c := *it
			if v, ok := vs[kind][k]; ok {
				c.Version, c.HasVersion = v, true
			}
			dst[k] = &c
		}
	}
	return out
}

// action says what a planned item needs.
type action int

const (
	actionNone      action = iota // the store holds it as it is
	actionWrite                   // new or changed
	actionTombstone               // stored, no longer in the dataset: delete
	actionKeep                    // a stored tombstone: keep
)

// planned is one item of the dataset to be, with what it needs.
type planned struct {
	kind   store.Kind
	key    string
	item   store.Item
	action action
	// stored is the version the store holds (when found), for messages.
	stored      int
	storedFound bool
	storedLive  bool // found and not a tombstone
	explicit    bool // the version came from the file
}

// plan compares the validated dataset with the store's content and decides
// every item's version and whether it must be written.
//
// The order is the order in which upserts keep every intermediate state of
// the store usable: segments, each after the segments its rules refer to;
// then flags, each after its prerequisites; then the tombstones, flags
// before segments and every item before the ones it used. A reader that
// looks at the store between two upserts (or a cache whose entries expire
// at different times) never finds a flag naming a prerequisite or segment
// that is not there yet, or that is already gone. Within those rules, key
// order.
func (v *validated) plan(ctx context.Context, r store.Reader) ([]planned, error) {
	var out []planned
	tombs := map[store.Kind][]planned{}
	for _, kind := range []store.Kind{store.Segments, store.Features} {
		all, err := r.GetAll(ctx, kind)
		if err != nil {
			return nil, fmt.Errorf("read stored %s: %w", kind, err)
		}
		stored := make(map[string]store.Item, len(all))
		for _, ki := range all {
			stored[ki.Key] = ki.Item
		}
		items := v.d.items(kind)
		for _, k := range dependencyOrder(sortedKeys(items), v.dependencies(kind)) {
			old, found := stored[k]
			out = append(out, v.planItem(kind, items[k], old, found))
		}
		var gone []string
		for _, k := range sortedKeys(stored) {
			if _, ok := items[k]; !ok {
				gone = append(gone, k)
			}
		}
		// Dependents go first: reverse the order that puts dependencies first.
		gone = dependencyOrder(gone, storedDependencies(kind, stored))
		slices.Reverse(gone)
		for _, k := range gone {
			old := stored[k]
			p := planned{kind: kind, key: k, item: old, action: actionKeep, stored: old.Version, storedFound: true, storedLive: !old.Deleted}
			if !old.Deleted {
				p.item, p.action = store.Tombstone(k, old.Version+1), actionTombstone
			}
			tombs[kind] = append(tombs[kind], p)
		}
	}
	out = append(out, tombs[store.Features]...)
	return append(out, tombs[store.Segments]...), nil
}

// dependencies returns, for items of kind in the dataset, the keys of the
// items of the same kind each one refers to: a flag's prerequisites, a
// segment's nested segments.
func (v *validated) dependencies(kind store.Kind) func(key string) []string {
	if kind == store.Features {
		return func(key string) []string {
			if f := v.flags[key]; f != nil {
				return f.PrerequisiteKeys()
			}
			return nil
		}
	}
	return func(key string) []string {
		if sg := v.segments[key]; sg != nil {
			return nestedSegments(sg)
		}
		return nil
	}
}

// storedDependencies is dependencies for stored items, decoded on demand
// (only items being deleted are asked about). An item that does not decode
// has none.
func storedDependencies(kind store.Kind, stored map[string]store.Item) func(key string) []string {
	return func(key string) []string {
		it, ok := stored[key]
		if !ok || it.Deleted {
			return nil
		}
		if kind == store.Features {
			if f, err := model.DecodeFlag(it.Data); err == nil {
				return f.PrerequisiteKeys()
			}
			return nil
		}
		if sg, err := model.DecodeSegment(it.Data); err == nil {
			return nestedSegments(sg)
		}
		return nil
	}
}

// nestedSegments lists the segments a segment's rules match on.
func nestedSegments(sg *model.Segment) []string {
	var keys []string
	for _, r := range sg.Rules {
		for _, c := range r.Clauses {
			if c.Op != model.OpSegmentMatch {
				continue
			}
			for _, val := range c.Values {
				if val.IsString() {
					keys = append(keys, val.Str())
				}
			}
		}
	}
	return keys
}

// dependencyOrder returns keys (in key order) stably sorted so that every
// key comes after the keys among them it depends on, directly or not. Keys
// outside the list are ignored; a cycle (which validation rejects for the
// dataset, but stored data may hold) is cut where it closes.
func dependencyOrder(keys []string, deps func(key string) []string) []string {
	in := make(map[string]bool, len(keys))
	for _, k := range keys {
		in[k] = true
	}
	depth := make(map[string]int, len(keys))
	visiting := map[string]bool{}
	var visit func(k string) int
	visit = func(k string) int {
		if d, ok := depth[k]; ok {
			return d
		}
		if visiting[k] {
			return 0
		}
		visiting[k] = true
		d := 0
		for _, dep := range deps(k) {
			if in[dep] && dep != k {
				d = max(d, visit(dep)+1)
			}
		}
		delete(visiting, k)
		depth[k] = d
		return d
	}
	out := slices.Clone(keys)
	for _, k := range out {
		visit(k)
	}
	slices.SortStableFunc(out, func(a, b string) int { return depth[a] - depth[b] })
	return out
}

// planItem decides the version of one item (see WriteDataset).
func (v *validated) planItem(kind store.Kind, it *Item, old store.Item, found bool) planned {
	var same bool
	var atStored []byte // the item encoded at the stored version
	if found && !old.Deleted {
		// Fast path: the store holds exactly what this writer would write
		// (it wrote it), so no decoding is needed.
		atStored = v.encode(kind, it.Key, old.Version)
		same = bytes.Equal(atStored, old.Data) || sameContent(kind, v.encode(kind, it.Key, 0), old.Data)
	}
	p := planned{kind: kind, key: it.Key, stored: old.Version, storedFound: found, storedLive: found && !old.Deleted, explicit: it.HasVersion}
	var version int
	switch {
	case it.HasVersion:
		version = it.Version
		if same && old.Version == version {
			p.action = actionNone
		} else {
			p.action = actionWrite
		}
	case same:
		version, p.action = old.Version, actionNone
	case found:
		version, p.action = old.Version+1, actionWrite
	default:
		version, p.action = 1, actionWrite
	}
	data := atStored
	if data == nil || version != old.Version {
		data = v.encode(kind, it.Key, version)
	}
	p.item = store.Item{Version: version, Data: data}
	return p
}

// encode returns the canonical JSON of a validated item with the version
// set to version.
func (v *validated) encode(kind store.Kind, key string, version int) []byte {
	if kind == store.Features {
		return encodeFlag(v.flags[key], version)
	}
	return encodeSegment(v.segments[key], version)
}

// encodeFlag encodes f with another version, compactly (unknown properties
// keep the spacing they were written with). It encodes a shallow copy: the
// decoded flag itself is never modified.
func encodeFlag(f *model.Flag, version int) []byte {
	g := *f
	g.Version = version
	return compact(g.AppendJSON(nil))
}

func encodeSegment(s *model.Segment, version int) []byte {
	g := *s
	g.Version = version
	return compact(g.AppendJSON(nil))
}

func compact(data []byte) []byte {
	if bytes.IndexAny(data, " \t\r\n") < 0 {
		return data
	}
	var b bytes.Buffer
	b.Grow(len(data))
	if err := json.Compact(&b, data); err != nil {
		return data
	}
	return b.Bytes()
}

// sameContent reports whether the stored item's JSON, decoded and encoded
// with version 0, equals content (an item encoded with version 0). A stored
// item that does not decode differs from everything.
func sameContent(kind store.Kind, content, stored []byte) bool {
	if kind == store.Features {
		f, err := model.DecodeFlag(stored)
		return err == nil && bytes.Equal(content, encodeFlag(f, 0))
	}
	s, err := model.DecodeSegment(stored)
	return err == nil && bytes.Equal(content, encodeSegment(s, 0))
}
