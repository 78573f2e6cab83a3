package file_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/file"
	"github.com/daemonflag/daemonflag/writer"
)

// quick are the options of most tests: a short settle, polling as a slow
// safety net only.
func quick() *file.Options {
	return &file.Options{Settle: 20 * time.Millisecond, PollInterval: time.Hour, Logger: slog.New(slog.DiscardHandler)}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replace writes content to a temporary file and renames it over path, as
// editors and deployment tools do.
func replace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	write(t, tmp, content)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func open(t *testing.T, paths []string, o *file.Options) *file.Store {
	t.Helper()
	s, err := file.Open(t.Context(), paths, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func flagJSON(key string, value string) string {
	return `{"flags":{"` + key + `":{"on":true,"variations":["` + value + `","other"],"fallthrough":{"variation":0}}}}`
}

// value returns the value flag key serves by fallthrough, read from the
// store, or "" when the store has no such flag.
func value(t *testing.T, s store.Reader, key string) (string, error) {
	t.Helper()
	it, found, err := s.Get(context.Background(), store.Features, key)
	if err != nil || !found || it.Deleted {
		return "", err
	}
	f, err := model.DecodeFlag(it.Data)
	if err != nil {
		t.Fatalf("stored flag does not decode: %v", err)
	}
	return f.Variations[*f.Fallthrough.Variation].Str(), nil
}

func waitValue(t *testing.T, s store.Reader, key, want string) {
	t.Helper()
	testwait.Eventually(t, key+" = "+want, func() bool {
		v, err := value(t, s, key)
		return err == nil && v == want
	})
}

func TestLoadsJSONAndYAMLMerged(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml")
	write(t, a, `{"flags":{"f":{"on":true,"variations":[true,false],"fallthrough":{"variation":0}}},"flagValues":{"banner":"hi"}}`)
	write(t, b, "segments:\n  beta:\n    included: [alice]\nflags:\n  g:\n    on: false\n    variations: [1, 2]\n    offVariation: 1\n")
	s := open(t, []string{a, b}, quick())
	ok, err := s.Initialized(t.Context())
	if err != nil || !ok {
		t.Fatalf("Initialized = %v, %v", ok, err)
	}
	all, err := s.GetAll(t.Context(), store.Features)
	if err != nil || len(all) != 3 {
		t.Fatalf("GetAll = %d flags, %v; want f, g and banner", len(all), err)
	}
	for _, ki := range all {
		f, err := model.DecodeFlag(ki.Item.Data)
		if err != nil {
			t.Fatalf("%s: %v", ki.Key, err)
		}
		// Items are stored as the writer stores them: canonical JSON.
		if enc := f.AppendJSON(nil); string(enc) != string(ki.Item.Data) {
			t.Errorf("%s is not canonical: %s", ki.Key, ki.Item.Data)
		}
	}
	if _, found, _ := s.Get(t.Context(), store.Segments, "beta"); !found {
		t.Error("segment beta from the YAML file is missing")
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping = %v", err)
	}
	if st := s.Status(); st.Err != nil || st.LoadedAt.IsZero() || len(st.Files) != 2 {
		t.Errorf("Status = %+v, want the two files loaded without error", st)
	}
	if _, err := s.Upsert(t.Context(), store.Features, "f", store.Item{Version: 99, Data: []byte(`{"key":"f","version":99}`)}); !errors.Is(err, file.ErrReadOnly) {
		t.Errorf("Upsert = %v, want ErrReadOnly", err)
	}
	if err := s.Init(t.Context(), nil); !errors.Is(err, file.ErrReadOnly) {
		t.Errorf("Init = %v, want ErrReadOnly", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	write(t, bad, "{\n  \"flags\": {\n    \"f\": {\"on\": tru}\n  }\n}\n")
	good := filepath.Join(dir, "good.json")
	write(t, good, flagJSON("f", "a"))
	dup := filepath.Join(dir, "dup.json")
	write(t, dup, flagJSON("f", "b"))
	cases := []struct {
		name  string
		paths []string
		msg   string
	}{
		{"syntax", []string{bad}, "bad.json:3:"},
		{"missing", []string{filepath.Join(dir, "nope.json")}, "nope.json: cannot read"},
		{"duplicate", []string{good, dup}, "defined twice"},
		{"none", nil, "no flag data files"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := file.Open(t.Context(), tc.paths, quick())
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("Open = %v, want an error containing %q", err, tc.msg)
			}
		})
	}
	var ve *writer.ValidationError
	if _, err := file.Open(t.Context(), []string{bad}, nil); !errors.As(err, &ve) || ve.Problems[0].Source.Line != 3 {
		t.Errorf("Open of a syntax error = %v, want a *writer.ValidationError at line 3", err)
	}

	// Keeping the first definition instead.
	o := quick()
	o.KeepFirstDuplicates = true
	s := open(t, []string{good, dup}, o)
	if v, _ := value(t, s, "f"); v != "a" {
		t.Errorf("with KeepFirstDuplicates f = %q, want the first file's a", v)
	}
}

func TestReloadsOnEditAndRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, flagJSON("f", "v1"))
	var mu sync.Mutex
	var changes []store.Change
	s := open(t, []string{path}, quick())
	if err := s.Notify(t.Context(), func(cs []store.Change) {
		mu.Lock()
		changes = append(changes, cs...)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	v1, _, _ := s.Get(t.Context(), store.Features, "f")

	write(t, path, flagJSON("f", "v2")) // in place
	waitValue(t, s, "f", "v2")
	v2, _, _ := s.Get(t.Context(), store.Features, "f")
	if v2.Version <= v1.Version {
		t.Errorf("version went from %d to %d, want it to rise", v1.Version, v2.Version)
	}
	testwait.Eventually(t, "a change notification for f", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range changes {
			if c.Kind == store.Features && c.Key == "f" {
				return true
			}
		}
		return false
	})

	replace(t, path, flagJSON("f", "v3")) // an editor's rename
	waitValue(t, s, "f", "v3")

	// A flag removed from the file becomes a tombstone above its version.
	replace(t, path, `{"flags":{"f":{"on":true,"variations":["v3"],"fallthrough":{"variation":0}},"g":{"on":false,"variations":[1]}}}`)
	waitValue(t, s, "g", "")
	testwait.Eventually(t, "g to appear", func() bool { _, found, _ := s.Get(t.Context(), store.Features, "g"); return found })
	replace(t, path, `{"flags":{"f":{"on":true,"variations":["v3"],"fallthrough":{"variation":0}}}}`)
	testwait.Eventually(t, "g to be deleted", func() bool {
		it, found, _ := s.Get(t.Context(), store.Features, "g")
		return found && it.Deleted
	})
}

// TestConfigMapSymlinkSwap updates files the way Kubernetes updates a
// mounted ConfigMap: the visible file is a symbolic link through "..data",
// itself a link to a timestamped directory, and an update writes a new
// directory and renames a new "..data" link over the old one.
func TestConfigMapSymlinkSwap(t *testing.T) {
	dir := t.TempDir()
	version := func(name, content string) {
		t.Helper()
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(d, "flags.json"), content)
	}
	version("..2026_01_01_00_00_00.1", flagJSON("f", "first"))
	if err := os.Symlink("..2026_01_01_00_00_00.1", filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..data/flags.json", filepath.Join(dir, "flags.json")); err != nil {
		t.Fatal(err)
	}
	s := open(t, []string{filepath.Join(dir, "flags.json")}, quick())
	waitValue(t, s, "f", "first")

	version("..2026_01_01_00_01_00.2", flagJSON("f", "second"))
	if err := os.Symlink("..2026_01_01_00_01_00.2", filepath.Join(dir, "..data_tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.1")); err != nil {
		t.Fatal(err)
	}
	waitValue(t, s, "f", "second")
}

func TestBadEditKeepsLastGoodAndRecovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, flagJSON("f", "good"))
	var mu sync.Mutex
	var reloads []error
	o := quick()
	o.OnReload = func(err error) {
		mu.Lock()
		reloads = append(reloads, err)
		mu.Unlock()
	}
	s := open(t, []string{path}, o)

	replace(t, path, "{\"flags\": {\n  \"f\": {\"on\": true,, }\n}}\n")
	testwait.Eventually(t, "the store to report the bad edit", func() bool { return s.Status().Err != nil })
	st := s.Status()
	if !strings.Contains(st.Err.Error(), "flags.json:2:") || st.FailingSince.IsZero() {
		t.Errorf("status = %+v, want the file and line of the error", st)
	}
	_, _, err := s.Get(t.Context(), store.Features, "f")
	var ve *writer.ValidationError
	if !errors.Is(err, file.ErrInvalidFiles) || !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &ve) {
		t.Errorf("Get while invalid = %v, want ErrInvalidFiles with the validation problems", err)
	}
	if err := s.Ping(t.Context()); !errors.Is(err, file.ErrInvalidFiles) {
		t.Errorf("Ping while invalid = %v", err)
	}

	// A flag that does not validate is a bad edit too.
	replace(t, path, `{"flags":{"f":{"on":true,"variations":["x"],"fallthrough":{"variation":3}}}}`)
	testwait.Eventually(t, "the validation error", func() bool {
		err := s.Status().Err
		return err != nil && strings.Contains(err.Error(), "out of range")
	})

	// The next good edit recovers; the dataset kept meanwhile was the good
	// one, and the new one replaces it.
	replace(t, path, flagJSON("f", "fixed"))
	waitValue(t, s, "f", "fixed")
	if st := s.Status(); st.Err != nil || !st.FailingSince.IsZero() {
		t.Errorf("status after the fix = %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reloads) < 3 || reloads[len(reloads)-1] != nil {
		t.Errorf("reloads = %v, want errors and then nil", reloads)
	}
}

func TestDeletedFileKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, flagJSON("f", "kept"))
	s := open(t, []string{path}, quick())
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, "the store to report the missing file", func() bool {
		err := s.Status().Err
		return err != nil && strings.Contains(err.Error(), "cannot read")
	})
	write(t, path, flagJSON("f", "kept"))
	testwait.Eventually(t, "recovery", func() bool { return s.Status().Err == nil })
	waitValue(t, s, "f", "kept")
}

func TestPollOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, flagJSON("f", "a"))
	o := quick()
	o.PollOnly, o.PollInterval = true, 10*time.Millisecond
	s := open(t, []string{path}, o)
	replace(t, path, flagJSON("f", "bb"))
	waitValue(t, s, "f", "bb")
}

// TestClientSeesChangesAndStatus runs a real client on the file store: a
// bad edit shows in DataStoreStatus with the file and line, the values it
// had are still served, and the next good edit recovers. The cache's TTL is
// an hour: everything it sees comes through the store's notifications.
func TestClientSeesChangesAndStatus(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.yaml")
	write(t, path, "flags:\n  banner:\n    on: true\n    variations: [hello, bye]\n    fallthrough: {variation: 0}\n")
	s := open(t, []string{path}, quick())
	c, err := client.New(client.Config{Store: s, Logger: slog.New(slog.DiscardHandler), Cache: cache.Options{TTL: time.Hour, ProbeInterval: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	user := evalctx.New("u")
	banner := func() string { v, _ := c.StringVariation("banner", user, "default"); return v }
	if got := banner(); got != "hello" {
		t.Fatalf("banner = %q", got)
	}
	testwait.Eventually(t, "the cache to subscribe", func() bool { return s.Subscribers() > 0 })
	replace(t, path, "flags:\n  banner:\n    on: true\n    variations: [hello, bye]\n    fallthrough: {variation: 1}\n")
	testwait.Eventually(t, "the client to see the edit", func() bool { return banner() == "bye" })

	replace(t, path, "flags:\n  banner:\n    on: true\n   variations: [oops\n")
	testwait.Eventually(t, "DataStoreStatus to report the bad edit", func() bool {
		st := c.DataStoreStatus()
		return st.State == cache.Unavailable && st.Err != nil && strings.Contains(st.Err.Error(), "flags.yaml:")
	})
	if got := banner(); got != "bye" {
		t.Errorf("banner while the file is bad = %q, want the last good value", got)
	}
	replace(t, path, "flags:\n  banner:\n    on: true\n    variations: [hello, bye, again]\n    fallthrough: {variation: 2}\n")
	testwait.Eventually(t, "recovery", func() bool {
		return c.DataStoreStatus().State == cache.Available && banner() == "again"
	})
}

func TestCloseStopsEverything(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, flagJSON("f", "a"))
	s, err := file.Open(t.Context(), []string{path}, quick())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(t.Context(), store.Features, "f"); !errors.Is(err, file.ErrClosed) {
		t.Errorf("Get after Close = %v", err)
	}
	if err := s.Notify(t.Context(), func([]store.Change) {}); !errors.Is(err, file.ErrClosed) {
		t.Errorf("Notify after Close = %v", err)
	}
}

// TestReloadIsAtomic changes two flags in one edit while a reader keeps
// reading: every read sees both old or both new (the writer applies a pass
// as one batch, which the in-memory store applies under one lock).
func TestReloadIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	pair := func(v string) string {
		return `{"flags":{"a":{"on":true,"variations":["` + v + `"],"fallthrough":{"variation":0}},` +
			`"b":{"on":true,"variations":["` + v + `"],"fallthrough":{"variation":0}}}}`
	}
	write(t, path, pair("v1"))
	s := open(t, []string{path}, quick())
	done := make(chan struct{})
	var mixed []string
	reads := 0
	go func() {
		defer close(done)
		for {
			all, err := s.GetAll(context.Background(), store.Features)
			if err != nil {
				continue // a half-written file read between settles
			}
			vals := map[string]string{}
			for _, ki := range all {
				f, err := model.DecodeFlag(ki.Item.Data)
				if err != nil {
					mixed = append(mixed, err.Error())
					return
				}
				vals[ki.Key] = f.Variations[0].Str()
			}
			reads++
			if vals["a"] != vals["b"] {
				mixed = append(mixed, vals["a"]+"/"+vals["b"])
			}
			if vals["a"] == "v3" && vals["b"] == "v3" {
				return
			}
		}
	}()
	replace(t, path, pair("v2"))
	waitValue(t, s, "b", "v2")
	replace(t, path, pair("v3"))
	testwait.Eventually(t, "the reader to see v3", func() bool {
		select {
		case <-done:
			return true
		default:
			return false
		}
	})
	if len(mixed) > 0 {
		t.Errorf("%d of %d reads saw a partly applied reload: %v", len(mixed), reads, mixed)
	}
}

// TestFlagChangeListeners checks that an edit reaches a client's flag-change
// listeners through the store's notifications (the cache's TTL and change
// poll are an hour).
func TestFlagChangeListeners(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	write(t, path, `{"flags":{"a":{"on":true,"variations":[1,2],"fallthrough":{"variation":0}},"b":{"on":true,"variations":[1],"fallthrough":{"variation":0}}}}`)
	s := open(t, []string{path}, quick())
	c, err := client.New(client.Config{Store: s, Logger: slog.New(slog.DiscardHandler), Cache: cache.Options{TTL: time.Hour, ChangePollInterval: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var changed []string
	remove := c.AddFlagChangeListener(func(ev client.FlagChangeEvent) {
		mu.Lock()
		changed = append(changed, ev.Key)
		mu.Unlock()
	})
	defer remove()
	var values []int
	removeValue := c.AddFlagValueChangeListener("a", evalctx.New("u"), jsonvalue.Int(0), func(ev client.FlagValueChangeEvent) {
		mu.Lock()
		values = append(values, ev.NewValue.Int())
		mu.Unlock()
	})
	defer removeValue()
	if v, _ := c.IntVariation("a", evalctx.New("u"), 0); v != 1 {
		t.Fatalf("a = %d", v)
	}
	testwait.Eventually(t, "the cache to subscribe", func() bool { return s.Subscribers() > 0 })
	replace(t, path, `{"flags":{"a":{"on":true,"variations":[1,2],"fallthrough":{"variation":1}},"b":{"on":true,"variations":[1],"fallthrough":{"variation":0}}}}`)
	testwait.Eventually(t, "the listeners to hear of a", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(changed) > 0 && len(values) > 0
	})
	mu.Lock()
	defer mu.Unlock()
	if changed[0] != "a" || slices.Contains(changed, "b") {
		t.Errorf("changed = %v, want a only", changed)
	}
	if values[0] != 2 {
		t.Errorf("value listener got %v, want 2", values)
	}
}
