package otel

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// newClient writes testdata/flags.json into a new bbolt store with the real
// writer and returns a client reading it (cfg's Store and Logger are set)
// and the store file's path.
func newClient(t testing.TB, cfg client.Config) (*client.Client, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "flags.db")
	w, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	ds, err := writer.LoadFiles("testdata/flags.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.WriteDataset(context.Background(), w, ds); err != nil {
		t.Fatal(err)
	}
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cfg.Store = r
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if cfg.Cache.TTL == 0 {
		cfg.Cache.TTL = time.Hour
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.WaitForInitialization(ctx); err != nil {
		t.Fatal(err)
	}
	return c, path
}
