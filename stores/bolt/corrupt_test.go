package bolt_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// goodStore writes a valid store of n flags at path and returns its bytes.
func goodStore(t *testing.T, path string, n int) []byte {
	t.Helper()
	initStore(t, path, 1, n)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantCorrupt checks that err is a clear corruption error.
func wantCorrupt(t *testing.T, what string, err error, path string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: nil error, want ErrCorrupt", what)
	}
	if !errors.Is(err, bolt.ErrCorrupt) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("%s: %v; want an error wrapping ErrCorrupt and store.ErrUnavailable", what, err)
	}
	if !strings.Contains(err.Error(), filepath.Base(path)) {
		t.Errorf("%s: error %q does not name the file", what, err)
	}
}

// usedSize is how far a bbolt file's pages reach; bbolt grows files ahead,
// so the file is usually longer.
func usedSize(t *testing.T, path string) int {
	t.Helper()
	db, err := bbolt.Open(path, 0, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var size int64
	db.View(func(tx *bbolt.Tx) error { size = tx.Size(); return nil })
	return int(size)
}

func TestCorruptFileIsAClearError(t *testing.T) {
	goodPath := filepath.Join(t.TempDir(), "good.db")
	good := goodStore(t, goodPath, 3000)
	used := usedSize(t, goodPath)
	rng := rand.New(rand.NewPCG(1, 2))
	garbage := make([]byte, 64<<10)
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	foreign := func(path string) {
		db, err := bbolt.Open(path, 0o644, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucket([]byte("someone-else"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		write   func(path string)
		message string
	}{
		{"Empty", func(p string) { os.WriteFile(p, nil, 0o644) }, "empty file"},
		{"Text", func(p string) { os.WriteFile(p, []byte("not a database\n"), 0o644) }, ""},
		{"Garbage", func(p string) { os.WriteFile(p, garbage, 0o644) }, ""},
		{"TruncatedToOnePage", func(p string) { os.WriteFile(p, good[:4096], 0o644) }, ""},
		{"TruncatedToHalf", func(p string) { os.WriteFile(p, good[:used/2], 0o644) }, "truncated"},
		{"TruncatedByOnePage", func(p string) { os.WriteFile(p, good[:used-4096], 0o644) }, "truncated"},
		{"MetaPagesDestroyed", func(p string) {
			b := append([]byte(nil), good...)
			copy(b[:8192], garbage)
			os.WriteFile(p, b, 0o644)
		}, ""},
		{"ForeignBboltFile", foreign, "not a daemonflag store"},
		{"Directory", func(p string) { os.Mkdir(p, 0o755) }, "not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.db")
			c.write(path)
			// A reader refuses the file.
			s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
			if err == nil {
				s.Close()
			}
			wantCorrupt(t, "Open", err, path)
			if c.message != "" && !strings.Contains(err.Error(), c.message) {
				t.Errorf("Open: %q does not say %q", err, c.message)
			}
			// A writer opens it, reports it on reads and on writes that
			// build on it, saying what to do, and replaces it with a full
			// write (Init), keeping the damaged file aside.
			w := mustOpen(t, path, nil)
			ctx := context.Background()
			_, err = w.GetAll(ctx, store.Features)
			wantCorrupt(t, "writer's GetAll", err, path)
			c1 := counterItem(5)
			_, err = w.Upsert(ctx, store.Features, c1.Key, c1.Item)
			wantCorrupt(t, "Upsert", err, path)
			if !strings.Contains(err.Error(), "Init") || !strings.Contains(err.Error(), path+".0") {
				t.Errorf("Upsert: %q does not say what to do", err)
			}
			err = w.Init(ctx, genData(3, 10))
			if c.name == "Directory" {
				// Nothing replaces a directory; the error names it.
				if err == nil || !strings.Contains(err.Error(), path) {
					t.Fatalf("Init over a directory: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Init over a corrupt live file: %v", err)
			}
			r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
			items, err := r.GetAll(ctx, store.Features)
			if err != nil {
				t.Fatal(err)
			}
			if gen, _, err := checkDataset(items, 10); err != nil || gen != 3 {
				t.Fatalf("after Init over a corrupt file: generation %d, %v", gen, err)
			}
			kept, _ := filepath.Glob(path + ".corrupt-*")
			if len(kept) != 1 {
				t.Fatalf("damaged files kept: %v, want one", kept)
			}
			if _, err := bolt.Open(kept[0], &bolt.Options{ReadOnly: true}); !errors.Is(err, bolt.ErrCorrupt) {
				t.Errorf("the kept file %s is not the damaged one: %v", kept[0], err)
			}
		})
	}
}

// TestDamagedPagesNeverPanic overwrites data pages of a valid store with
// garbage, keeping the meta pages: bbolt may then panic deep inside, or
// return nonsense; reads must give errors, never crash.
func TestDamagedPagesNeverPanic(t *testing.T) {
	good := goodStore(t, filepath.Join(t.TempDir(), "good.db"), 2000)
	pages := len(good) / 4096
	ctx := context.Background()
	errs := 0
	for seed := range uint64(40) {
		rng := rand.New(rand.NewPCG(seed, 7))
		b := append([]byte(nil), good...)
		// Damage a few random pages after the two meta pages.
		for range 1 + rng.IntN(4) {
			p := 2 + rng.IntN(pages-2)
			off := p*4096 + rng.IntN(4096-64)
			for i := range 16 + rng.IntN(48) {
				b[off+i] = byte(rng.Uint32())
			}
		}
		path := filepath.Join(t.TempDir(), "damaged.db")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			wantCorrupt(t, "Open", err, path)
			errs++
			continue
		}
		check := func(what string, err error) {
			if err != nil {
				errs++
				if !errors.Is(err, bolt.ErrCorrupt) && !errors.Is(err, store.ErrMalformedItem) {
					t.Errorf("seed %d: %s: %v; want ErrCorrupt or ErrMalformedItem", seed, what, err)
				}
			}
		}
		_, err = s.GetAll(ctx, store.Features)
		check("GetAll", err)
		_, _, err = s.Get(ctx, store.Features, "flag-01234")
		check("Get", err)
		_, err = s.Initialized(ctx)
		check("Initialized", err)
		s.Close()
	}
	t.Logf("%d errors reported over 40 damaged files", errs)
}

// TestTruncatedUnderAReader truncates the live file in place while a reader
// has it mapped: the reads fault on the mapping (SIGBUS), which must become
// an error, and the store recovers once a good file is published.
func TestTruncatedUnderAReader(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.db")
	initStore(t, path, 1, 3000)
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	if _, err := r.GetAll(ctx, store.Features); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 8192); err != nil {
		t.Fatal(err)
	}
	_, err = r.GetAll(ctx, store.Features)
	wantCorrupt(t, "GetAll on a file truncated under the reader", err, path)
	_, _, err = r.Get(ctx, store.Features, "flag-00001")
	wantCorrupt(t, "Get", err, path)

	// A writer cannot build on the damaged file and says so; a full write
	// replaces it.
	w := mustOpen(t, path, nil)
	c := counterItem(5000)
	_, err = w.Upsert(ctx, store.Features, c.Key, c.Item)
	wantCorrupt(t, "Upsert on a damaged live file", err, path)
	if err := w.Init(ctx, genData(3, 10)); err != nil {
		t.Fatalf("Init over a damaged live file: %v", err)
	}
	items, err := r.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatalf("GetAll after a good file was published: %v", err)
	}
	if gen, _, err := checkDataset(items, 10); err != nil || gen != 3 {
		t.Fatalf("reader after the repair: generation %d, %v", gen, err)
	}
	// And writes go on as usual.
	if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
		t.Fatal(err)
	}
}

