package writer_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/writer"
)

// countingStore counts the writes a store is given; it is a Batcher when
// the store it wraps is one.
type countingStore struct {
	store.Store
	upserts, batches, batched atomic.Int64
}

func (c *countingStore) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	c.upserts.Add(1)
	return c.Store.Upsert(ctx, kind, key, item)
}

type countingBatcher struct{ *countingStore }

func (c countingBatcher) UpsertBatch(ctx context.Context, updates []store.ItemUpdate) ([]bool, error) {
	c.batches.Add(1)
	c.batched.Add(int64(len(updates)))
	return c.Store.(store.Batcher).UpsertBatch(ctx, updates)
}

func manyFlags(n, variation int) string {
	var b strings.Builder
	b.WriteString(`{"flags": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%03d": {"on": true, "variations": [0, 1], "fallthrough": {"variation": %d}}`, i, variation)
	}
	b.WriteString("}}")
	return b.String()
}

// TestSyncPassIsOneBatch: a 200-flag edit is one UpsertBatch on a store
// that has it (and readers of Redis, where the batch is one MULTI/EXEC,
// never see half of it), single upserts on a store that does not.
func TestSyncPassIsOneBatch(t *testing.T) {
	const n = 200
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		if testing.Short() && strings.HasPrefix(addr, "dynamodb:") {
			t.Skip("a thousand writes to dynalite take seconds; skipped with -short")
		}
		inner := wtOpen(t, addr)
		if _, ok := inner.(store.Batcher); !ok {
			t.Skipf("%T does not implement store.Batcher (yet)", inner)
		}
		cs := &countingStore{Store: inner}
		dir := t.TempDir()
		file := wtFile(t, dir, "flags.json", manyFlags(n, 0))
		r := wtStartSync(t, countingBatcher{cs}, writer.SyncOptions{Files: []string{file}})
		if p := r.next(t); p.Err != nil || p.Written != n {
			t.Fatalf("first pass %+v", p)
		}
		atomicReads := strings.HasPrefix(addr, "redis") || strings.HasPrefix(addr, "bolt:")
		ctx := wtCtx(t)
		var mixed, snapshots atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				all, err := inner.GetAll(ctx, store.Features)
				if err != nil {
					continue
				}
				versions := map[int]bool{}
				for _, ki := range all {
					versions[ki.Item.Version] = true
				}
				snapshots.Add(1)
				if len(versions) > 1 {
					mixed.Add(1)
				}
			}
		})
		for v := 1; v <= 4; v++ {
			wtReplace(t, file, manyFlags(n, v%2))
			if p := r.next(t); p.Err != nil || p.Written != n {
				t.Fatalf("edit %d: pass %+v", v, p)
			}
		}
		close(stop)
		wg.Wait()
		if cs.upserts.Load() != 0 || cs.batches.Load() != 4 || cs.batched.Load() != 4*n {
			t.Errorf("4 passes of %d changes: %d upserts, %d batches of %d updates in all; want 0 upserts, 4 batches",
				n, cs.upserts.Load(), cs.batches.Load(), cs.batched.Load())
		}
		if atomicReads && mixed.Load() > 0 {
			t.Errorf("%d of %d snapshots saw part of a pass", mixed.Load(), snapshots.Load())
		}
		r.stop(t)
	})
}

// TestSyncWithoutBatcher: a store without UpsertBatch gets one upsert per
// change, in the plan's order.
func TestSyncWithoutBatcher(t *testing.T) {
	cs := &countingStore{Store: wtOpen(t, testaddrs.Bolt(t))}
	file := wtFile(t, t.TempDir(), "flags.json", manyFlags(20, 0))
	r := wtStartSync(t, cs, writer.SyncOptions{Files: []string{file}})
	if p := r.next(t); p.Err != nil || p.Written != 20 {
		t.Fatalf("first pass %+v", p)
	}
	wtReplace(t, file, manyFlags(20, 1))
	if p := r.next(t); p.Err != nil || p.Written != 20 {
		t.Fatalf("edit pass %+v", p)
	}
	if cs.upserts.Load() != 20 || cs.batches.Load() != 0 {
		t.Errorf("%d upserts, %d batches; want 20 upserts", cs.upserts.Load(), cs.batches.Load())
	}
	r.stop(t)
}
