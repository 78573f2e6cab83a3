package writer_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// Inspect reports when the writer last wrote, where the store records it.
func TestInspectReportsLastWrite(t *testing.T) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "flags.db"), &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	info, err := writer.Inspect(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if info.LastWrite != nil {
		t.Errorf("an empty store reports a last write: %v", info.LastWrite)
	}
	before := time.Now().Add(-time.Millisecond) // the store keeps milliseconds
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features}, {Kind: store.Segments}}); err != nil {
		t.Fatal(err)
	}
	if info, err = writer.Inspect(ctx, s); err != nil {
		t.Fatal(err)
	}
	if info.LastWrite == nil || info.LastWrite.Before(before) || info.LastWrite.After(time.Now()) ||
		info.LastWriteAgeSeconds == nil || *info.LastWriteAgeSeconds < 0 || *info.LastWriteAgeSeconds > 60 {
		t.Errorf("after a write: LastWrite %v, age %v", info.LastWrite, info.LastWriteAgeSeconds)
	}
}