// TestMalformedValue stores a value that is not in the package's encoding.
func TestMalformedValue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 10)
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte(bolt.DefaultPrefix)).Bucket([]byte("features"))
		return b.Put([]byte("flag-00003"), []byte{9, 9, 9})
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if _, _, err := s.Get(ctx, store.Features, "flag-00003"); !errors.Is(err, store.ErrMalformedItem) || !strings.Contains(err.Error(), "flag-00003") {
		t.Errorf("Get of a malformed value: %v; want ErrMalformedItem naming the key", err)
	}
	if _, err := s.GetAll(ctx, store.Features); !errors.Is(err, store.ErrMalformedItem) {
		t.Errorf("GetAll with a malformed value: %v; want ErrMalformedItem", err)
	}
	// A newer write replaces the bad value.
	c := store.KeyedItem{Key: "flag-00003", Item: store.Item{Version: 5, Data: []byte(`{"version":5}`)}}
	if applied, err := s.Upsert(ctx, store.Features, c.Key, c.Item); err != nil || !applied {
		t.Fatalf("Upsert over a malformed value: %v, %v", applied, err)
	}
	if it, _, err := s.Get(ctx, store.Features, "flag-00003"); err != nil || it.Version != 5 {
		t.Fatalf("Get after the repair: %+v, %v", it, err)
	}
}

// TestDamagedStandbyIsRebuilt damages the standby slot (the file a writer
// updates in place): writes must still succeed, by copying the live file.
func TestDamagedStandbyIsRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, nil)
	ctx := context.Background()
	if err := w.Init(ctx, genData(1, 300)); err != nil {
		t.Fatal(err)
	}
	upsert := func(v int) {
		t.Helper()
		c := counterItem(v)
		if applied, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil || !applied {
			t.Fatalf("Upsert v%d: %v, %v", v, applied, err)
		}
	}
	upsert(1001)
	upsert(1002)
	live, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	standby := path + ".0"
	if fi, _ := os.Stat(standby); os.SameFile(fi, live) {
		standby = path + ".1"
	}
	for seed := range uint64(5) {
		b, err := os.ReadFile(standby)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(seed, 1))
		for i := 8192; i < len(b); i++ {
			b[i] = byte(rng.Uint32())
		}
		if err := os.WriteFile(standby, b, 0o644); err != nil {
			t.Fatal(err)
		}
		// This write goes to the damaged file, or copies.
		upsert(1003 + 2*int(seed))
		upsert(1004 + 2*int(seed))
		r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
		items, err := r.GetAll(ctx, store.Features)
		if err != nil {
			t.Fatal(err)
		}
		if _, counter, err := checkDataset(items, 300); err != nil || counter != 1004+2*int(seed) {
			t.Fatalf("after writes past a damaged standby: counter %d, %v", counter, err)
		}
	}
}
