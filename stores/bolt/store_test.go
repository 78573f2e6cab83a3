package bolt_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/storetest"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// TestConformance runs the store conformance suite with every prefix in one
// shared file, as several environments would share it.
func TestConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	open := func(t *testing.T, prefix string) *bolt.Store {
		t.Helper()
		// NoSync: the suite checks semantics, not durability (the
		// process tests kill writers with fsync on).
		s, err := bolt.Open(path, &bolt.Options{Prefix: prefix, NoSync: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, prefix string) store.Store {
			return open(t, prefix)
		},
		AtomicInit: true,
		// The multi-process tests replace datasets under readers for
		// seconds; the suite's check runs 1 s under -short (it wants at
		// least two Inits done, which a loaded machine needs time for).
		AtomicInitDuration: atomicInitDuration(),
		BigSegments: func(t *testing.T, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := open(t, prefix)
			return s, s
		},
	})
}

func atomicInitDuration() time.Duration {
	if testing.Short() {
		return time.Second
	}
	return 2 * time.Second
}
