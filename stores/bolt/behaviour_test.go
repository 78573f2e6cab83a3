package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

func mustOpen(t *testing.T, path string, opts *bolt.Options) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReadOnlyCreatesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	s := mustOpen(t, filepath.Join(dir, "flags.db"), &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	// A reader of a file that does not exist says so, naming the path.
	wantNotExist := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, bolt.ErrNotExist) || !errors.Is(err, fs.ErrNotExist) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v; want an error wrapping bolt.ErrNotExist, fs.ErrNotExist and store.ErrUnavailable", what, err)
		} else if !strings.Contains(err.Error(), filepath.Join(dir, "flags.db")) || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("%s: %q does not say that the file does not exist, with its absolute path", what, err)
		}
	}
	ok, err := s.Initialized(ctx)
	wantNotExist("Initialized", err)
	if ok {
		t.Error("Initialized = true with no file")
	}
	wantNotExist("Ping", s.Ping(ctx))
	_, _, err = s.Get(ctx, store.Features, "f")
	wantNotExist("Get", err)
	_, err = s.GetAll(ctx, store.Features)
	wantNotExist("GetAll", err)
	_, err = s.Membership(ctx, "h")
	wantNotExist("Membership", err)
	// A writer's store before its first write is empty, not an error.
	w := mustOpen(t, filepath.Join(t.TempDir(), "flags.db"), nil)
	if ok, err := w.Initialized(ctx); ok || err != nil {
		t.Errorf("writer's Initialized before the first write = %v, %v; want false, nil", ok, err)
	}
	if _, err := s.Upsert(ctx, store.Features, "f", store.Item{Version: 1, Data: []byte(`{}`)}); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Upsert: %v, want ErrReadOnly", err)
	}
	if err := s.Init(ctx, nil); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("Init: %v, want ErrReadOnly", err)
	}
	if err := s.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}}); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("ApplyMembership: %v, want ErrReadOnly", err)
	}
	if err := s.SetSynchronizedOn(ctx, time.Now()); !errors.Is(err, bolt.ErrReadOnly) {
		t.Errorf("SetSynchronizedOn: %v, want ErrReadOnly", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a read-only store created %s (%v)", dir, err)
	}
}

func TestOpenDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	s := mustOpen(t, "", nil)
	if filepath.Base(s.Path()) != bolt.DefaultPath || !filepath.IsAbs(s.Path()) {
		t.Errorf("Path() = %q, want an absolute path to %s", s.Path(), bolt.DefaultPath)
	}
	if _, err := bolt.Open("x.db", &bolt.Options{Prefix: "$meta"}); err == nil {
		t.Error("Open accepted a prefix beginning with '$'")
	}
	ctx := context.Background()
	if _, err := s.Upsert(ctx, store.Features, "", store.Item{Version: 1}); err == nil {
		t.Error("Upsert of an empty key: nil error")
	}
	if _, _, err := s.Get(ctx, "$inited", "x"); err == nil {
		t.Error("Get of a reserved kind: nil error")
	}
	// The first write creates the files, with the default prefix.
	if err := s.Init(ctx, genData(1, 3)); err != nil {
		t.Fatal(err)
	}
	other := mustOpen(t, "", &bolt.Options{Prefix: bolt.DefaultPrefix})
	if ok, err := other.Initialized(ctx); !ok || err != nil {
		t.Errorf("a store with prefix %q does not see the default prefix's data: %v, %v", bolt.DefaultPrefix, ok, err)
	}
	for _, name := range []string{bolt.DefaultPath, bolt.DefaultPath + ".lock"} {
		if _, err := os.Stat(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestWritesAreInPlaceWhileReadersRead checks the fast path: with a reader
// reading between writes, upserts update the standby file in place.
func TestWritesAreInPlaceWhileReadersRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, nil)
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	if err := w.Init(ctx, genData(1, 500)); err != nil {
		t.Fatal(err)
	}
	for v := 1001; v <= 1050; v++ {
		c := counterItem(v)
		if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
			t.Fatal(err)
		}
		it, _, err := r.Get(ctx, store.Features, "counter")
		if err != nil || it.Version != v {
			t.Fatalf("reader after upsert %d: v%d, %v", v, it.Version, err)
		}
	}
	in, cp := w.WriteCounts()
	// The Init and the first upsert after it copy; the rest are in place.
	if cp > 2 || in < 48 {
		t.Errorf("in place: %d, copied: %d; want at most 2 copies", in, cp)
	}
}

