package writer_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// TestSyncHealsLostDataset: when the dataset disappears from Redis (as on a
// restart without persistence), Sync writes the last complete dataset
// again, logs it once and reports the pass as Healed.
func TestSyncHealsLostDataset(t *testing.T) {
	addr := testaddrs.Redis(t)
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := goredis.ParseURL(strings.SplitN(addr, "?", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()
	ctx := wtCtx(t)
	s := wtOpen(t, addr)
	file := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`,`+wtSyncB+`}}`)
	r := wtStartSync(t, s, writer.SyncOptions{Files: []string{file}})
	if p := r.next(t); p.Err != nil || !p.Initialized || p.Healed {
		t.Fatalf("first pass %+v", p)
	}
	// An edit first, so that the dataset is not at version 1 throughout:
	// healing writes the versions the store held.
	wtReplace(t, file, `{"flags": {`+wtSyncA2+`,`+wtSyncB+`}}`)
	if p := r.next(t); p.Err != nil || p.Written != 1 {
		t.Fatalf("edit pass %+v", p)
	}
	want := wtSnapshot(t, s)
	if !strings.Contains(want, "features/a v2 ") {
		t.Fatalf("after the edit:\n%s", want)
	}
	for round := 1; round <= 2; round++ {
		// Everything of the dataset goes, as FLUSHALL or a restart of a
		// server without persistence does (only this dataset's keys: the
		// server is shared with other tests).
		if err := rc.Del(ctx, a.Prefix+":$inited", a.Prefix+":features", a.Prefix+":segments").Err(); err != nil {
			t.Fatal(err)
		}
		p := r.next(t)
		if p.Err != nil || !p.Healed || !p.Initialized || p.Written != 2 {
			t.Fatalf("round %d: pass %+v, want a healing Init", round, p)
		}
		if got := wtSnapshot(t, s); got != want {
			t.Fatalf("round %d: after healing:\n%s\nwant:\n%s", round, got, want)
		}
	}
	if log := r.log.String(); strings.Count(log, "the store lost its dataset; writing the last complete dataset again") != 2 ||
		!strings.Contains(log, "heals=2") {
		t.Fatalf("log:\n%s", log)
	}
	r.stop(t)
}

// unfinishedInit is a store whose last Init was interrupted (as a DynamoDB
// writer killed during one leaves it) until an Init completes.
type unfinishedInit struct {
	store.Store
	done atomic.Bool
}

func (u *unfinishedInit) Initialized(ctx context.Context) (bool, error) {
	if !u.done.Load() {
		return true, fmt.Errorf("dynamodb: an init has not finished: %w", store.ErrInitInProgress)
	}
	return u.Store.Initialized(ctx)
}

func (u *unfinishedInit) Init(ctx context.Context, data []store.Collection) error {
	err := u.Store.Init(ctx, data)
	if err == nil {
		u.done.Store(true)
	}
	return err
}

// TestSyncCompletesUnfinishedInit: a store that reports an unfinished Init
// (store.ErrInitInProgress) gets a whole Init from Sync, which completes it,
// instead of endless retries.
func TestSyncCompletesUnfinishedInit(t *testing.T) {
	u := &unfinishedInit{Store: wtOpen(t, testaddrs.Bolt(t))}
	file := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`}}`)
	r := wtStartSync(t, u, writer.SyncOptions{Files: []string{file}})
	if p := r.next(t); p.Err != nil || !p.Initialized || !u.done.Load() {
		t.Fatalf("first pass %+v; want an Init that completes the store", p)
	}
	r.stop(t)
}
