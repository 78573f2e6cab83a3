package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// dataProvider is evaluation.DataProvider, restated so this package's tests
// do not import the evaluator.
type dataProvider interface {
	Flag(ctx context.Context, key string) *model.Flag
	Segment(ctx context.Context, key string) *model.Segment
}

var _ dataProvider = (*Cache)(nil)

func flagJSON(key string, version int, extra string) store.KeyedItem {
	if extra != "" {
		extra = "," + extra
	}
	data := fmt.Appendf(nil, `{"key":%q,"version":%d,"on":true,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1,"salt":"s"%s}`,
		key, version, extra)
	return store.KeyedItem{Key: key, Item: store.Item{Version: version, Data: data}}
}

func segmentJSON(key string, version int, extra string) store.KeyedItem {
	if extra != "" {
		extra = "," + extra
	}
	data := fmt.Appendf(nil, `{"key":%q,"version":%d,"included":["u1"],"salt":"s"%s}`, key, version, extra)
	return store.KeyedItem{Key: key, Item: store.Item{Version: version, Data: data}}
}

// segRule is a rules property matching the given segments.
func segRule(keys ...string) string {
	vals := ""
	for i, k := range keys {
		if i > 0 {
			vals += ","
		}
		vals += fmt.Sprintf("%q", k)
	}
	return fmt.Sprintf(`"rules":[{"id":"r","variation":0,"clauses":[{"attribute":"","op":"segmentMatch","values":[%s]}]}]`, vals)
}

func prereq(key string) string {
	return fmt.Sprintf(`"prerequisites":[{"key":%q,"variation":0}]`, key)
}

func newCache(t testing.TB, r store.Reader, opts Options) *Cache {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	x := New(r, opts)
	t.Cleanup(func() { x.Close() })
	return x
}

func TestCacheReadsFlagsAndSegments(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s,
		[]store.KeyedItem{
			flagJSON("b", 1, ""),
			flagJSON("a", 2, segRule("s1")),
			{Key: "gone", Item: store.Tombstone("gone", 4)},
			{Key: "bad", Item: store.Item{Version: 1, Data: []byte(`{"key":"bad","version":1,"on":"yes"}`)}},
		},
		[]store.KeyedItem{segmentJSON("s1", 1, "")})
	w := wrap(s)
	x := newCache(t, w, Options{})
	ctx := context.Background()
	if !x.Initialized(ctx) {
		t.Fatal("not initialized")
	}
	if f := x.Flag(ctx, "a"); f == nil || f.Key != "a" || f.Version != 2 || len(f.Rules) != 1 {
		t.Fatalf("Flag(a) = %+v", f)
	}
	if sg := x.Segment(ctx, "s1"); sg == nil || sg.Key != "s1" {
		t.Fatalf("Segment(s1) = %+v", sg)
	}
	for _, key := range []string{"gone", "missing"} {
		if f, err := x.GetFlag(ctx, key); f != nil || err != nil {
			t.Errorf("GetFlag(%s) = %v, %v; want nil, nil", key, f, err)
		}
	}
	if f, err := x.GetFlag(ctx, "bad"); f != nil || !errors.Is(err, store.ErrMalformedItem) {
		t.Errorf("GetFlag(bad) = %v, %v", f, err)
	}
	if f := x.Flag(ctx, "bad"); f != nil {
		t.Errorf("Flag(bad) = %v", f)
	}
	all, err := x.AllFlags(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, f := range all {
		keys = append(keys, f.Key)
	}
	if !slices.Equal(keys, []string{"a", "b"}) {
		t.Errorf("AllFlags keys = %v", keys)
	}
	all[0] = nil // the caller owns the slice
	if again, _ := x.AllFlags(ctx); again[0] == nil {
		t.Error("AllFlags returned a shared slice")
	}
	segs, err := x.AllSegments(ctx)
	if err != nil || len(segs) != 1 {
		t.Errorf("AllSegments = %v, %v", segs, err)
	}
	if st := x.Status(); st.State != Available || st.Stale {
		t.Errorf("status = %+v", st)
	}
}

func TestCacheNilStore(t *testing.T) {
	x := newCache(t, nil, Options{ProbeInterval: time.Hour})
	ctx := context.Background()
	if x.Initialized(ctx) {
		t.Error("initialized without a store")
	}
	if _, err := x.GetFlag(ctx, "a"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("err = %v", err)
	}
	if f := x.Flag(ctx, "a"); f != nil {
		t.Errorf("flag = %v", f)
	}
	if st := x.Status(); st.State != Unavailable || !errors.Is(st.Err, errNoStore) {
		t.Errorf("status = %+v", st)
	}
}

