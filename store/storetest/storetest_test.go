package storetest_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/store/storetest"
)

// TestSuiteOnReferenceStore runs the suite on the public in-memory store, so
// a change to the suite is checked without a backend. Real backends run the
// suite in their own packages.
func TestSuiteOnReferenceStore(t *testing.T) {
	storetest.Run(t, memHarness[*testing.T](nil))
}

// memHarness opens memstore handles, one dataset per prefix, each handle
// wrapped by wrap (when not nil) to break it.
func memHarness[X storetest.Runner[X]](wrap func(s *memstore.Store, prefix string) store.Store) storetest.HarnessOf[X] {
	var mu sync.Mutex
	roots := map[string]*memstore.Store{}
	open := func(prefix string) store.Store {
		mu.Lock()
		root := roots[prefix]
		if root == nil {
			root = memstore.New()
			roots[prefix] = root
		}
		mu.Unlock()
		if wrap != nil {
			return wrap(root.Connect(), prefix)
		}
		return root.Connect()
	}
	return storetest.HarnessOf[X]{
		New:        func(_ X, prefix string) store.Store { return open(prefix) },
		AtomicInit: true,
		BigSegments: func(_ X, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := open(prefix).(interface {
				store.BigSegmentReader
				store.BigSegmentWriter
			})
			return s, s
		},
		DatasetSize:        100,
		AtomicInitDuration: 300 * time.Millisecond,
	}
}

// TestSuiteRejectsBrokenStores runs the suite on stores that break one
// contract each and checks that it fails them, in the check for that
// contract, with a message that says what is wrong.
func TestSuiteRejectsBrokenStores(t *testing.T) {
	cases := []struct {
		name string
		wrap func(s *memstore.Store, prefix string) store.Store
		// check is the subtest that must fail; any of msgs must be in its
		// failure.
		check string
		msgs  []string
	}{
		{
			name:  "VersionsGoBackwards",
			wrap:  func(s *memstore.Store, _ string) store.Store { return newLastWriteWins(s) },
			check: "UpsertVersions/features",
			msgs:  []string{"applied = true, want false"},
		},
		{
			name:  "TombstonesDropped",
			wrap:  func(s *memstore.Store, _ string) store.Store { return dropTombstones{s} },
			check: "GetAndGetAllIncludeTombstones",
			msgs:  []string{`Get(features, "dead"): not found`},
		},
		{
			name:  "NonAtomicInitClaimedAtomic",
			wrap:  func(s *memstore.Store, _ string) store.Store { return pieceByPieceInit{s} },
			check: "InitIsAtomicForReaders",
			msgs:  []string{"partial dataset", "mixed datasets", "no items"},
		},
		{
			name:  "InitializedMarkerLeaksAcrossPrefixes",
			wrap:  sharedMarker(),
			check: "PrefixesIsolate",
			msgs:  []string{"Initialized = true, want false"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := runRecorded(memHarness[*recorder](tc.wrap))
			got, failed := rec.failures()[tc.check]
			if !failed {
				t.Fatalf("the suite did not fail %s; failures: %v", tc.check, rec.failures())
			}
			if !slices.ContainsFunc(tc.msgs, func(m string) bool { return strings.Contains(got, m) }) {
				t.Errorf("%s failed with %q, want a message containing one of %q", tc.check, got, tc.msgs)
			}
		})
	}
}

// TestRecorderPassesReferenceStore checks the recorder itself: the correct
// store run through it has no failures, so the failures above come from the
// broken stores.
func TestRecorderPassesReferenceStore(t *testing.T) {
	rec := runRecorded(memHarness[*recorder](nil))
	if f := rec.failures(); len(f) > 0 {
		t.Fatalf("the reference store failed under the recorder: %v", f)
	}
	if rec.subtests.Load() < 20 {
		t.Errorf("the recorder ran %d subtests, want every check of the suite", rec.subtests.Load())
	}
}

// runRecorded runs the suite on a recorder and returns it once done.
func runRecorded(h storetest.HarnessOf[*recorder]) *recorder {
	root := newRecorder("", nil)
	root.Run("suite", func(r *recorder) { storetest.RunWith(r, h) })
	return root
}

// recorder is a storetest.Runner that records failures instead of failing
// the test, the way testing runs subtests: each on its own goroutine, Fatalf
// and Skip end it with runtime.Goexit, cleanups run in reverse order after
// its context is canceled.
type recorder struct {
	name     string
	ctx      context.Context
	cancel   context.CancelFunc
	cleanups []func()
	root     *recorder

	mu       sync.Mutex
	failed   map[string]string // subtest name -> first failure (root only)
	subtests atomic.Int64      // root only
}

func newRecorder(name string, root *recorder) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{name: name, ctx: ctx, cancel: cancel, root: root}
	if root == nil {
		r.root = r
		r.failed = map[string]string{}
	}
	return r
}

