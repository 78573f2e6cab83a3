//go:build unix

package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

func TestWriterLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	initStore(t, path, 1, 5)
	f, err := os.OpenFile(path+".lock", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, path, &bolt.Options{Timeout: 50 * time.Millisecond})
	ctx := context.Background()
	start := time.Now()
	c := counterItem(1001)
	_, err = s.Upsert(ctx, store.Features, c.Key, c.Item)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "lock") {
		t.Errorf("Upsert with the lock held elsewhere: %v; want ErrUnavailable about the lock", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("waited %v for a 50ms timeout", d)
	}
	// Reads do not need the writer lock.
	if it, _, err := s.Get(ctx, store.Features, "counter"); err != nil || it.Version != 1000 {
		t.Errorf("Get while a writer holds the lock: v%d, %v", it.Version, err)
	}
	// Init also honours its context while it waits.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := s.Init(cctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Init waiting for the lock past its deadline: %v", err)
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if _, err := s.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
		t.Errorf("Upsert after the lock was released: %v", err)
	}
}
