package writer_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/writer"
)

// wtSyncRun runs Sync in the background and hands its passes to the test.
type wtSyncRun struct {
	passes chan writer.SyncPass
	log    *testlog.Buffer
	cancel context.CancelFunc
	done   chan error
}

func wtStartSync(t *testing.T, s store.Store, o writer.SyncOptions) *wtSyncRun {
	t.Helper()
	r := &wtSyncRun{passes: make(chan writer.SyncPass, 100), log: &testlog.Buffer{}, done: make(chan error, 1)}
	o.Logger = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.OnPass = func(p writer.SyncPass) { r.passes <- p }
	if o.PollInterval == 0 {
		o.PollInterval = 50 * time.Millisecond
	}
	if o.Settle == 0 {
		o.Settle = 20 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- writer.Sync(ctx, s, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("Sync did not return after cancel")
		}
	})
	return r
}

// next returns the next pass, failing t after a timeout.
func (r *wtSyncRun) next(t *testing.T) writer.SyncPass {
	t.Helper()
	select {
	case p := <-r.passes:
		return p
	case <-time.After(15 * time.Second):
		t.Fatalf("no sync pass within 15 s; log:\n%s", r.log)
	}
	return writer.SyncPass{}
}

// stop cancels Sync and checks that it returns nil.
func (r *wtSyncRun) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Sync returned %v after cancel", err)
		}
		r.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Sync did not return after cancel")
	}
}

// wtReplace writes a file the way editors and deployments do: a new file
// renamed over the old one.
func wtReplace(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const (
	wtSyncA  = `"a": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 0}}`
	wtSyncA2 = `"a": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 1}}`
	wtSyncB  = `"b": {"on": false, "variations": ["x"], "offVariation": 0}`
	wtSyncS  = `"s": {"included": ["u"]}`
)

// TestSync: the files are written at start, then an edit, a deletion, a bad
// edit (ignored and logged) and a fix are each picked up, on every store.
func TestSync(t *testing.T) {
	for _, mode := range []struct {
		name     string
		pollOnly bool
	}{{"notify", false}, {"poll", true}} {
		t.Run(mode.name, func(t *testing.T) {
			testaddrs.ForEach(t, func(t *testing.T, addr string) {
				s := wtOpen(t, addr)
				dir := t.TempDir()
				flags := wtFile(t, dir, "flags.json", `{"flags": {`+wtSyncA+`,`+wtSyncB+`}}`)
				segs := wtFile(t, dir, "segments.yaml", "segments:\n  s:\n    included: [u]\n")
				r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags, segs}, PollOnly: mode.pollOnly})

				p := r.next(t)
				if p.Err != nil || !p.Initialized || p.Written != 3 {
					t.Fatalf("first pass %+v", p)
				}
				want := map[string]string{"features/a": "1", "features/b": "1", "segments/s": "1"}
				if got := wtVersions(t, s); !reflect.DeepEqual(got, want) {
					t.Fatalf("versions %v, want %v", got, want)
				}

				// An edit: only the changed flag is written.
				wtReplace(t, flags, `{"flags": {`+wtSyncA2+`,`+wtSyncB+`}}`)
				p = r.next(t)
				if p.Err != nil || p.Initialized || p.Written != 1 || p.Deleted != 0 {
					t.Fatalf("edit pass %+v", p)
				}
				want["features/a"] = "2"
				if got := wtVersions(t, s); !reflect.DeepEqual(got, want) {
					t.Fatalf("versions %v, want %v", got, want)
				}

				// A deletion, written in place (no rename). A pass may catch
				// the file truncated but not yet written (on a loaded machine
				// the gap can outlast the settle time); Sync refuses that
				// state as invalid and the next pass reads the whole file.
				if err := os.WriteFile(flags, []byte(`{"flags": {`+wtSyncA2+`}}`), 0o644); err != nil {
					t.Fatal(err)
				}
				p = r.next(t)
				if p.Err != nil && strings.Contains(p.Err.Error(), "file is empty") {
					p = r.next(t)
				}
				if p.Err != nil || p.Written != 0 || p.Deleted != 1 {
					t.Fatalf("deletion pass %+v", p)
				}
				want["features/b"] = "2-"
				if got := wtVersions(t, s); !reflect.DeepEqual(got, want) {
					t.Fatalf("versions %v, want %v", got, want)
				}

				// A bad edit: logged, nothing written.
				before := wtSnapshot(t, s)
				wtReplace(t, segs, "segments:\n  s:\n    included: [u\n")
				p = r.next(t)
				var ve *writer.ValidationError
				if !errors.As(p.Err, &ve) {
					t.Fatalf("bad edit pass %+v; want a validation error", p)
				}
				if after := wtSnapshot(t, s); after != before {
					t.Fatalf("a bad edit changed the store:\n%s\n----\n%s", before, after)
				}
				if log := r.log.String(); !strings.Contains(log, "flag data files are invalid; the store keeps the last good dataset") ||
					!strings.Contains(log, "segments.yaml:3: YAML syntax error") {
					t.Fatalf("the bad edit was not logged clearly:\n%s", log)
				}

				// A semantically bad edit (a cycle) is refused the same way.
				wtReplace(t, flags, `{"flags": {"a": {"variations": [1], "prerequisites": [{"key": "a", "variation": 0}]}}}`)
				p = r.next(t)
				if !errors.As(p.Err, &ve) {
					t.Fatalf("cycle pass %+v; want a validation error", p)
				}
				if after := wtSnapshot(t, s); after != before {
					t.Fatal("a cycle changed the store")
				}

				// The fix is picked up once both files are good again.
				wtReplace(t, flags, `{"flags": {`+wtSyncA2+`,`+wtSyncB+`}}`)
				if p = r.next(t); !errors.As(p.Err, &ve) || !strings.Contains(p.Err.Error(), "segments.yaml") {
					t.Fatalf("pass with the segments still bad: %+v", p)
				}
				wtReplace(t, segs, "segments:\n  s:\n    included: [u, v]\n")
				p = r.next(t)
				if p.Err != nil || p.Written != 2 || p.Deleted != 0 {
					t.Fatalf("fix pass %+v", p)
				}
				want = map[string]string{"features/a": "2", "features/b": "3", "segments/s": "2"}
				if got := wtVersions(t, s); !reflect.DeepEqual(got, want) {
					t.Fatalf("versions %v, want %v", got, want)
				}
				r.stop(t)
			})
		})
	}
}

