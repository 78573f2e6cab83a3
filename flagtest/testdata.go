package flagtest

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/writer"
)

// TestData is an in-memory store of flags and segments that tests change
// through builders. It is a [memstore.Store] (embedded), so it is a
// store.Reader, store.BigSegmentReader and store.Notifier a client can be
// built on, and every client built on it sees each update as soon as
// Update returns. Create one with [New]; it is safe for concurrent use.
//
// Every Update writes the item with a version one above the stored one, in
// the canonical JSON of package model's encoder (what the writer stores),
// through [store.Writer.Upsert], so readers and caches see the change as
// they would see a writer's. Writing through the embedded store's own
// methods (Init, Upsert, ApplyMembership) works too, for items no builder
// describes; later Updates still go above the versions so written, but
// [TestData.Flag] knows only what Update stored.
type TestData struct {
	*memstore.Store

	mu       sync.Mutex
	flags    map[string]*FlagBuilder
	built    map[string]*model.Flag // the last stored flags, for prerequisites
	segments map[string]*SegmentBuilder
	big      map[string]bigState // segment key -> membership written
}

// bigState is a big segment's membership as written to the store.
type bigState struct {
	ref                string
	included, excluded []string // context hashes
}

// New returns a TestData with no flags, already initialized (as a store a
// writer has filled with an empty dataset), and with its big-segment data
// declared up to date.
func New() *TestData {
	d := &TestData{
		Store:    memstore.New(),
		flags:    map[string]*FlagBuilder{},
		built:    map[string]*model.Flag{},
		segments: map[string]*SegmentBuilder{},
		big:      map[string]bigState{},
	}
	ctx := context.Background()
	// A new memstore.Store fails neither call.
	_ = d.Store.Init(ctx, nil)
	_ = d.Store.SetSynchronizedOn(ctx, time.Now())
	return d
}

// Flag returns a builder for the flag with the given key: a copy of the one
// last passed to [TestData.Update] for that key, or, for a new key, a
// boolean flag that is on and serves true to everyone (false when off).
// Changing the builder changes nothing until it is passed to Update.
func (d *TestData) Flag(key string) *FlagBuilder {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.flags[key]; b != nil {
		return b.clone()
	}
	return newFlag(key)
}

// Update stores the flag b describes, with a version above the stored one,
// and returns an error (storing nothing) when b holds a mistake or the
// store fails.
func (d *TestData) Update(b *FlagBuilder) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	version, err := d.nextVersion(store.Features, b.f.Key, b.f.Version)
	if err != nil {
		return err
	}
	f, err := b.build(version, func(key string) *model.Flag { return d.built[key] })
	if err != nil {
		return err
	}
	if err := d.upsert(store.Features, f.Key, store.Item{Version: f.Version, Data: f.AppendJSON(nil)}); err != nil {
		return err
	}
	d.flags[f.Key] = b.clone()
	d.built[f.Key] = f
	return nil
}

// UpdateFlagJSON stores a flag given in LaunchDarkly's flag schema, as a
// LaunchDarkly dashboard export or a flag data file holds it; properties
// the model does not know are kept. Its version is kept when it is above
// the stored one, else replaced by the next. [TestData.Flag] then returns
// a builder that starts from it.
func (d *TestData) UpdateFlagJSON(data []byte) error {
	f, err := model.DecodeFlag(data)
	if err != nil {
		return fmt.Errorf("flagtest: %w", err)
	}
	return d.Update(&FlagBuilder{f: *f})
}

// UpdateFlagData stores every flag and segment of a flag data file in
// LaunchDarkly's format ({"flags": ..., "segments": ..., "flagValues": ...},
// JSON or YAML), as `daemonflag write` would read it: name selects the
// format as in writer.Parse (".yaml" or ".yml" is YAML), and the data must
// pass writer.Validate; otherwise the *writer.ValidationError is returned
// and nothing is stored. Segments are stored before flags; keys the file
// does not hold are left alone.
func (d *TestData) UpdateFlagData(name string, data []byte) error {
	ds, err := writer.Parse(name, data)
	if err != nil {
		return err
	}
	if _, err := writer.Validate(ds); err != nil {
		return err
	}
	for _, k := range ds.SegmentKeys() {
		if err := d.UpdateSegmentJSON(ds.Segments[k].Data); err != nil {
			return err
		}
	}
	for _, k := range ds.FlagKeys() {
		if err := d.UpdateFlagJSON(ds.Flags[k].Data); err != nil {
			return err
		}
	}
	return nil
}

// Delete deletes the flag: the store keeps a tombstone with a version above
// the stored one, as a writer deletes. Deleting a key that was never
// stored is not an error.
func (d *TestData) Delete(key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.tombstone(store.Features, key); err != nil {
		return err
	}
	delete(d.flags, key)
	delete(d.built, key)
	return nil
}

// Segment returns a builder for the segment with the given key: a copy of
// the one last passed to [TestData.UpdateSegment], or an empty segment.
func (d *TestData) Segment(key string) *SegmentBuilder {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b := d.segments[key]; b != nil {
		return b.clone()
	}
	return newSegment(key)
}

