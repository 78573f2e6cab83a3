package client_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// testFlags and testSegments are the dataset most tests start from.
var testFlags = []string{
	`{"key":"bool-flag","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":1},"salt":"s",
		"targets":[{"variation":0,"values":["excluded-user"]}],
		"rules":[{"id":"rule-1","variation":0,"clauses":[{"attribute":"email","op":"endsWith","values":["@blocked.example"]}]}]}`,
	`{"key":"int-flag","version":1,"on":true,"variations":[1,2.7],"fallthrough":{"variation":1}}`,
	`{"key":"float-flag","version":1,"on":true,"variations":[1.5,-2.5],"fallthrough":{"variation":1}}`,
	`{"key":"string-flag","version":1,"on":true,"variations":["a","b"],"fallthrough":{"variation":0}}`,
	`{"key":"json-flag","version":1,"on":true,"variations":[{"x":1},[1,2]],"fallthrough":{"variation":0}}`,
	`{"key":"off-no-offvar","version":1,"on":false,"variations":[true,false],"fallthrough":{"variation":0}}`,
	`{"key":"malformed-index","version":1,"on":true,"variations":[true,false],"fallthrough":{"variation":5}}`,
	`{"key":"prereq-flag","version":1,"on":true,"variations":["off","on"],"offVariation":0,"fallthrough":{"variation":1},
		"prerequisites":[{"key":"bool-flag","variation":1}]}`,
	`{"key":"segment-flag","version":1,"on":true,"variations":[false,true],"offVariation":0,"fallthrough":{"variation":0},
		"rules":[{"id":"in-beta","variation":1,"clauses":[{"attribute":"","op":"segmentMatch","values":["beta"]}]}]}`,
	// Valid JSON with a valid version, but "on" is not a boolean: the
	// model cannot decode it.
	`{"key":"bad-json","version":1,"on":"yes","variations":[true]}`,
}

var testSegments = []string{
	`{"key":"beta","version":1,"included":["beta-user"],"salt":"s"}`,
}

// env is a real bbolt store file: a writer store to change it, and a
// separate read-only store instance on the same file for clients, as a
// writer process and a client process would have.
type env struct {
	t      testing.TB
	path   string
	writer *bolt.Store
	reader *bolt.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flags.db")
	w, err := bolt.Open(path, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open writer store: %v", err)
	}
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("open reader store: %v", err)
	}
	t.Cleanup(func() {
		r.Close()
		w.Close()
	})
	e := &env{t: t, path: path, writer: w, reader: r}
	e.noDataset()
	return e
}

// noDataset creates the store file without a dataset (no $inited marker):
// a store a writer has not initialized yet, which newEnv starts from. (A
// reader of a file that does not exist at all reports bolt.ErrNotExist
// instead.)
func (e *env) noDataset() {
	e.t.Helper()
	if _, err := e.writer.Upsert(bg, store.Segments, "placeholder", store.Item{Version: 1, Deleted: true, Data: []byte(`{"key":"placeholder","version":1,"deleted":true}`)}); err != nil {
		e.t.Fatalf("create the store file: %v", err)
	}
}

func item(t testing.TB, json string) (string, store.Item) {
	t.Helper()
	it, err := store.ItemFromJSON([]byte(json))
	if err != nil {
		t.Fatalf("item %s: %v", json, err)
	}
	v, err := jsonvalue.Parse([]byte(json))
	if err != nil {
		t.Fatalf("item %s: %v", json, err)
	}
	k, _ := v.Get("key")
	return k.Str(), it
}

// init replaces the dataset.
func (e *env) init(flags, segments []string) {
	e.t.Helper()
	var fs, ss []store.KeyedItem
	for _, f := range flags {
		k, it := item(e.t, f)
		fs = append(fs, store.KeyedItem{Key: k, Item: it})
	}
	for _, s := range segments {
		k, it := item(e.t, s)
		ss = append(ss, store.KeyedItem{Key: k, Item: it})
	}
	err := e.writer.Init(context.Background(), []store.Collection{
		{Kind: store.Segments, Items: ss}, {Kind: store.Features, Items: fs},
	})
	if err != nil {
		e.t.Fatalf("init: %v", err)
	}
}

func (e *env) upsert(kind store.Kind, json string) {
	e.t.Helper()
	k, it := item(e.t, json)
	applied, err := e.writer.Upsert(context.Background(), kind, k, it)
	if err != nil || !applied {
		e.t.Fatalf("upsert %s: applied=%v err=%v", k, applied, err)
	}
}

// client creates a client on the reader store (unless cfg names a store),
// closed at the end of the test.
func (e *env) client(cfg client.Config) *client.Client {
	e.t.Helper()
	if cfg.Store == nil && !cfg.Offline {
		cfg.Store = e.reader
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	c, err := client.New(cfg)
	if err != nil {
		e.t.Fatalf("client.New: %v", err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// logBuffer collects log lines, safely for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) lines(substr string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

func newLogBuffer() (*logBuffer, *slog.Logger) {
	b := &logBuffer{}
	return b, slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// faultyReader wraps a real store and fails every call while fail is set,
// and can add latency to every call.
type faultyReader struct {
	store.Reader
	fail    atomic.Pointer[error]
	latency atomic.Int64
	gets    atomic.Int64
}

func (f *faultyReader) setFail(err error) {
	if err == nil {
		f.fail.Store(nil)
		return
	}
	f.fail.Store(&err)
}

func (f *faultyReader) before() error {
	if d := time.Duration(f.latency.Load()); d > 0 {
		time.Sleep(d)
	}
	if p := f.fail.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *faultyReader) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	f.gets.Add(1)
	if err := f.before(); err != nil {
		return store.Item{}, false, err
	}
	return f.Reader.Get(ctx, kind, key)
}

func (f *faultyReader) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	if err := f.before(); err != nil {
		return nil, err
	}
	return f.Reader.GetAll(ctx, kind)
}

func (f *faultyReader) Initialized(ctx context.Context) (bool, error) {
	if err := f.before(); err != nil {
		return false, err
	}
	return f.Reader.Initialized(ctx)
}

var errInjected = fmt.Errorf("%w: injected failure", store.ErrUnavailable)

// eventually is the repository's one wait helper (internal/testwait).
var eventually = testwait.Eventually

func jsonEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	g, err := jsonvalue.Parse(got)
	if err != nil {
		t.Fatalf("invalid JSON %s: %v", got, err)
	}
	w, err := jsonvalue.Parse([]byte(want))
	if err != nil {
		t.Fatalf("invalid expected JSON %s: %v", want, err)
	}
	if !g.Equal(w) {
		t.Errorf("JSON differs\n got: %s\nwant: %s", g.JSON(), w.JSON())
	}
}