func (r *recorder) Helper()                  {}
func (r *recorder) Context() context.Context { return r.ctx }
func (r *recorder) Cleanup(f func())         { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Logf(string, ...any)      {}

func (r *recorder) Errorf(format string, args ...any) {
	root := r.root
	root.mu.Lock()
	defer root.mu.Unlock()
	if _, ok := root.failed[r.name]; !ok {
		root.failed[r.name] = fmt.Sprintf(format, args...)
	}
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Skip(...any) { runtime.Goexit() }

func (r *recorder) Run(name string, f func(*recorder)) bool {
	full := name
	if r.name != "" && r.name != "suite" {
		full = r.name + "/" + name
	}
	child := newRecorder(full, r.root)
	r.root.subtests.Add(1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			child.cancel()
			for i := len(child.cleanups) - 1; i >= 0; i-- {
				child.cleanups[i]()
			}
		}()
		f(child)
	}()
	<-done
	_, failed := r.root.failures()[full]
	return !failed
}

// failures returns the failed subtests and their first messages.
func (r *recorder) failures() map[string]string {
	r.root.mu.Lock()
	defer r.root.mu.Unlock()
	out := make(map[string]string, len(r.root.failed))
	for k, v := range r.root.failed {
		out[k] = v
	}
	return out
}

// lastWriteWins applies every upsert, older versions too: versions go
// backwards. Refused writes are kept in an overlay that reads prefer.
type lastWriteWins struct {
	*memstore.Store
	mu      sync.Mutex
	overlay map[store.Kind]map[string]store.Item
}

func newLastWriteWins(s *memstore.Store) *lastWriteWins {
	return &lastWriteWins{Store: s, overlay: map[store.Kind]map[string]store.Item{}}
}

func (l *lastWriteWins) Upsert(ctx context.Context, kind store.Kind, key string, it store.Item) (bool, error) {
	applied, err := l.Store.Upsert(ctx, kind, key, it)
	if err != nil {
		return false, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if applied {
		delete(l.overlay[kind], key)
		return true, nil
	}
	if l.overlay[kind] == nil {
		l.overlay[kind] = map[string]store.Item{}
	}
	l.overlay[kind][key] = it
	return true, nil
}

func (l *lastWriteWins) Init(ctx context.Context, data []store.Collection) error {
	l.mu.Lock()
	l.overlay = map[store.Kind]map[string]store.Item{}
	l.mu.Unlock()
	return l.Store.Init(ctx, data)
}

func (l *lastWriteWins) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	it, ok, err := l.Store.Get(ctx, kind, key)
	l.mu.Lock()
	defer l.mu.Unlock()
	if o, has := l.overlay[kind][key]; has && err == nil {
		return o, true, nil
	}
	return it, ok, err
}

func (l *lastWriteWins) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	all, err := l.Store.GetAll(ctx, kind)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, ki := range all {
		if o, has := l.overlay[kind][ki.Key]; has {
			all[i].Item = o
		}
	}
	return all, err
}

// dropTombstones hides deleted items from reads.
type dropTombstones struct{ *memstore.Store }

func (d dropTombstones) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	it, ok, err := d.Store.Get(ctx, kind, key)
	if it.Deleted {
		return store.Item{}, false, err
	}
	return it, ok, err
}

func (d dropTombstones) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	all, err := d.Store.GetAll(ctx, kind)
	return slices.DeleteFunc(all, func(ki store.KeyedItem) bool { return ki.Item.Deleted }), err
}

// pieceByPieceInit replaces the dataset one item at a time: first an empty
// dataset with the segments, then each flag, yielding between writes, so
// readers see partial datasets.
type pieceByPieceInit struct{ *memstore.Store }

func (p pieceByPieceInit) Init(ctx context.Context, data []store.Collection) error {
	var rest []store.ItemUpdate
	var first []store.Collection
	for _, c := range data {
		if c.Kind == store.Segments {
			first = append(first, c)
			continue
		}
		for _, ki := range c.Items {
			rest = append(rest, store.ItemUpdate{Kind: c.Kind, Key: ki.Key, Item: ki.Item})
		}
	}
	if err := p.Store.Init(ctx, first); err != nil {
		return err
	}
	for _, u := range rest {
		if _, err := p.Store.Upsert(ctx, u.Kind, u.Key, u.Item); err != nil {
			return err
		}
		runtime.Gosched()
	}
	return nil
}

// sharedMarker returns a wrap whose stores share one "$inited" marker
// across every prefix, as a backend that forgets to prefix it would.
func sharedMarker() func(s *memstore.Store, prefix string) store.Store {
	var inited atomic.Bool
	return func(s *memstore.Store, _ string) store.Store {
		return &leakyMarker{Store: s, inited: &inited}
	}
}

type leakyMarker struct {
	*memstore.Store
	inited *atomic.Bool
}

func (l *leakyMarker) Init(ctx context.Context, data []store.Collection) error {
	err := l.Store.Init(ctx, data)
	if err == nil {
		l.inited.Store(true)
	}
	return err
}

func (l *leakyMarker) Initialized(ctx context.Context) (bool, error) {
	if _, err := l.Store.Initialized(ctx); err != nil {
		return false, err
	}
	return l.inited.Load(), nil
}
