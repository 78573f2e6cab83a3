package writer_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// benchReplace writes a file as editors do: a new file renamed over it.
func benchReplace(b *testing.B, path, content string) {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		b.Fatal(err)
	}
}

// noBatch hides a store's Batcher, for the comparison with single upserts.
type noBatch struct{ store.Store }

// BenchmarkSyncPass200 measures one sync pass that changes 200 flags (the
// file alternates between two versions), from the file's rename to the
// pass's end, on each backend: as one UpsertBatch where the store has it
// ("batch"), and as 200 upserts ("single"). It includes the notification,
// a 1 ms settle, and loading and validating the file.
func BenchmarkSyncPass200(b *testing.B) {
	const n = 200
	for _, be := range testaddrs.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			for _, mode := range []string{"batch", "single"} {
				b.Run(mode, func(b *testing.B) {
					s, err := stores.Open(context.Background(), be.Address(b))
					if err != nil {
						b.Fatal(err)
					}
					defer s.Close()
					var target store.Store = s
					if _, ok := s.(store.Batcher); !ok && mode == "batch" {
						b.Skipf("%T has no UpsertBatch", s)
					}
					if mode == "single" {
						target = noBatch{s}
					}
					file := filepath.Join(b.TempDir(), "flags.json")
					benchReplace(b, file, manyFlags(n, 0))
					passes := make(chan writer.SyncPass, 1)
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					go func() {
						done <- writer.Sync(ctx, target, writer.SyncOptions{Files: []string{file}, Settle: time.Millisecond,
							Logger: slog.New(slog.DiscardHandler), OnPass: func(p writer.SyncPass) { passes <- p }})
					}()
					defer func() { cancel(); <-done }()
					if p := <-passes; p.Err != nil {
						b.Fatal(p.Err)
					}
					b.ResetTimer()
					for i := range b.N {
						benchReplace(b, file, manyFlags(n, (i+1)%2))
						if p := <-passes; p.Err != nil || p.Written != n {
							b.Fatalf("pass %+v", p)
						}
					}
				})
			}
		})
	}
}