// UpdateSegment stores the segment b describes, with a version above the
// stored one. For a big segment ([SegmentBuilder.Unbounded]) it first
// replaces the segment's membership in the big-segment store and declares
// the big-segment data up to date, so a flag never sees the new segment
// without its members.
func (d *TestData) UpdateSegment(b *SegmentBuilder) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	version, err := d.nextVersion(store.Segments, b.s.Key, b.s.Version)
	if err != nil {
		return err
	}
	s, err := b.build(version)
	if err != nil {
		return err
	}
	if err := d.writeMembership(s, b.big); err != nil {
		return err
	}
	if err := d.upsert(store.Segments, s.Key, store.Item{Version: s.Version, Data: s.AppendJSON(nil)}); err != nil {
		return err
	}
	d.segments[s.Key] = b.clone()
	return nil
}

// UpdateSegmentJSON stores a segment given in LaunchDarkly's segment
// schema; see [TestData.UpdateFlagJSON].
func (d *TestData) UpdateSegmentJSON(data []byte) error {
	s, err := model.DecodeSegment(data)
	if err != nil {
		return fmt.Errorf("flagtest: %w", err)
	}
	return d.UpdateSegment(&SegmentBuilder{s: *s})
}

// DeleteSegment deletes the segment (a tombstone, as for flags) and its
// big-segment membership.
func (d *TestData) DeleteSegment(key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writeMembership(&model.Segment{Key: key}, bigMembers{}); err != nil {
		return err
	}
	if err := d.tombstone(store.Segments, key); err != nil {
		return err
	}
	delete(d.segments, key)
	return nil
}

// nextVersion returns the version of the next write of the item: one above
// the stored one (a write made through the embedded store counts too), or
// atLeast when that is higher.
func (d *TestData) nextVersion(kind store.Kind, key string, atLeast int) (int, error) {
	it, found, err := d.Store.Get(context.Background(), kind, key)
	if err != nil {
		return 0, fmt.Errorf("flagtest: read %s %q: %w", kind.Noun(), key, err)
	}
	next := 1
	if found {
		next = it.Version + 1
	}
	return max(next, atLeast), nil
}

func (d *TestData) upsert(kind store.Kind, key string, it store.Item) error {
	applied, err := d.Store.Upsert(context.Background(), kind, key, it)
	if err != nil {
		return fmt.Errorf("flagtest: write %s %q: %w", kind.Noun(), key, err)
	}
	if !applied {
		// Only a concurrent write through the embedded store can do this.
		return fmt.Errorf("flagtest: write %s %q: version %d is not above the stored one", kind.Noun(), key, it.Version)
	}
	return nil
}

func (d *TestData) tombstone(kind store.Kind, key string) error {
	version, err := d.nextVersion(kind, key, 0)
	if err != nil {
		return err
	}
	return d.upsert(kind, key, store.Tombstone(key, version))
}

// writeMembership makes the big-segment store hold exactly members for s
// (none when s is not a big segment with a generation), and declares the
// data up to date.
func (d *TestData) writeMembership(s *model.Segment, members bigMembers) error {
	ctx := context.Background()
	old := d.big[s.Key]
	var changes []store.MembershipChange
	for _, h := range old.included {
		changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: old.ref, Remove: true})
	}
	for _, h := range old.excluded {
		changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: old.ref, Excluded: true, Remove: true})
	}
	var cur bigState
	if s.Unbounded && s.Generation != nil {
		cur.ref = store.SegmentRef(s.Key, *s.Generation)
		for _, k := range members.included {
			h := store.ContextHash(k)
			cur.included = append(cur.included, h)
			changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: cur.ref})
		}
		for _, k := range members.excluded {
			h := store.ContextHash(k)
			cur.excluded = append(cur.excluded, h)
			changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: cur.ref, Excluded: true})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	if err := d.Store.ApplyMembership(ctx, changes); err != nil {
		return fmt.Errorf("flagtest: big segment %q membership: %w", s.Key, err)
	}
	if err := d.Store.SetSynchronizedOn(ctx, time.Now()); err != nil {
		return fmt.Errorf("flagtest: big segment %q: %w", s.Key, err)
	}
	if cur.ref == "" {
		delete(d.big, s.Key)
	} else {
		d.big[s.Key] = cur
	}
	return nil
}

// FlagKeys returns the keys of the flags in the test data, in order.
func (d *TestData) FlagKeys() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Sorted(maps.Keys(d.flags))
}

// ClientConfig returns a client configuration that reads this TestData for
// flags, segments and big segments, with no flag cache and a big-segment
// membership cache of one nanosecond, so that every evaluation sees the
// last update, and logging discarded. Adjust it before client.New.
func (d *TestData) ClientConfig() client.Config {
	return client.Config{
		Store:  d,
		Cache:  cache.Options{Mode: cache.ModeOff},
		Logger: slog.New(slog.DiscardHandler),
		BigSegments: client.BigSegmentsConfig{
			Store:    d,
			CacheTTL: time.Nanosecond,
		},
	}
}

// Client returns a client built with [TestData.ClientConfig], closed when
// the test ends. It fails the test if the client cannot be created.
func (d *TestData) Client(t testing.TB) *client.Client {
	t.Helper()
	c, err := client.New(d.ClientConfig())
	if err != nil {
		t.Fatalf("flagtest: client.New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
