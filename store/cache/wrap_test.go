package cache

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
)

// wrapStore wraps a real store.Store: it counts calls, and can inject
// failures, latency, a gate that holds every read, and a simulated loss of
// the whole dataset (the "$inited" marker and every item disappear, as when
// Redis restarts without persistence).
type wrapStore struct {
	store.Store

	gets, getAlls, inits, pings atomic.Int64
	mu                          sync.Mutex
	getsByKey                   map[string]int

	fail    atomic.Pointer[error]
	latency atomic.Int64 // nanoseconds added to every call
	lost    atomic.Bool
	gate    atomic.Pointer[chan struct{}] // when set, calls wait for it to close
}

func wrap(s store.Store) *wrapStore {
	return &wrapStore{Store: s, getsByKey: map[string]int{}}
}

// pingStore is a wrapStore that also implements store.Pinger.
type pingStore struct{ *wrapStore }

func (w pingStore) Ping(ctx context.Context) error {
	w.pings.Add(1)
	return w.before(ctx)
}

func (w *wrapStore) setFail(err error) {
	if err == nil {
		w.fail.Store(nil)
		return
	}
	w.fail.Store(&err)
}

// hold makes every store call wait until the returned function is called.
func (w *wrapStore) hold() (release func()) {
	ch := make(chan struct{})
	w.gate.Store(&ch)
	var once sync.Once
	return func() {
		once.Do(func() {
			w.gate.Store(nil)
			close(ch)
		})
	}
}

func (w *wrapStore) before(ctx context.Context) error {
	if g := w.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if d := time.Duration(w.latency.Load()); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if e := w.fail.Load(); e != nil {
		return *e
	}
	return nil
}

func (w *wrapStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	w.gets.Add(1)
	w.mu.Lock()
	w.getsByKey[string(kind)+"/"+key]++
	w.mu.Unlock()
	if err := w.before(ctx); err != nil {
		return store.Item{}, false, err
	}
	if w.lost.Load() {
		return store.Item{}, false, nil
	}
	return w.Store.Get(ctx, kind, key)
}

func (w *wrapStore) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	w.getAlls.Add(1)
	if err := w.before(ctx); err != nil {
		return nil, err
	}
	if w.lost.Load() {
		return nil, nil
	}
	return w.Store.GetAll(ctx, kind)
}

func (w *wrapStore) Initialized(ctx context.Context) (bool, error) {
	w.inits.Add(1)
	if err := w.before(ctx); err != nil {
		return false, err
	}
	if w.lost.Load() {
		return false, nil
	}
	return w.Store.Initialized(ctx)
}

func (w *wrapStore) getsOf(kind store.Kind, key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.getsByKey[string(kind)+"/"+key]
}

// testItem is the value type of the generic core's tests.
type testItem struct {
	Key     string `json:"key"`
	Version int    `json:"version"`
	Deleted bool   `json:"deleted"`
	Value   string `json:"value"`
	Bad     bool   `json:"bad"`
	// Deps are "features/<key>" or "segments/<key>".
	Deps []string `json:"deps"`
}

type testCodec struct {
	decodes atomic.Int64
}

func (tc *testCodec) codec(kind store.Kind) codec[*testItem] {
	return codec[*testItem]{
		kind: kind,
		decode: func(data []byte) (*testItem, error) {
			tc.decodes.Add(1)
			var it testItem
			if err := json.Unmarshal(data, &it); err != nil {
				return nil, err
			}
			if it.Bad {
				return nil, fmt.Errorf("item %q is bad", it.Key)
			}
			return &it, nil
		},
		deleted: func(it *testItem) bool { return it.Deleted },
		version: func(it *testItem) int { return it.Version },
		deps: func(it *testItem) []ref {
			var out []ref
			for _, d := range it.Deps {
				k, key, _ := strings.Cut(d, "/")
				out = append(out, ref{store.Kind(k), key})
			}
			return out
		},
	}
}

// testCache is the generic core with two kinds of testItem.
type testCache struct {
	c     *core
	flags *kind[*testItem]
	segs  *kind[*testItem]
	tc    *testCodec
}

func newTestCache(t *testing.T, r store.Reader, opts Options) *testCache {
	t.Helper()
	tc := &testCodec{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := newCore(r, opts)
	x := &testCache{c: c, tc: tc}
	x.segs = newKind(c, tc.codec(store.Segments))
	x.flags = newKind(c, tc.codec(store.Features))
	c.start()
	t.Cleanup(c.close)
	return x
}

func item(key string, version int, value string, deps ...string) store.Item {
	data, _ := json.Marshal(testItem{Key: key, Version: version, Value: value, Deps: deps})
	return store.Item{Version: version, Data: data}
}

func keyed(key string, it store.Item) store.KeyedItem { return store.KeyedItem{Key: key, Item: it} }

// initStore writes a dataset through the real store's write side.
func initStore(t testing.TB, s store.Writer, flags, segs []store.KeyedItem) {
	t.Helper()
	err := s.Init(context.Background(), []store.Collection{
		{Kind: store.Segments, Items: segs},
		{Kind: store.Features, Items: flags},
	})
	if err != nil {
		t.Fatalf("init: %v", err)
	}
}

func upsert(t testing.TB, s store.Writer, kind store.Kind, key string, it store.Item) {
	t.Helper()
	if _, err := s.Upsert(context.Background(), kind, key, it); err != nil {
		t.Fatalf("upsert: %v", err)
	}
}

// eventually is the repository's one wait helper (internal/testwait).
var eventually = testwait.Eventually

// logBuffer captures log output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := strings.TrimSpace(b.buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

var errBoom = errors.New("connection refused")

// statusRecorder collects status notifications.
type statusRecorder struct {
	mu  sync.Mutex
	got []Status
}

func (r *statusRecorder) add(s Status) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *statusRecorder) states() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]State, len(r.got))
	for i, s := range r.got {
		out[i] = s.State
	}
	return out
}
