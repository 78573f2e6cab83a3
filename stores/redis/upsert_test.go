package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// TestConcurrentUpsertsManyWriters has many goroutines on several store
// instances upsert shuffled versions of a few keys, with unrelated writes to
// the same hash in between: the highest version of each key wins, every
// call succeeds, and exactly one call per version reports applied for the
// highest.
func TestConcurrentUpsertsManyWriters(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, p string) *Store
		p    string
	}{
		{"single", func(t *testing.T, p string) *Store { return openSingle(t, p) }, testPrefix("upsert-many")},
		{"cluster", func(t *testing.T, p string) *Store { return openCluster(t, p, false) }, taggedPrefix("upsert-many")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			stores := []*Store{tc.open(t, tc.p), tc.open(t, tc.p), tc.open(t, tc.p)}
			const (
				goroutines = 64
				keys       = 3
				versions   = 200 // per key
			)
			type job struct {
				key     string
				version int
			}
			var jobs []job
			for k := range keys {
				for v := 1; v <= versions; v++ {
					jobs = append(jobs, job{fmt.Sprintf("k%d", k), v})
				}
			}
			rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
			ch := make(chan job)
			var (
				wg         sync.WaitGroup
				failures   atomic.Int64
				topApplied atomic.Int64
			)
			for g := range goroutines {
				s := stores[g%len(stores)]
				wg.Go(func() {
					for j := range ch {
						it := mustItem(t, fmt.Sprintf(`{"key":%q,"version":%d,"by":%d}`, j.key, j.version, g))
						applied, err := s.Upsert(ctx, store.Features, j.key, it)
						if err != nil {
							failures.Add(1)
							t.Errorf("Upsert %s v%d: %v", j.key, j.version, err)
						}
						if applied && j.version == versions {
							topApplied.Add(1)
						}
					}
				})
			}
			for _, j := range jobs {
				ch <- j
			}
			close(ch)
			wg.Wait()
			if failures.Load() > 0 {
				t.FailNow()
			}
			if topApplied.Load() != keys {
				t.Errorf("%d upserts of the highest version reported applied, want %d", topApplied.Load(), keys)
			}
			for k := range keys {
				it, found, err := stores[0].Get(ctx, store.Features, fmt.Sprintf("k%d", k))
				if err != nil || !found || it.Version != versions {
					t.Errorf("k%d: version %d, found %v, err %v; want version %d", k, it.Version, found, err, versions)
				}
			}
		})
	}
}

// meddler is a go-redis hook that, after each HGET of hkey inside an
// upsert (alone or in a pipeline), changes the hash from another connection, as a concurrent writer
// would, for as many times as budget allows.
type meddler struct {
	other  *goredis.Client
	hkey   string
	budget atomic.Int64
}

func (m *meddler) DialHook(next goredis.DialHook) goredis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (m *meddler) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		err := next(ctx, cmd)
		if cmd.Name() == "hget" && len(cmd.Args()) > 1 && cmd.Args()[1] == m.hkey && m.budget.Add(-1) >= 0 {
			if e := m.other.HSet(ctx, m.hkey, "noise", m.budget.Load()).Err(); e != nil {
				return e
			}
		}
		return err
	}
}

func (m *meddler) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if cmd.Name() == "hget" && len(cmd.Args()) > 1 && cmd.Args()[1] == m.hkey && m.budget.Add(-1) >= 0 {
				if e := m.other.HSet(ctx, m.hkey, "noise", m.budget.Load()).Err(); e != nil {
					return e
				}
				break
			}
		}
		return err
	}
}

// TestUpsertConflictsRetryThenFail makes every optimistic-locking attempt
// collide with a concurrent write: the upsert retries and then fails with
// ErrConflict, writing nothing; with fewer collisions than attempts it
// succeeds.
func TestUpsertConflictsRetryThenFail(t *testing.T) {
	ctx := ctxT(t)
	p := testPrefix("conflict")
	hkey := p + ":features"
	client := rawSingle(t)
	m := &meddler{other: rawSingle(t), hkey: hkey}
	client.AddHook(m)
	s, err := NewFromClient(client, Options{Prefix: p, UpsertAttempts: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dropPrefix(client, p) })
	it := mustItem(t, `{"key":"f","version":3}`)

	m.budget.Store(100) // every attempt collides
	applied, err := s.Upsert(ctx, store.Features, "f", it)
	if applied || !errors.Is(err, ErrConflict) {
		t.Fatalf("Upsert with every attempt colliding = %v, %v; want an ErrConflict error", applied, err)
	}
	if used := 100 - m.budget.Load(); used != 4 {
		t.Errorf("%d attempts made, want UpsertAttempts = 4", used)
	}
	if _, found, _ := s.Get(ctx, store.Features, "f"); found {
		t.Error("a failed Upsert wrote its item")
	}

	m.budget.Store(3) // three collisions, the fourth attempt goes through
	applied, err = s.Upsert(ctx, store.Features, "f", it)
	if err != nil || !applied {
		t.Fatalf("Upsert after 3 collisions = %v, %v; want applied", applied, err)
	}
	got, found, err := s.Get(ctx, store.Features, "f")
	if err != nil || !found || got.Version != 3 {
		t.Errorf("Get = %+v, %v, %v", got, found, err)
	}

	// A context that ends during the backoff stops the retries.
	m.budget.Store(1000)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Upsert(cctx, store.Features, "f", mustItem(t, `{"version":4}`)); err == nil {
		t.Error("Upsert with a canceled context: nil error")
	}
}