func TestCacheChangeListenersFollowDependencies(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s,
		[]store.KeyedItem{
			flagJSON("base", 1, ""),
			flagJSON("needs-base", 1, prereq("base")),
			flagJSON("needs-needs-base", 1, prereq("needs-base")),
			flagJSON("uses-outer", 1, segRule("other", "outer")),
			flagJSON("uses-inner", 1, segRule("inner")),
			flagJSON("alone", 1, ""),
		},
		[]store.KeyedItem{
			segmentJSON("outer", 1, segRule("inner")),
			segmentJSON("inner", 1, ""),
			segmentJSON("other", 1, ""),
		})
	w := wrap(s)
	x := newCache(t, w, Options{ChangePollInterval: 5 * time.Millisecond})
	var rec changeRecorder
	defer x.OnChange(rec.add)()
	eventually(t, "baseline", func() bool { return w.getAlls.Load() >= 4 })

	steps := []struct {
		name   string
		change func()
		want   []string
	}{
		{"prerequisite chain", func() { upsert(t, s, store.Features, "base", flagJSON("base", 2, "").Item) },
			[]string{"base", "needs-base", "needs-needs-base"}},
		{"segment nested in a segment's rules", func() { upsert(t, s, store.Segments, "inner", segmentJSON("inner", 2, "").Item) },
			[]string{"uses-inner", "uses-outer"}},
		{"deleted flag", func() { upsert(t, s, store.Features, "alone", store.Tombstone("alone", 2)) },
			[]string{"alone"}},
		{"new flag", func() { upsert(t, s, store.Features, "fresh", flagJSON("fresh", 1, "").Item) },
			[]string{"fresh"}},
	}
	for _, st := range steps {
		st.change()
		var got []string
		eventually(t, st.name, func() bool {
			got = rec.take()
			return len(got) > 0
		})
		if !slices.Equal(got, st.want) {
			t.Errorf("%s: reported %v, want %v", st.name, got, st.want)
		}
	}
	if f := x.Flag(context.Background(), "base"); f == nil || f.Version != 2 {
		t.Errorf("after the change was reported, Flag(base) = %+v", f)
	}
	if f := x.Flag(context.Background(), "alone"); f != nil {
		t.Errorf("after the deletion was reported, Flag(alone) = %+v", f)
	}
}

func TestFlagWarmNoAlloc(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{flagJSON("a", 1, "")}, []store.KeyedItem{segmentJSON("s", 1, "")})
	x := newCache(t, s, Options{})
	ctx := context.Background()
	x.Flag(ctx, "a")
	x.Segment(ctx, "s")
	x.Flag(ctx, "missing")
	if n := testing.AllocsPerRun(1000, func() {
		x.Flag(ctx, "a")
		x.Segment(ctx, "s")
		x.Flag(ctx, "missing")
	}); n != 0 {
		t.Errorf("warm lookups allocate: %v allocs", n)
	}
}