func TestSyncInvalidAtStart(t *testing.T) {
	s := wtOpen(t, testaddrs.Bolt(t))
	bad := wtFile(t, t.TempDir(), "flags.json", `{"flags": {"a": {"variations": [], "offVariation": 0}}}`)
	err := writer.Sync(context.Background(), s, writer.SyncOptions{Files: []string{bad}})
	if ps := wtProblems(t, err); !strings.Contains(ps[0].Message, "offVariation") {
		t.Fatalf("problems %v", ps)
	}
	if ok, _ := s.Initialized(context.Background()); ok {
		t.Fatal("an invalid start wrote the store")
	}
	if err := writer.Sync(context.Background(), s, writer.SyncOptions{}); err == nil {
		t.Fatal("Sync without files succeeded")
	}
}

// TestSyncWrittenByOthers: Sync writes over changes others made to the
// store only where the files differ, and re-initializes a wiped store.
func TestSyncReinitializes(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		s := wtOpen(t, addr)
		flags := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`}}`)
		r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}})
		if p := r.next(t); p.Err != nil || !p.Initialized {
			t.Fatalf("first pass %+v", p)
		}
		// Someone replaces the dataset with an empty one, then the file
		// changes: Sync writes everything back (the store is initialized,
		// so by upserts, at versions above the tombstone-free store's).
		ctx := wtCtx(t)
		if err := s.Init(ctx, nil); err != nil {
			t.Fatal(err)
		}
		wtReplace(t, flags, `{"flags": {`+wtSyncA+`,`+wtSyncB+`}}`)
		if p := r.next(t); p.Err != nil || p.Written != 2 {
			t.Fatalf("pass %+v", p)
		}
		if got := wtVersions(t, s); got["features/a"] != "1" || got["features/b"] != "1" {
			t.Fatalf("versions %v", got)
		}
	})
}

// wtFlaky fails the first n Initialized calls, like a store that is down
// when Sync starts.
type wtFlaky struct {
	store.Store
	mu sync.Mutex
	n  int
}

func (f *wtFlaky) Initialized(ctx context.Context) (bool, error) {
	f.mu.Lock()
	fail := f.n > 0
	f.n--
	f.mu.Unlock()
	if fail {
		return false, store.ErrUnavailable
	}
	return f.Store.Initialized(ctx)
}

func TestSyncRetriesStoreErrors(t *testing.T) {
	s := &wtFlaky{Store: wtOpen(t, testaddrs.Bolt(t)), n: 2}
	flags := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`}}`)
	r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}, PollInterval: 10 * time.Millisecond})
	for i := range 2 {
		if p := r.next(t); !errors.Is(p.Err, store.ErrUnavailable) {
			t.Fatalf("pass %d: %+v; want a store error", i, p)
		}
	}
	if p := r.next(t); p.Err != nil || !p.Initialized {
		t.Fatalf("retry pass %+v", p)
	}
	if !strings.Contains(r.log.String(), "writing flag data failed; will try again") {
		t.Fatalf("log:\n%s", r.log)
	}
}

func TestSyncTouchesBigSegments(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		s := wtOpen(t, addr)
		flags := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`}}`)
		wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}, TouchBigSegments: 50 * time.Millisecond})
		br := s.(store.BigSegmentReader)
		var first time.Time
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			at, ok, err := br.SynchronizedOn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case ok && first.IsZero():
				first = at
			case ok && at.After(first):
				return // touched at least twice
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("synchronized-on not refreshed (first %v)", first)
	})
}

func TestSyncCleanStop(t *testing.T) {
	s := wtOpen(t, testaddrs.Bolt(t))
	flags := wtFile(t, t.TempDir(), "flags.json", `{"flags": {`+wtSyncA+`}}`)
	r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}})
	r.next(t)
	r.stop(t)
	// Removing the directory after the stop must not matter to anyone.
	_ = os.RemoveAll(filepath.Dir(flags))
}

// Polls that keep seeing a change must not keep pushing its reading back:
// with a poll interval shorter than the settle time, an edit is still read.
func TestSyncPollShorterThanSettle(t *testing.T) {
	s := wtOpen(t, testaddrs.Bolt(t))
	dir := t.TempDir()
	flags := wtFile(t, dir, "flags.json", `{"flags": {`+wtSyncA+`}}`)
	r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}, PollOnly: true,
		PollInterval: 5 * time.Millisecond, Settle: 60 * time.Millisecond})
	if p := r.next(t); p.Err != nil || !p.Initialized {
		t.Fatalf("first pass %+v", p)
	}
	wtReplace(t, flags, `{"flags": {`+wtSyncA2+`}}`)
	if p := r.next(t); p.Err != nil || p.Written != 1 {
		t.Fatalf("edit pass %+v", p)
	}
}
