//go:build unix

package bolt_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// TestBackgroundRelease checks that an idle reader lets go of a replaced
// file by itself, so the writer can go back to writing in place.
func TestBackgroundRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.db")
	w := mustOpen(t, path, &bolt.Options{StandbyWait: -1})
	ctx := context.Background()
	if err := w.Init(ctx, genData(1, 50)); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true, CheckInterval: time.Hour, ReleaseInterval: 10 * time.Millisecond})
	if _, _, err := r.Get(ctx, store.Features, "counter"); err != nil {
		t.Fatal(err)
	}
	for v := 1001; v <= 1004; v++ {
		c := counterItem(v)
		if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
			t.Fatal(err)
		}
		// The idle reader lets go of the file that just stopped being live.
		testwait.Eventually(t, "the idle reader to release the standby file", func() bool { return standbyFree(t, path) })
	}
	in, cp := w.WriteCounts()
	// Init and the first upsert after it copy; later upserts find the
	// standby file released.
	if in < 3 {
		t.Errorf("in place: %d, copied: %d; want the idle reader to release old files", in, cp)
	}
}

// standbyFree reports whether no one holds the slot that is not live (a
// reader holds a shared flock on the file it reads).
func standbyFree(t *testing.T, path string) bool {
	t.Helper()
	live, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	standby := path + ".0"
	if fi, err := os.Stat(standby); err == nil && os.SameFile(fi, live) {
		standby = path + ".1"
	}
	f, err := os.Open(standby)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}
