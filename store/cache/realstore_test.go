package cache

import (
	"path/filepath"
	"testing"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// newRealStore opens a fresh, empty bbolt store for a test: the real
// embedded backend, written and read through its store.Store contract.
func newRealStore(t testing.TB) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "flags.db"), &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