// TestStaleReaderDoesNotBlockWriter keeps a reader on an old file (no
// checks, no background release): writes copy instead of waiting for it,
// and the reader still reads its complete old dataset.
func TestStaleReaderDoesNotBlockWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, &bolt.Options{StandbyWait: time.Millisecond})
	ctx := context.Background()
	if err := w.Init(ctx, genData(1, 200)); err != nil {
		t.Fatal(err)
	}
	stale := mustOpen(t, path, &bolt.Options{ReadOnly: true, CheckInterval: time.Hour, ReleaseInterval: -1})
	start := time.Now()
	for v := 1001; v <= 1010; v++ {
		c := counterItem(v)
		if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("10 upserts with a stale reader: %v", time.Since(start))
	items, err := stale.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatal(err)
	}
	if _, counter, err := checkDataset(items, 200); err != nil || counter != 1000 {
		t.Fatalf("stale reader: counter %d, %v; want its old dataset", counter, err)
	}
	fresh := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	if it, _, err := fresh.Get(ctx, store.Features, "counter"); err != nil || it.Version != 1010 {
		t.Fatalf("fresh reader: v%d, %v", it.Version, err)
	}
}

func TestInitKeepsOtherPrefixesAndBigSegments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	a := mustOpen(t, path, &bolt.Options{Prefix: "env-a"})
	b := mustOpen(t, path, &bolt.Options{Prefix: "env-b"})
	ctx := context.Background()
	if err := b.Init(ctx, genData(5, 10)); err != nil {
		t.Fatal(err)
	}
	if err := a.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: "h1", SegmentRef: "s.g1"}}); err != nil {
		t.Fatal(err)
	}
	when := time.UnixMilli(1_700_000_000_123)
	if err := a.SetSynchronizedOn(ctx, when); err != nil {
		t.Fatal(err)
	}
	if err := a.Init(ctx, genData(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := a.Init(ctx, genData(2, 20)); err != nil {
		t.Fatal(err)
	}
	if m, err := a.Membership(ctx, "h1"); err != nil || !slices.Equal(m.Included, []string{"s.g1"}) {
		t.Errorf("membership after Init: %+v, %v", m, err)
	}
	if got, ok, err := a.SynchronizedOn(ctx); err != nil || !ok || !got.Equal(when) {
		t.Errorf("synchronized-on after Init: %v, %v, %v", got, ok, err)
	}
	items, err := b.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatal(err)
	}
	if gen, _, err := checkDataset(items, 10); err != nil || gen != 5 {
		t.Errorf("other prefix after Init: generation %d, %v", gen, err)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 5)
	for _, name := range []string{".tmp-123", ".tmp-link-abc"} {
		if err := os.WriteFile(path+name, []byte("left by a dead writer"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A file that only looks similar is not ours.
	if err := os.WriteFile(path+"x.tmp-1", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path, nil)
	c := counterItem(1001)
	if _, err := s.Upsert(context.Background(), store.Features, c.Key, c.Item); err != nil {
		t.Fatal(err)
	}
	if left := tempFiles(t, path); len(left) > 0 {
		t.Errorf("left: %v", left)
	}
	if _, err := os.Stat(path + "x.tmp-1"); err != nil {
		t.Errorf("removed a file that is not the store's: %v", err)
	}
}

// TestRandomWritesMatchModel applies random writes through two store values
// (as two writer processes would) and checks after each that a reader sees
// exactly what a map model holds. It exercises catch-up of the standby file
// across alternating writers, copies, Inits and big-segment writes.
func TestRandomWritesMatchModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	writers := []*bolt.Store{
		mustOpen(t, path, &bolt.Options{NoSync: true}),
		mustOpen(t, path, &bolt.Options{NoSync: true, StandbyWait: -1}),
	}
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 42))
	model := map[store.Kind]map[string]store.Item{store.Features: {}, store.Segments: {}}
	members := map[string]map[string]bool{} // hash -> "i:ref" / "e:ref"
	var syncOn int64
	ops := 400
	if testing.Short() {
		ops = 100
	}
	for i := range ops {
		w := writers[rng.IntN(len(writers))]
		kind := store.Kinds[rng.IntN(2)]
		switch op := rng.IntN(20); {
		case op == 0:
			n := rng.IntN(20)
			fresh := map[string]store.Item{}
			var items []store.KeyedItem
			for j := range n {
				key := fmt.Sprintf("k%d", rng.IntN(30))
				it := store.Item{Version: rng.IntN(10), Deleted: j%7 == 3, Data: fmt.Appendf(nil, `{"i":%d}`, i)}
				items = append(items, store.KeyedItem{Key: key, Item: it})
				fresh[key] = it // the last of duplicate keys wins
			}
			if err := w.Init(ctx, []store.Collection{{Kind: kind, Items: items}}); err != nil {
				t.Fatalf("op %d Init: %v", i, err)
			}
			model = map[store.Kind]map[string]store.Item{store.Features: {}, store.Segments: {}}
			model[kind] = fresh
		case op < 14:
			key := fmt.Sprintf("k%d", rng.IntN(30))
			it := store.Item{Version: rng.IntN(40), Deleted: rng.IntN(5) == 0, Data: fmt.Appendf(nil, `{"op":%d}`, i)}
			applied, err := w.Upsert(ctx, kind, key, it)
			if err != nil {
				t.Fatalf("op %d Upsert: %v", i, err)
			}
			old, had := model[kind][key]
			want := !had || old.Version < it.Version
			if applied != want {
				t.Fatalf("op %d Upsert(%s v%d) applied=%v, want %v (stored v%d)", i, key, it.Version, applied, want, old.Version)
			}
			if want {
				model[kind][key] = it
			}
		case op < 19:
			var changes []store.MembershipChange
			for range 1 + rng.IntN(4) {
				c := store.MembershipChange{
					ContextHash: fmt.Sprintf("h%d", rng.IntN(6)),
					SegmentRef:  fmt.Sprintf("s%d.g1", rng.IntN(3)),
					Excluded:    rng.IntN(2) == 0,
					Remove:      rng.IntN(3) == 0,
				}
				changes = append(changes, c)
				ref := "i:" + c.SegmentRef
				if c.Excluded {
					ref = "e:" + c.SegmentRef
				}
				if members[c.ContextHash] == nil {
					members[c.ContextHash] = map[string]bool{}
				}
				if c.Remove {
					delete(members[c.ContextHash], ref)
				} else {
					members[c.ContextHash][ref] = true
				}
			}
			if err := w.ApplyMembership(ctx, changes); err != nil {
				t.Fatalf("op %d ApplyMembership: %v", i, err)
			}
		default:
			syncOn = int64(1_600_000_000_000 + i)
			if err := w.SetSynchronizedOn(ctx, time.UnixMilli(syncOn)); err != nil {
				t.Fatalf("op %d SetSynchronizedOn: %v", i, err)
			}
		}
		// Check everything through the reader.
		for _, k := range store.Kinds {
			items, err := r.GetAll(ctx, k)
			if err != nil {
				t.Fatalf("op %d GetAll: %v", i, err)
			}
			got := map[string]store.Item{}
			for _, ki := range items {
				got[ki.Key] = ki.Item
			}
			if !maps.EqualFunc(got, model[k], func(a, b store.Item) bool {
				return a.Version == b.Version && a.Deleted == b.Deleted && string(a.Data) == string(b.Data)
			}) {
				t.Fatalf("op %d: %s = %v, model %v", i, k, got, model[k])
			}
		}
		for hash, refs := range members {
			m, err := r.Membership(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			var want, got []string
			for ref := range refs {
				want = append(want, ref)
			}
			for _, x := range m.Included {
				got = append(got, "i:"+x)
			}
			for _, x := range m.Excluded {
				got = append(got, "e:"+x)
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("op %d: membership %s = %v, model %v", i, hash, got, want)
			}
		}
		if got, ok, err := r.SynchronizedOn(ctx); err != nil || ok != (syncOn != 0) || (ok && got.UnixMilli() != syncOn) {
			t.Fatalf("op %d: synchronized-on %v %v %v, model %d", i, got, ok, err, syncOn)
		}
	}
	for i, w := range writers {
		in, cp := w.WriteCounts()
		t.Logf("writer %d: %d writes in place, %d copied", i, in, cp)
	}
}

// TestWriterRefusesMissingDirectory: a writer given a path in a directory
// that does not exist refuses to create it unless asked (a mistyped path
// would otherwise become a new, empty store that readers never look at).
func TestWriterRefusesMissingDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nodir")
	path := filepath.Join(dir, "x.db")
	ctx := context.Background()
	w := mustOpen(t, path, nil)
	err := w.Init(ctx, genData(1, 3))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "MakeDirs") {
		t.Fatalf("Init into a missing directory: %v; want an error wrapping fs.ErrNotExist naming %s and MakeDirs", err, dir)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the refused write created %s (%v)", dir, err)
	}
	mk := mustOpen(t, path, &bolt.Options{MakeDirs: true})
	if err := mk.Init(ctx, genData(1, 3)); err != nil {
		t.Fatalf("Init with MakeDirs: %v", err)
	}
	// Once the directory exists, a writer without MakeDirs writes too.
	if err := w.Init(ctx, genData(2, 3)); err != nil {
		t.Fatalf("Init once the directory exists: %v", err)
	}
}
