package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// T is the part of *testing.T the suite's checks use. Failing checks call
// Errorf, or Fatalf and Skip, which, like testing's, must not return (they
// end the goroutine with runtime.Goexit).
type T interface {
	Helper()
	Context() context.Context
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
}

// Runner is a [T] that runs subtests, each with a Runner of the same type,
// as *testing.T does (Run(name string, f func(*testing.T)) bool). The suite
// runs on any Runner through [RunWith]; its own tests run it on a recorder
// that collects failures, to show that it rejects broken stores.
type Runner[X any] interface {
	T
	Run(name string, f func(X)) bool
}

// Harness describes a backend to the suite run by [Run].
type Harness = HarnessOf[*testing.T]

// HarnessOf describes a backend to the suite run on a Runner of type X.
type HarnessOf[X Runner[X]] struct {
	// New opens a new store instance on the dataset named by prefix. Instances
	// with the same prefix share data (a second instance must see the first
	// one's writes); different prefixes are isolated. The suite closes what it
	// opens. The harness must give each Run a fresh namespace (e.g. by mixing
	// a random token into prefixes), so reruns never see old data.
	New func(t X, prefix string) store.Store

	// AtomicInit is true when the backend promises readers never see a partly
	// written Init. The suite then runs a reader against a writer that keeps
	// replacing large datasets and fails on any mix of two datasets.
	AtomicInit bool

	// BigSegments, when non-nil, opens big-segment reader/writer on the
	// dataset named by prefix; the suite then also checks big-segment
	// behaviour. The reader and writer may be one object; the suite closes
	// it once. When either implements [store.MembershipScanner], the suite
	// checks scanning too.
	BigSegments func(t X, prefix string) (store.BigSegmentReader, store.BigSegmentWriter)

	// NoErrorAfterClose is set by a backend whose calls after Close may
	// succeed (for example one whose client holds no connection to close).
	// The suite then only checks that such calls do not panic. Zero: every
	// call after Close must return an error.
	NoErrorAfterClose bool

	// DatasetSize is the number of flags in each dataset of the large-init
	// tests (init atomicity, bulk round trip). Zero means 500.
	DatasetSize int

	// Goroutines is the number of goroutines in the concurrent-upsert test,
	// half of them on a second store instance. Zero means 32.
	Goroutines int

	// AtomicInitDuration bounds how long the init-atomicity test keeps
	// replacing datasets. Zero means 2 seconds.
	AtomicInitDuration time.Duration
}

func (h HarnessOf[X]) datasetSize() int {
	if h.DatasetSize > 0 {
		return h.DatasetSize
	}
	return 500
}

func (h HarnessOf[X]) goroutines() int {
	if h.Goroutines > 0 {
		return h.Goroutines
	}
	return 32
}

func (h HarnessOf[X]) atomicInitDuration() time.Duration {
	if h.AtomicInitDuration > 0 {
		return h.AtomicInitDuration
	}
	return 2 * time.Second
}

// Run runs the conformance suite against the backend h describes, each check
// as a subtest of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	RunWith(t, h)
}

// RunWith runs the conformance suite on any [Runner]: each check is a
// subtest of t, named as with [Run] ("InitReplacesEverything",
// "BigSegments/Remove", ...).
func RunWith[X Runner[X]](t X, h HarnessOf[X]) {
	t.Helper()
	if h.New == nil {
		t.Fatalf("storetest: Harness.New is nil")
	}
	s := &suite[X]{h: h}
	tests := []struct {
		name string
		fn   func(t X)
	}{
		{"FreshPrefixNotInitialized", s.testFreshPrefix},
		{"InitSetsInitialized", s.testInitSetsInitialized},
		{"InitReplacesEverything", s.testInitReplaces},
		{"SecondInstanceSeesInit", s.testSecondInstanceSeesInit},
		{"GetAndGetAllIncludeTombstones", s.testTombstones},
		{"GetMissingKey", s.testGetMissing},
		{"UpsertCreates", s.testUpsertCreates},
		{"UpsertVersions", s.testUpsertVersions},
		{"UpsertOlderAfterDelete", s.testUpsertAfterDelete},
		{"UpsertDoesNotSetInitialized", s.testUpsertNotInitialized},
		{"PrefixesIsolate", s.testPrefixesIsolate},
		{"ConcurrentUpsertsKeepHighestVersion", s.testConcurrentUpserts},
		{"InitIsAtomicForReaders", s.testAtomicInit},
		{"DataSurvivesReopen", s.testReopen},
		{"BytesRoundTrip", s.testBytesRoundTrip},
		{"LargeDatasetRoundTrip", s.testLargeDataset},
		{"CanceledContextIsError", s.testCanceledContext},
		{"Close", s.testClose},
		{"UseAfterCloseIsError", s.testUseAfterClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.fn)
	}
	t.Run("BigSegments", func(t X) {
		if h.BigSegments == nil {
			t.Skip("Harness.BigSegments is nil")
		}
		runBigSegments(t, h)
	})
}

