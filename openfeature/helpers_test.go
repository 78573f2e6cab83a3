package openfeature

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// waitTimeout bounds every wait for an event in these tests; a test that
// reaches it fails.
const waitTimeout = 20 * time.Second

// fixture is a bbolt store written by the real writer, and a provider
// reading it through the SDK.
type fixture struct {
	path   string
	w      *bolt.Store
	p      *Provider
	api    *of.EvaluationAPI
	client *of.Client
}

// newFixture writes the flag data files into a new bbolt store (and the
// raw flags of testdata/malformed-flags.json, which the writer refuses),
// builds a provider on it with NewFromAddress and registers it with an
// isolated OpenFeature API.
func newFixture(t *testing.T, opts Options, files ...string) *fixture {
	t.Helper()
	return newFixtureConfig(t, client.Config{}, opts, files...)
}

// newFixtureConfig is newFixture with a client configuration (its cache
// and logger are set for tests).
func newFixtureConfig(t *testing.T, cfg client.Config, opts Options, files ...string) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "flags.db")}
	w, err := bolt.Open(f.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	f.w = w
	f.writeFiles(t, files...)
	cfg.Cache = cache.Options{TTL: 50 * time.Millisecond, ChangePollInterval: 20 * time.Millisecond}
	cfg.Logger = quietLogger()
	p, err := NewFromAddress(context.Background(), "bolt:"+f.path, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		p.logger = quietLogger()
	}
	f.p = p
	f.api = isolated.NewAPI()
	t.Cleanup(func() { f.api.Shutdown(context.Background()) })
	return f
}

func (f *fixture) writeFiles(t *testing.T, files ...string) {
	t.Helper()
	if len(files) == 0 {
		return
	}
	ds, err := writer.LoadFiles(files...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.WriteDataset(context.Background(), f.w, ds); err != nil {
		t.Fatal(err)
	}
}

// upsertRaw stores flags without validation.
func (f *fixture) upsertRaw(t *testing.T, file string) {
	t.Helper()
	var doc struct{ Flags map[string]json.RawMessage }
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for key, raw := range doc.Flags {
		it, err := store.ItemFromJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.w.Upsert(context.Background(), store.Features, key, it); err != nil {
			t.Fatal(err)
		}
	}
}

// start registers the provider and waits for initialization.
func (f *fixture) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := f.api.SetProviderAndWait(ctx, f.p); err != nil {
		t.Fatal(err)
	}
	f.client = f.api.NewClient()
}

// events records the events the SDK's API-level handlers receive.
type eventLog struct {
	mu  sync.Mutex
	got []of.EventDetails
	typ []of.EventType
	ch  chan struct{}
}

func watchEvents(api *of.EvaluationAPI, types ...of.EventType) *eventLog {
	e := &eventLog{ch: make(chan struct{}, 1)}
	for _, typ := range types {
		cb := func(d of.EventDetails) {
			e.mu.Lock()
			e.got = append(e.got, d)
			e.typ = append(e.typ, typ)
			e.mu.Unlock()
			select {
			case e.ch <- struct{}{}:
			default:
			}
		}
		api.AddHandler(typ, &cb)
	}
	return e
}

// waitFor waits until an event of type typ for which match (if not nil)
// holds has been received, and returns it.
func (e *eventLog) waitFor(t *testing.T, typ of.EventType, match func(of.EventDetails) bool) of.EventDetails {
	t.Helper()
	deadline := time.After(waitTimeout)
	seen := 0
	for {
		e.mu.Lock()
		for ; seen < len(e.got); seen++ {
			if e.typ[seen] == typ && (match == nil || match(e.got[seen])) {
				d := e.got[seen]
				e.mu.Unlock()
				return d
			}
		}
		e.mu.Unlock()
		select {
		case <-e.ch:
		case <-deadline:
			t.Fatalf("no %s event within %v; got %v", typ, waitTimeout, e.types())
		}
	}
}

func (e *eventLog) types() []of.EventType {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]of.EventType(nil), e.typ...)
}

func (e *eventLog) count(typ of.EventType) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, t := range e.typ {
		if t == typ {
			n++
		}
	}
	return n
}
