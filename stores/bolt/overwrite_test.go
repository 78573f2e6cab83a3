package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// stringFlags is a dataset of n string flags "f0".."f(n-1)", each serving
// value when on, at version.
func stringFlags(version, n int, value string) []store.Collection {
	items := make([]store.KeyedItem, 0, n)
	for i := range n {
		key := fmt.Sprintf("f%d", i)
		items = append(items, store.KeyedItem{Key: key, Item: store.Item{
			Version: version,
			Data: fmt.Appendf(nil, `{"key":%q,"version":%d,"on":true,"fallthrough":{"variation":0},"offVariation":0,"variations":[%q],"salt":"s"}`,
				key, version, value),
		}})
	}
	return []store.Collection{{Kind: store.Segments}, {Kind: store.Features, Items: items}}
}

// waitFor waits until ch yields, or fails the test after d.
func waitFor[T any](t *testing.T, ch <-chan T, d time.Duration, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, what)
	}
	var zero T
	return zero
}

// TestClientSurvivesLiveFileOverwrittenInPlace damages the live file in
// place (the same inode, as `cp garbage flags.db` or `truncate` does) under
// a client reading it, then repairs it: the client must report the damage,
// recover, serve the repaired data, and close promptly. bbolt panics inside
// its own locks on such a file; a store that touched that handle again
// would hang every later read and Close.
func TestClientSurvivesLiveFileOverwrittenInPlace(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(3, 4))
	garbage := make([]byte, 256<<10)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	// good2 is a valid store file of the repaired dataset, for repairs that
	// copy a backup in place.
	good2Path := filepath.Join(t.TempDir(), "backup.db")
	initWith(t, good2Path, stringFlags(2, n, "repaired"))
	good2, err := os.ReadFile(good2Path)
	if err != nil {
		t.Fatal(err)
	}

	damages := []struct {
		name   string
		damage func(t *testing.T, path string, used int)
	}{
		{"Garbage", func(t *testing.T, path string, _ int) { overwriteInPlace(t, path, garbage) }},
		{"TruncatedToZero", func(t *testing.T, path string, _ int) { truncate(t, path, 0) }},
		{"TruncatedMidPage", func(t *testing.T, path string, used int) { truncate(t, path, int64(used/2+1234)) }},
	}
	repairs := []struct {
		name   string
		repair func(t *testing.T, path string)
	}{
		// The operator restores a backup over the file, in place.
		{"BackupCopiedInPlace", func(t *testing.T, path string) { overwriteInPlace(t, path, good2) }},
		// A writer publishes a new dataset (a full write replaces the
		// damaged live file).
		{"WriterInit", func(t *testing.T, path string) { initWith(t, path, stringFlags(2, n, "repaired")) }},
	}
	for _, d := range damages {
		for _, r := range repairs {
			t.Run(d.name+"/"+r.name, func(t *testing.T) {
				path := filepath.Join(t.TempDir(), "flags.db")
				initWith(t, path, stringFlags(1, n, "original"))
				used := usedSize(t, path)
				st, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				c, err := client.New(client.Config{
					Store: st,
					Cache: cache.Options{TTL: 20 * time.Millisecond, ProbeInterval: 10 * time.Millisecond, RefreshTimeout: 500 * time.Millisecond},
				})
				if err != nil {
					t.Fatal(err)
				}
				status := make(chan cache.Status, 100)
				c.AddDataStoreStatusListener(func(s cache.Status) { status <- s })
				changed := make(chan string, 10*n)
				// The listener makes the cache poll the whole dataset every
				// TTL, so it meets the damage without reads from the test.
				c.AddFlagChangeListener(func(e client.FlagChangeEvent) { changed <- e.Key })
				ec := evalctx.New("user")
				if v, _ := c.StringVariation("f7", ec, "default"); v != "original" {
					t.Fatalf("before the damage: f7 = %q", v)
				}
				// A change seen proves the change poll has its baseline (a
				// change before it goes unreported, so write until one is).
				w := mustOpen(t, path, nil)
				for v, seen := 2, false; !seen; v++ {
					if v > 50 {
						t.Fatal("the client never reported a change of f0")
					}
					f0 := stringFlags(v, 1, "original")[1].Items[0]
					if _, err := w.Upsert(context.Background(), store.Features, f0.Key, f0.Item); err != nil {
						t.Fatal(err)
					}
					select {
					case <-changed:
						seen = true
					case <-time.After(200 * time.Millisecond):
					}
				}
				w.Close()

				d.damage(t, path, used)
				for s := waitFor(t, status, 5*time.Second, "the client to report the damaged file"); s.State != cache.Unavailable; {
					s = waitFor(t, status, 5*time.Second, "the client to report the damaged file")
				}
				if v, _ := c.StringVariation("f7", ec, "default"); v != "original" {
					t.Errorf("while the file is damaged: f7 = %q, want the last good value", v)
				}

				r.repair(t, path)
				for s := waitFor(t, status, 5*time.Second, "the client to recover"); s.State != cache.Available; {
					s = waitFor(t, status, 5*time.Second, "the client to recover")
				}
				for k := waitFor(t, changed, 5*time.Second, "a change of f7"); k != "f7"; {
					k = waitFor(t, changed, 5*time.Second, "a change of f7")
				}
				if v, _ := c.StringVariation("f7", ec, "default"); v != "repaired" {
					t.Errorf("after the repair: f7 = %q, want %q", v, "repaired")
				}

				closed := make(chan error, 1)
				go func() {
					c.Close()
					closed <- st.Close()
				}()
				if err := waitFor(t, closed, time.Second, "Close"); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
		}
	}
}

func initWith(t *testing.T, path string, data []store.Collection) {
	t.Helper()
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(context.Background(), data); err != nil {
		t.Fatal(err)
	}
}

// overwriteInPlace writes b over the file's contents, keeping its inode, as
// cp does onto an existing file.
func overwriteInPlace(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentReadersOfAFileDamagedInPlace has many goroutines reading
// while the live file is overwritten with garbage: bbolt panics in some of
// them while others wait inside bbolt for the same lock. Every read must
// return (an error or the old data), the store must recover once a good file
// is published, and Close must return at once.
func TestConcurrentReadersOfAFileDamagedInPlace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 500)
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stop := make(chan struct{})
	done := make(chan error, 8)
	for range 8 {
		go func() {
			var last error
			for {
				select {
				case <-stop:
					done <- last
					return
				default:
				}
				if _, err := r.GetAll(ctx, store.Features); err != nil {
					last = err
				}
			}
		}()
	}
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(i*7 + i>>8)
	}
	overwriteInPlace(t, path, garbage)
	// Wait until a read meets the damage (a store that touched the handle
	// bbolt panicked in would hang here).
	met := make(chan error, 1)
	go func() {
		for {
			if _, err := r.GetAll(ctx, store.Features); err != nil {
				met <- err
				return
			}
		}
	}()
	wantCorrupt(t, "GetAll of the damaged file", waitFor(t, met, 5*time.Second, "a read to report the damage"), path)
	initStore(t, path, 2, 500) // a full write replaces the damaged file
	close(stop)
	for range 8 {
		waitFor(t, done, 5*time.Second, "a reader to return")
	}
	items, err := r.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatalf("GetAll after the repair: %v", err)
	}
	if gen, _, err := checkDataset(items, 500); err != nil || gen != 2 {
		t.Fatalf("after the repair: generation %d, %v", gen, err)
	}
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	if err := waitFor(t, closed, time.Second, "Close"); err != nil {
		t.Fatal(err)
	}
}

// TestReopenHonoursContextAndClose holds an exclusive bbolt lock on the
// published file (as another program opening it read-write would), so a
// reader cannot take its shared lock: a probe returns when its context ends,
// not after Options.Timeout, and Close interrupts a read that waits.
func TestReopenHonoursContextAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 10)
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	initStore(t, path, 2, 10) // a new file the reader has not opened yet
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	pinged := make(chan error, 1)
	go func() { pinged <- r.Ping(ctx) }()
	if err := waitFor(t, pinged, 2*time.Second, "Ping to give up with its context"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping: %v, want the context's error", err)
	}

	read := make(chan error, 1)
	go func() {
		_, err := r.GetAll(context.Background(), store.Features)
		read <- err
	}()
	closed := make(chan error, 1)
	go func() { closed <- r.Close() }()
	if err := waitFor(t, closed, time.Second, "Close"); err != nil {
		t.Fatal(err)
	}
	if err := waitFor(t, read, time.Second, "the waiting read to end"); err == nil {
		t.Error("a read interrupted by Close returned no error")
	}
}