// A writer changes a flag's prerequisite (adds the new one, points the flag
// at it, then deletes the old one) and each cached entry expires on its own
// clock. When the refresh of the old prerequisite finds it deleted, the
// cache reads the flag that used it again before installing the deletion,
// so it never serves the old flag with its prerequisite gone.
func TestRemovalRefreshesDependentsFirst(t *testing.T) {
	for _, tt := range []struct {
		name    string
		kind    store.Kind
		old     store.KeyedItem
		newDep  store.KeyedItem
		oldMain store.KeyedItem
		newMain store.KeyedItem
		remove  func(s store.Store)
	}{
		{
			name: "prerequisite tombstone", kind: store.Features,
			old: flagJSON("pre-1", 1, ""), newDep: flagJSON("pre-2", 1, ""),
			oldMain: flagJSON("main", 1, prereq("pre-1")), newMain: flagJSON("main", 2, prereq("pre-2")),
			remove: func(s store.Store) { upsert(t, s, store.Features, "pre-1", store.Tombstone("pre-1", 2)) },
		},
		{
			name: "segment gone from a new dataset", kind: store.Segments,
			old: segmentJSON("seg-1", 1, ""), newDep: segmentJSON("seg-2", 1, ""),
			oldMain: flagJSON("main", 1, segRule("seg-1")), newMain: flagJSON("main", 2, segRule("seg-2")),
			remove: func(s store.Store) {
				initStore(t, s, []store.KeyedItem{flagJSON("main", 2, segRule("seg-2"))}, []store.KeyedItem{segmentJSON("seg-2", 1, "")})
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asRead(t, func(t *testing.T, reader func(*wrapStore) store.Reader) {
				s := newRealStore(t)
				flags := []store.KeyedItem{tt.oldMain}
				var segs []store.KeyedItem
				if tt.kind == store.Features {
					flags = append(flags, tt.old)
				} else {
					segs = append(segs, tt.old)
				}
				initStore(t, s, flags, segs)
				w := wrap(s)
				x := newCache(t, reader(w), Options{TTL: time.Minute})
				ctx := context.Background()
				if f := x.Flag(ctx, "main"); f == nil || f.Version != 1 {
					t.Fatalf("main = %+v", f)
				}
				get := func(key string) bool {
					if tt.kind == store.Features {
						return x.Flag(ctx, key) != nil
					}
					return x.Segment(ctx, key) != nil
				}
				if !get(tt.old.Key) {
					t.Fatalf("%s not cached", tt.old.Key)
				}

				// The writer, in its order: new dependency, flag, removal.
				upsert(t, s, tt.kind, tt.newDep.Key, tt.newDep.Item)
				upsert(t, s, store.Features, "main", tt.newMain.Item)
				tt.remove(s)

				mainReads := w.getsOf(store.Features, "main")
				x.c.skew.Add(int64(2 * time.Minute))
				get(tt.old.Key) // expired: served, and one refresh starts
				eventually(t, "the removal installed", func() bool { return !get(tt.old.Key) })
				if n := w.getsOf(store.Features, "main"); n != mainReads+1 {
					t.Fatalf("store reads of main during the removal: %d, want 1", n-mainReads)
				}
				e := x.flags.slotEntry("main")
				if e == nil || !e.live || e.val.Version != 2 {
					t.Fatalf("main cached after the removal: %+v, want version 2", e)
				}
			})
		})
	}
}

// A read of every item of a kind (AllSegments here; the change poll and
// notifications read the same way) that finds an item removed reads the
// cached items that depend on it again first, as a single read does, and
// the cached list of all flags, read before, is not served any longer: a
// flag from before the change never meets a segment from after it.
// Removals counts each removal, before it shows.
func TestReadAllRemovalRefreshesDependentsFirst(t *testing.T) {
	for _, tt := range []struct {
		name   string
		remove func(s store.Store)
	}{
		{"tombstone", func(s store.Store) { upsert(t, s, store.Segments, "seg-1", store.Tombstone("seg-1", 2)) }},
		{"gone from a new dataset", func(s store.Store) {
			initStore(t, s, []store.KeyedItem{flagJSON("main", 2, segRule("seg-2"))}, []store.KeyedItem{segmentJSON("seg-2", 1, "")})
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asRead(t, func(t *testing.T, reader func(*wrapStore) store.Reader) {
				s := newRealStore(t)
				initStore(t, s, []store.KeyedItem{flagJSON("main", 1, segRule("seg-1"))}, []store.KeyedItem{segmentJSON("seg-1", 1, "")})
				x := newCache(t, reader(wrap(s)), Options{TTL: time.Hour})
				ctx := context.Background()
				flags, err := x.AllFlags(ctx)
				if err != nil || len(flags) != 1 || flags[0].Version != 1 {
					t.Fatalf("AllFlags = %v, %v", flags, err)
				}
				if x.Segment(ctx, "seg-1") == nil {
					t.Fatal("seg-1 not cached")
				}
				before := x.Removals()

				// The writer, in its order: new segment, flag, removal.
				upsert(t, s, store.Segments, "seg-2", segmentJSON("seg-2", 1, "").Item)
				upsert(t, s, store.Features, "main", flagJSON("main", 2, segRule("seg-2")).Item)
				tt.remove(s)

				segs, err := x.AllSegments(ctx)
				if err != nil || len(segs) != 1 || segs[0].Key != "seg-2" {
					t.Fatalf("AllSegments = %v, %v", segs, err)
				}
				if x.Segment(ctx, "seg-1") != nil {
					t.Fatal("seg-1 still served after the read that found it removed")
				}
				if x.Removals() == before {
					t.Error("Removals did not grow with the removal of seg-1")
				}
				if f := x.Flag(ctx, "main"); f == nil || f.Version != 2 {
					t.Fatalf("main after the removal of seg-1: %+v, want version 2", f)
				}
				flags, err = x.AllFlags(ctx)
				if err != nil || len(flags) != 1 || flags[0].Version != 2 {
					t.Fatalf("AllFlags after the removal of seg-1 = %v, %v; want main version 2", flags, err)
				}
			})
		})
	}
}