type suite[X Runner[X]] struct {
	h HarnessOf[X]
}

// open opens a store instance that is closed when the test ends.
func (s *suite[X]) open(t X, prefix string) store.Store {
	t.Helper()
	st := s.openUnmanaged(t, prefix)
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// openUnmanaged opens a store instance the test closes itself.
func (s *suite[X]) openUnmanaged(t X, prefix string) store.Store {
	t.Helper()
	st := s.h.New(t, prefix)
	if st == nil {
		t.Fatalf("Harness.New(%q) returned nil", prefix)
	}
	return st
}

// flagJSON builds a flag-like item's JSON: key, version, optional deleted
// flag and extra members (already JSON, without braces).
func itemJSON(key string, version int, extra string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"key":%q,"version":%d`, key, version)
	if extra != "" {
		b.WriteByte(',')
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func item(t T, key string, version int, extra string) store.KeyedItem {
	t.Helper()
	it, err := store.ItemFromJSON(itemJSON(key, version, extra))
	if err != nil {
		t.Fatalf("building item %q: %v", key, err)
	}
	return store.KeyedItem{Key: key, Item: it}
}

func tombstone(key string, version int) store.KeyedItem {
	return store.KeyedItem{Key: key, Item: store.Tombstone(key, version)}
}

func collections(flags, segments []store.KeyedItem) []store.Collection {
	return []store.Collection{
		{Kind: store.Segments, Items: segments},
		{Kind: store.Features, Items: flags},
	}
}

func mustInit(t T, st store.Store, data []store.Collection) {
	t.Helper()
	if err := st.Init(t.Context(), data); err != nil {
		t.Fatalf("Init: %v", err)
	}
}

func mustInitialized(t T, st store.Reader, want bool) {
	t.Helper()
	got, err := st.Initialized(t.Context())
	if err != nil {
		t.Fatalf("Initialized: %v", err)
	}
	if got != want {
		t.Fatalf("Initialized = %v, want %v", got, want)
	}
}

func mustUpsert(t T, st store.Writer, kind store.Kind, ki store.KeyedItem, wantApplied bool) {
	t.Helper()
	applied, err := st.Upsert(t.Context(), kind, ki.Key, ki.Item)
	if err != nil {
		t.Fatalf("Upsert(%s, %q, v%d): %v", kind, ki.Key, ki.Item.Version, err)
	}
	if applied != wantApplied {
		t.Fatalf("Upsert(%s, %q, v%d) applied = %v, want %v", kind, ki.Key, ki.Item.Version, applied, wantApplied)
	}
}

// wantItem checks that Get returns exactly want.
func wantItem(t T, st store.Reader, kind store.Kind, want store.KeyedItem) {
	t.Helper()
	got, found, err := st.Get(t.Context(), kind, want.Key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", kind, want.Key, err)
	}
	if !found {
		t.Fatalf("Get(%s, %q): not found, want version %d", kind, want.Key, want.Item.Version)
	}
	if d := diffItem(got, want.Item); d != "" {
		t.Fatalf("Get(%s, %q): %s", kind, want.Key, d)
	}
}

func wantMissing(t T, st store.Reader, kind store.Kind, key string) {
	t.Helper()
	got, found, err := st.Get(t.Context(), kind, key)
	if err != nil {
		t.Fatalf("Get(%s, %q): %v", kind, key, err)
	}
	if found {
		t.Fatalf("Get(%s, %q) found version %d (deleted=%v), want not found", kind, key, got.Version, got.Deleted)
	}
}

// wantAll checks that GetAll returns exactly the items in want, in any order.
func wantAll(t T, st store.Reader, kind store.Kind, want []store.KeyedItem) {
	t.Helper()
	got, err := st.GetAll(t.Context(), kind)
	if err != nil {
		t.Fatalf("GetAll(%s): %v", kind, err)
	}
	if d := diffAll(got, want); d != "" {
		t.Fatalf("GetAll(%s): %s", kind, d)
	}
}

func diffItem(got, want store.Item) string {
	var d []string
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("version %d, want %d", got.Version, want.Version))
	}
	if got.Deleted != want.Deleted {
		d = append(d, fmt.Sprintf("deleted %v, want %v", got.Deleted, want.Deleted))
	}
	if !bytes.Equal(got.Data, want.Data) {
		d = append(d, fmt.Sprintf("data %s, want %s", abbrev(got.Data), abbrev(want.Data)))
	}
	return strings.Join(d, "; ")
}

func diffAll(got, want []store.KeyedItem) string {
	wantByKey := make(map[string]store.Item, len(want))
	for _, ki := range want {
		wantByKey[ki.Key] = ki.Item
	}
	seen := make(map[string]bool, len(got))
	var d []string
	for _, ki := range got {
		if seen[ki.Key] {
			d = append(d, fmt.Sprintf("key %q returned twice", ki.Key))
			continue
		}
		seen[ki.Key] = true
		w, ok := wantByKey[ki.Key]
		if !ok {
			d = append(d, fmt.Sprintf("unexpected key %q (version %d)", ki.Key, ki.Item.Version))
			continue
		}
		if x := diffItem(ki.Item, w); x != "" {
			d = append(d, fmt.Sprintf("key %q: %s", ki.Key, x))
		}
	}
	for _, ki := range want {
		if !seen[ki.Key] {
			d = append(d, fmt.Sprintf("missing key %q", ki.Key))
		}
	}
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... and %d more differences", len(d)-10))
	}
	return strings.Join(d, "; ")
}

func abbrev(b []byte) string {
	if len(b) > 120 {
		return fmt.Sprintf("%q... (%d bytes)", b[:120], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func (s *suite[X]) testFreshPrefix(t X) {
	st := s.open(t, "fresh")
	mustInitialized(t, st, false)
	wantMissing(t, st, store.Features, "flag")
	wantMissing(t, st, store.Segments, "segment")
	wantAll(t, st, store.Features, nil)
	wantAll(t, st, store.Segments, nil)
}

func (s *suite[X]) testInitSetsInitialized(t X) {
	t.Run("Empty", func(t X) {
		st := s.open(t, "init-empty")
		mustInitialized(t, st, false)
		mustInit(t, st, nil)
		mustInitialized(t, st, true)
		wantAll(t, st, store.Features, nil)
		wantAll(t, st, store.Segments, nil)
	})
	t.Run("WithData", func(t X) {
		st := s.open(t, "init-data")
		f := item(t, "f", 1, `"on":true`)
		sg := item(t, "s", 2, `"included":["a"]`)
		mustInit(t, st, collections([]store.KeyedItem{f}, []store.KeyedItem{sg}))
		mustInitialized(t, st, true)
		wantItem(t, st, store.Features, f)
		wantItem(t, st, store.Segments, sg)
		// Kinds keep their items apart: a flag key is not a segment key.
		wantMissing(t, st, store.Segments, "f")
		wantMissing(t, st, store.Features, "s")
	})
}

func (s *suite[X]) testInitReplaces(t X) {
	st := s.open(t, "init-replace")
	a1 := item(t, "a", 1, "")
	b1 := item(t, "b", 1, "")
	s1 := item(t, "s1", 1, "")
	s2 := item(t, "s2", 7, "")
	mustInit(t, st, collections([]store.KeyedItem{a1, b1}, []store.KeyedItem{s1, s2}))

	// The new dataset drops a, keeps b at a lower version (Init is not
	// versioned), adds c and has no segments at all.
	b0 := item(t, "b", 0, `"replaced":true`)
	c5 := item(t, "c", 5, "")
	mustInit(t, st, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{b0, c5}}})
	mustInitialized(t, st, true)
	wantMissing(t, st, store.Features, "a")
	wantItem(t, st, store.Features, b0)
	wantItem(t, st, store.Features, c5)
	wantAll(t, st, store.Features, []store.KeyedItem{b0, c5})
	wantAll(t, st, store.Segments, nil)
	wantMissing(t, st, store.Segments, "s1")

	// Items upserted before an Init are replaced too.
	mustUpsert(t, st, store.Features, item(t, "u", 9, ""), true)
	d := item(t, "d", 1, "")
	mustInit(t, st, collections([]store.KeyedItem{d}, nil))
	wantAll(t, st, store.Features, []store.KeyedItem{d})
}

func (s *suite[X]) testSecondInstanceSeesInit(t X) {
	w := s.open(t, "second")
	r := s.open(t, "second")
	mustInitialized(t, r, false)
	wantMissing(t, r, store.Features, "f")

	f := item(t, "f", 3, "")
	sg := item(t, "s", 4, "")
	mustInit(t, w, collections([]store.KeyedItem{f}, []store.KeyedItem{sg}))
	mustInitialized(t, r, true)
	wantItem(t, r, store.Features, f)
	wantAll(t, r, store.Segments, []store.KeyedItem{sg})

	// Writes through either instance are seen by the other.
	f4 := item(t, "f", 4, "")
	mustUpsert(t, w, store.Features, f4, true)
	wantItem(t, r, store.Features, f4)
	g := item(t, "g", 1, "")
	mustUpsert(t, r, store.Features, g, true)
	wantAll(t, w, store.Features, []store.KeyedItem{f4, g})
}

func (s *suite[X]) testTombstones(t X) {
	st := s.open(t, "tombstones")
	live := item(t, "live", 2, "")
	dead := tombstone("dead", 5)
	deadSeg := tombstone("dead-seg", 3)
	mustInit(t, st, collections([]store.KeyedItem{live, dead}, []store.KeyedItem{deadSeg}))
	wantItem(t, st, store.Features, live)
	wantItem(t, st, store.Features, dead)
	wantItem(t, st, store.Segments, deadSeg)
	wantAll(t, st, store.Features, []store.KeyedItem{live, dead})
	wantAll(t, st, store.Segments, []store.KeyedItem{deadSeg})

	// A tombstone upserted over a live item replaces it.
	gone := tombstone("live", 3)
	mustUpsert(t, st, store.Features, gone, true)
	wantItem(t, st, store.Features, gone)
	wantAll(t, st, store.Features, []store.KeyedItem{gone, dead})
}

func (s *suite[X]) testGetMissing(t X) {
	st := s.open(t, "missing")
	mustInit(t, st, collections([]store.KeyedItem{item(t, "f", 1, "")}, nil))
	for _, kind := range store.Kinds {
		for _, key := range []string{"nope", "", "f\x00", "F"} {
			wantMissing(t, st, kind, key)
		}
	}
}

func (s *suite[X]) testUpsertCreates(t X) {
	st := s.open(t, "upsert-create")
	mustInit(t, st, nil)
	f := item(t, "f", 1, "")
	sg := item(t, "s", 1, "")
	mustUpsert(t, st, store.Features, f, true)
	mustUpsert(t, st, store.Segments, sg, true)
	wantItem(t, st, store.Features, f)
	wantItem(t, st, store.Segments, sg)
	// A first write may be a tombstone.
	td := tombstone("t", 2)
	mustUpsert(t, st, store.Features, td, true)
	wantItem(t, st, store.Features, td)
	// Version 0 is a real version, newer than nothing.
	z := item(t, "zero", 0, "")
	mustUpsert(t, st, store.Features, z, true)
	wantItem(t, st, store.Features, z)
	wantAll(t, st, store.Features, []store.KeyedItem{f, td, z})
	wantAll(t, st, store.Segments, []store.KeyedItem{sg})
}

func (s *suite[X]) testUpsertVersions(t X) {
	for _, kind := range store.Kinds {
		t.Run(string(kind), func(t X) {
			st := s.open(t, "upsert-"+string(kind))
			v5 := item(t, "k", 5, `"which":"first"`)
			mustInit(t, st, []store.Collection{{Kind: kind, Items: []store.KeyedItem{v5}}})

			same := item(t, "k", 5, `"which":"same"`)
			mustUpsert(t, st, kind, same, false)
			wantItem(t, st, kind, v5)

			older := item(t, "k", 4, `"which":"older"`)
			mustUpsert(t, st, kind, older, false)
			wantItem(t, st, kind, v5)

			newer := item(t, "k", 6, `"which":"newer"`)
			mustUpsert(t, st, kind, newer, true)
			wantItem(t, st, kind, newer)

			jump := item(t, "k", 1000, `"which":"jump"`)
			mustUpsert(t, st, kind, jump, true)
			wantItem(t, st, kind, jump)
			mustUpsert(t, st, kind, newer, false)
			wantItem(t, st, kind, jump)
			wantAll(t, st, kind, []store.KeyedItem{jump})
		})
	}
}

func (s *suite[X]) testUpsertAfterDelete(t X) {
	st := s.open(t, "upsert-delete")
	mustInit(t, st, collections([]store.KeyedItem{item(t, "f", 1, "")}, nil))
	del := tombstone("f", 5)
	mustUpsert(t, st, store.Features, del, true)
	wantItem(t, st, store.Features, del)

	mustUpsert(t, st, store.Features, item(t, "f", 4, ""), false)
	wantItem(t, st, store.Features, del)
	mustUpsert(t, st, store.Features, item(t, "f", 5, ""), false)
	wantItem(t, st, store.Features, del)
	mustUpsert(t, st, store.Features, tombstone("f", 5), false)
	mustUpsert(t, st, store.Features, tombstone("f", 2), false)
	wantItem(t, st, store.Features, del)

	back := item(t, "f", 6, `"resurrected":true`)
	mustUpsert(t, st, store.Features, back, true)
	wantItem(t, st, store.Features, back)
}

func (s *suite[X]) testUpsertNotInitialized(t X) {
	st := s.open(t, "upsert-uninit")
	f := item(t, "f", 1, "")
	mustUpsert(t, st, store.Features, f, true)
	mustInitialized(t, st, false)
	wantItem(t, st, store.Features, f)
}

func (s *suite[X]) testPrefixesIsolate(t X) {
	a := s.open(t, "iso")
	b := s.open(t, "iso-b")
	c := s.open(t, "is")
	fa := item(t, "f", 1, `"in":"a"`)
	mustInit(t, a, collections([]store.KeyedItem{fa}, []store.KeyedItem{item(t, "s", 1, "")}))
	for _, other := range []store.Store{b, c} {
		mustInitialized(t, other, false)
		wantMissing(t, other, store.Features, "f")
		wantAll(t, other, store.Features, nil)
		wantAll(t, other, store.Segments, nil)
	}

	fb := item(t, "f", 2, `"in":"b"`)
	mustUpsert(t, b, store.Features, fb, true)
	wantItem(t, a, store.Features, fa)
	wantItem(t, b, store.Features, fb)

	fc := item(t, "f", 3, `"in":"c"`)
	mustInit(t, c, collections([]store.KeyedItem{fc}, nil))
	wantItem(t, a, store.Features, fa)
	wantItem(t, b, store.Features, fb)
	wantAll(t, a, store.Segments, []store.KeyedItem{item(t, "s", 1, "")})
	mustInitialized(t, b, false)

	// Version checks are per prefix: v1 in a is not compared with v2 in b.
	mustUpsert(t, a, store.Features, item(t, "g", 1, ""), true)
	mustUpsert(t, b, store.Features, item(t, "g", 1, ""), true)
}

func (s *suite[X]) testConcurrentUpserts(t X) {
	st1 := s.open(t, "concurrent")
	st2 := s.open(t, "concurrent")
	mustInit(t, st1, nil)

	const perGoroutine = 4
	n := s.h.goroutines()
	versions := rand.Perm(n * perGoroutine)
	maxVersion := n*perGoroutine - 1
	items := make(map[int]store.Item, len(versions))
	for _, v := range versions {
		items[v] = item(t, "hot", v, fmt.Sprintf(`"writer":"v%d"`, v)).Item
	}

	var (
		wg         sync.WaitGroup
		mu         sync.Mutex
		errs       []error
		maxApplied bool
		start      = make(chan struct{})
	)
	for g := range n {
		st := st1
		if g%2 == 1 {
			st = st2
		}
		mine := versions[g*perGoroutine : (g+1)*perGoroutine]
		wg.Go(func() {
			<-start
			for _, v := range mine {
				applied, err := st.Upsert(context.Background(), store.Features, "hot", items[v])
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("upsert v%d: %w", v, err))
				}
				if v == maxVersion {
					maxApplied = applied
				}
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d upserts failed, first: %v", len(errs), errs[0])
	}
	if !maxApplied {
		t.Errorf("the upsert of the highest version %d reported applied=false", maxVersion)
	}
	want := store.KeyedItem{Key: "hot", Item: items[maxVersion]}
	wantItem(t, st1, store.Features, want)
	wantItem(t, st2, store.Features, want)
	wantAll(t, st2, store.Features, []store.KeyedItem{want})
}

// generation builds dataset number gen: size flags, a few segments and one
// flag whose key names the generation, every item carrying "gen" in its JSON.
func generation(gen, size int) []store.Collection {
	pad := strings.Repeat("x", 64)
	mk := func(key, extra string) store.KeyedItem {
		return store.KeyedItem{Key: key, Item: store.Item{Version: gen, Data: itemJSON(key, gen, extra)}}
	}
	flags := make([]store.KeyedItem, 0, size+1)
	for i := range size {
		flags = append(flags, mk(fmt.Sprintf("flag-%04d", i), fmt.Sprintf(`"gen":%d,"pad":%q`, gen, pad)))
	}
	flags = append(flags, mk(fmt.Sprintf("only-gen-%d", gen), fmt.Sprintf(`"gen":%d`, gen)))
	segs := make([]store.KeyedItem, 0, 10)
	for i := range 10 {
		segs = append(segs, mk(fmt.Sprintf("seg-%d", i), fmt.Sprintf(`"gen":%d`, gen)))
	}
	return collections(flags, segs)
}

// checkGeneration checks that items are one complete generation of a
// dataset built by generation: want items, all of one generation, and, when
// withMarkerKey is set, exactly the one "only-gen-N" key of that generation.
// It returns the generation.
func checkGeneration(items []store.KeyedItem, want int, withMarkerKey bool) (int, error) {
	if len(items) == 0 {
		return 0, errors.New("no items")
	}
	gen := -1
	markers := 0
	for _, ki := range items {
		g, err := genOf(ki.Item.Data)
		if err != nil {
			return 0, fmt.Errorf("key %q: %w", ki.Key, err)
		}
		if gen == -1 {
			gen = g
		}
		if g != gen || ki.Item.Version != gen {
			return 0, fmt.Errorf("mixed datasets: key %q has generation %d (version %d), an earlier item has %d", ki.Key, g, ki.Item.Version, gen)
		}
		if strings.HasPrefix(ki.Key, "only-gen-") {
			markers++
			if ki.Key != fmt.Sprintf("only-gen-%d", gen) {
				return 0, fmt.Errorf("mixed datasets: key %q in generation %d", ki.Key, gen)
			}
		}
	}
	if len(items) != want || (withMarkerKey && markers != 1) {
		return 0, fmt.Errorf("partial dataset: generation %d has %d items (%d marker keys), want %d", gen, len(items), markers, want)
	}
	return gen, nil
}

func genOf(data []byte) (int, error) {
	i := bytes.Index(data, []byte(`"gen":`))
	if i < 0 {
		return 0, fmt.Errorf("no generation marker in %s", abbrev(data))
	}
	var g int
	if _, err := fmt.Sscanf(string(data[i+len(`"gen":`):]), "%d", &g); err != nil {
		return 0, fmt.Errorf("bad generation marker in %s", abbrev(data))
	}
	return g, nil
}

func (s *suite[X]) testAtomicInit(t X) {
	if !s.h.AtomicInit {
		t.Skip("the backend does not promise atomic Init (Harness.AtomicInit is false)")
	}
	size := s.h.datasetSize()
	w := s.open(t, "atomic")
	r := s.open(t, "atomic")
	mustInit(t, w, generation(1, size))

	// Build every dataset up front so the writer replaces them back to back.
	deadline := time.Now().Add(s.h.atomicInitDuration())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	var (
		wg        sync.WaitGroup
		readErr   error
		reads     int
		lastGen   int
		writerErr error
		gens      int
	)
	wg.Go(func() {
		defer cancel()
		for gen := 2; time.Now().Before(deadline); gen++ {
			if err := w.Init(ctx, generation(gen, size)); err != nil {
				writerErr = fmt.Errorf("Init of generation %d: %w", gen, err)
				return
			}
			gens = gen
		}
	})
	wg.Go(func() {
		for ctx.Err() == nil {
			ok, err := r.Initialized(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				readErr = fmt.Errorf("Initialized: %w", err)
				return
			}
			if !ok {
				readErr = errors.New("Initialized reported false while datasets were being replaced")
				return
			}
			items, err := r.GetAll(ctx, store.Features)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				readErr = fmt.Errorf("GetAll(features): %w", err)
				return
			}
			gen, err := checkGeneration(items, size+1, true)
			if err != nil {
				readErr = fmt.Errorf("read %d, GetAll(features): %w", reads, err)
				return
			}
			if gen < lastGen {
				readErr = fmt.Errorf("read %d: generation went back from %d to %d", reads, lastGen, gen)
				return
			}
			lastGen = gen
			segs, err := r.GetAll(ctx, store.Segments)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				readErr = fmt.Errorf("GetAll(segments): %w", err)
				return
			}
			if _, err := checkGeneration(segs, 10, false); err != nil {
				readErr = fmt.Errorf("read %d, GetAll(segments): %w", reads, err)
				return
			}
			reads++
		}
	})
	wg.Wait()
	if writerErr != nil {
		t.Fatalf("%v", writerErr)
	}
	if readErr != nil {
		t.Fatalf("%v", readErr)
	}
	t.Logf("%d datasets of %d flags written, %d complete reads, last generation seen %d", gens-1, size+1, reads, lastGen)
	if reads == 0 {
		t.Errorf("the reader completed no read while %d datasets were written", gens-1)
	}
	if gens < 3 {
		t.Errorf("only %d datasets written in %v; the test saw too little", gens-1, s.h.atomicInitDuration())
	}
}

func (s *suite[X]) testReopen(t X) {
	st := s.openUnmanaged(t, "reopen")
	f := item(t, "f", 2, "")
	d := tombstone("d", 3)
	sg := item(t, "s", 1, "")
	mustInit(t, st, collections([]store.KeyedItem{f, d}, []store.KeyedItem{sg}))
	up := item(t, "u", 8, "")
	mustUpsert(t, st, store.Features, up, true)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	st2 := s.open(t, "reopen")
	mustInitialized(t, st2, true)
	wantAll(t, st2, store.Features, []store.KeyedItem{f, d, up})
	wantAll(t, st2, store.Segments, []store.KeyedItem{sg})
	mustUpsert(t, st2, store.Features, item(t, "u", 8, ""), false)
}

func (s *suite[X]) testBytesRoundTrip(t X) {
	st := s.open(t, "bytes")
	mustInit(t, st, nil)
	large := make([]byte, 0, 100<<10)
	large = append(large, `{"version":3,"key":"large","values":[`...)
	for i := 0; len(large) < 100<<10; i++ {
		if i > 0 {
			large = append(large, ',')
		}
		large = fmt.Appendf(large, `"value-%d-ünïcödé"`, i)
	}
	large = append(large, "]}"...)
	cases := []struct {
		key  string
		data string
	}{
		{"unicode", `{"key":"unicode","version":1,"name":"日本語 ✓ 🎉 café","esc":"\u00e9\u2028\ud83d\ude00"}`},
		{"layout", "{ \"version\" : 2 ,\n\t\"key\":\"layout\", \"zeta\":1, \"alpha\":[ 1,2 ], \"n\":1.50e3 }"},
		{"ключ:with/odd chars.{tag}", `{"key":"ключ:with/odd chars.{tag}","version":4}`},
		{"deleted-raw", `{"deleted":true,"version":9,"key":"deleted-raw","extra":"kept"}`},
		{"large", string(large)},
	}
	want := make([]store.KeyedItem, 0, len(cases))
	for _, c := range cases {
		it, err := store.ItemFromJSON([]byte(c.data))
		if err != nil {
			t.Fatalf("case %q: %v", c.key, err)
		}
		ki := store.KeyedItem{Key: c.key, Item: it}
		mustUpsert(t, st, store.Features, ki, true)
		want = append(want, ki)
	}
	for _, ki := range want {
		wantItem(t, st, store.Features, ki)
	}
	wantAll(t, st, store.Features, want)

	// The same bytes through Init, read by a second instance.
	mustInit(t, st, []store.Collection{{Kind: store.Segments, Items: want}})
	r := s.open(t, "bytes")
	wantAll(t, r, store.Segments, want)
	wantAll(t, r, store.Features, nil)
}

func (s *suite[X]) testLargeDataset(t X) {
	size := s.h.datasetSize()
	w := s.open(t, "large")
	data := generation(3, size)
	mustInit(t, w, data)
	r := s.open(t, "large")
	wantAll(t, r, store.Features, data[1].Items)
	wantAll(t, r, store.Segments, data[0].Items)
	wantItem(t, r, store.Features, data[1].Items[size/2])
}

func (s *suite[X]) testCanceledContext(t X) {
	st := s.open(t, "canceled")
	mustInit(t, st, collections([]store.KeyedItem{item(t, "f", 1, "")}, nil))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f2 := item(t, "f", 2, "")
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, _, err := st.Get(ctx, store.Features, "f"); return err }},
		{"GetAll", func() error { _, err := st.GetAll(ctx, store.Features); return err }},
		{"Initialized", func() error { _, err := st.Initialized(ctx); return err }},
		{"Upsert", func() error { _, err := st.Upsert(ctx, store.Features, "f", f2.Item); return err }},
		{"Init", func() error { return st.Init(ctx, nil) }},
	}
	for _, c := range calls {
		if err := c.fn(); err == nil {
			t.Errorf("%s with a canceled context returned a nil error", c.name)
		}
	}
	// Nothing a canceled call did may be visible.
	wantAll(t, st, store.Features, []store.KeyedItem{item(t, "f", 1, "")})
}

func (s *suite[X]) testClose(t X) {
	st := s.openUnmanaged(t, "close")
	mustInit(t, st, nil)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A second Close must not panic; it may return an error.
	var pe panicError
	if err := noPanic(st.Close); errors.As(err, &pe) {
		t.Fatalf("second Close panicked: %v", pe.v)
	}
	// Other instances on the prefix are unaffected.
	other := s.open(t, "close")
	mustInitialized(t, other, true)
}

func (s *suite[X]) testUseAfterClose(t X) {
	st := s.openUnmanaged(t, "after-close")
	mustInit(t, st, nil)
	if err := st.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := t.Context()
	calls := []struct {
		name string
		fn   func() error
	}{
		{"Get", func() error { _, _, err := st.Get(ctx, store.Features, "f"); return err }},
		{"GetAll", func() error { _, err := st.GetAll(ctx, store.Features); return err }},
		{"Initialized", func() error { _, err := st.Initialized(ctx); return err }},
		{"Upsert", func() error { _, err := st.Upsert(ctx, store.Features, "f", item(t, "f", 1, "").Item); return err }},
		{"Init", func() error { return st.Init(ctx, nil) }},
	}
	if p, ok := st.(store.Pinger); ok {
		calls = append(calls, struct {
			name string
			fn   func() error
		}{"Ping", func() error { return p.Ping(ctx) }})
	}
	for _, c := range calls {
		err := noPanic(c.fn)
		var pe panicError
		switch {
		case errors.As(err, &pe):
			t.Errorf("%s after Close panicked: %v", c.name, pe.v)
		case err == nil && !s.h.NoErrorAfterClose:
			t.Errorf("%s after Close returned a nil error (set Harness.NoErrorAfterClose if that is by design)", c.name)
		}
	}
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// noPanic calls fn and turns a panic into a panicError.
func noPanic(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return fn()
}

// sorted returns a sorted copy, treating nil and empty alike.
func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}
