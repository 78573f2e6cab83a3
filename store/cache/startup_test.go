package cache

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// windowStore is a memstore handle whose subscription is held (Notify waits
// for hold to be closed before it subscribes), so that a test can write in
// the window between a cache's first reads and the start of listening. Its
// direct edits change what Get returns without a write of the writer's: no
// mark, no announcement, as an operator editing the database would.
type windowStore struct {
	*memstore.Store
	hold chan struct{}

	mu     sync.Mutex
	edits  map[string]store.Item // key -> item, features only
	gets   map[string]int
	marks  int
	markFn func() (string, error) // when set, WriteMark returns it
}

// startWindowCache makes a cache on a windowStore over ms, whose Notify is
// held until release is called; release and the cache's Close run when
// the test ends, in that order.
func startWindowCache(t *testing.T, ms *memstore.Store, opts Options) (*windowStore, *Cache, func()) {
	w := newWindowStore(ms)
	x := New(w, opts)
	release := sync.OnceFunc(func() { close(w.hold) })
	t.Cleanup(func() { x.Close() }) // cleanups run last first: after release
	t.Cleanup(release)
	return w, x, release
}

func newWindowStore(ms *memstore.Store) *windowStore {
	return &windowStore{Store: ms.Connect(), hold: make(chan struct{}), edits: map[string]store.Item{}, gets: map[string]int{}}
}

func (w *windowStore) Notify(ctx context.Context, fn func([]store.Change)) error {
	select {
	case <-w.hold:
	case <-ctx.Done():
		return ctx.Err()
	}
	return w.Store.Notify(ctx, fn)
}

func (w *windowStore) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	w.mu.Lock()
	w.gets[key]++
	it, edited := w.edits[key]
	w.mu.Unlock()
	if edited && kind == store.Features {
		return it, true, nil
	}
	return w.Store.Get(ctx, kind, key)
}

func (w *windowStore) WriteMark(ctx context.Context) (string, error) {
	w.mu.Lock()
	w.marks++
	fn := w.markFn
	w.mu.Unlock()
	if fn != nil {
		return fn()
	}
	return w.Store.WriteMark(ctx)
}

func (w *windowStore) edit(t *testing.T, key, doc string) {
	t.Helper()
	it, err := store.ItemFromJSON([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.edits[key] = it
	w.mu.Unlock()
}

func (w *windowStore) getsOf(key string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gets[key]
}

func (w *windowStore) markReads() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.marks
}

func flagDoc(key string, version int, on bool) string {
	return fmt.Sprintf(`{"key":%q,"version":%d,"on":%t,"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`, key, version, on)
}

func upsertFlag(t *testing.T, ms *memstore.Store, key string, version int, on bool) {
	t.Helper()
	it, err := store.ItemFromJSON([]byte(flagDoc(key, version, on)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Upsert(context.Background(), store.Features, key, it); err != nil {
		t.Fatal(err)
	}
}

// On a store that marks its writes, a new cache's first lookup does not wait
// for the subscription: it returns while Notify has not begun listening.
// Once the store listens, the mark is read again; it has not moved, so
// nothing is read again.
func TestFirstLookupDoesNotWaitForSubscription(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, x, release := startWindowCache(t, newFlagStore(t), Options{})
		f, err := x.GetFlag(context.Background(), "f")
		if err != nil || f == nil || f.Key != "f" {
			t.Fatalf("GetFlag = %v, %v; want flag f before the store listens", f, err)
		}
		if n := w.Subscribers(); n != 0 {
			t.Fatalf("%d subscribers: the lookup waited for the subscription", n)
		}
		release()
		synctest.Wait()
		if n := w.Subscribers(); n != 1 {
			t.Fatalf("%d subscribers once Notify may listen, want 1", n)
		}
		if n := w.markReads(); n != 2 {
			t.Errorf("%d reads of the write mark, want 2 (the first check, and once listening)", n)
		}
		if n := w.getsOf("f"); n != 1 {
			t.Errorf("f read %d times, want 1: no writer wrote before listening began", n)
		}
	})
}

// A writer's write between a new cache's first read and the start of
// listening was announced to nobody; the mark moved, so once the store
// listens everything cached is read again and the change shows at once, not
// after the TTL.
func TestWriteBeforeListeningIsCaughtUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newFlagStore(t)
		_, x, release := startWindowCache(t, ms, Options{TTL: time.Hour})
		if f, err := x.GetFlag(context.Background(), "f"); err != nil || f == nil || !f.On {
			t.Fatalf("GetFlag = %v, %v; want flag f, on", f, err)
		}
		if f, err := x.GetFlag(context.Background(), "g"); err != nil || f != nil {
			t.Fatalf("GetFlag(g) = %v, %v; want not found", f, err)
		}
		upsertFlag(t, ms, "f", 2, false) // announced before the cache listens: lost
		upsertFlag(t, ms, "g", 1, true)
		release()
		synctest.Wait()
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || f.On || f.Version != 2 {
			t.Errorf("f after listening began = %+v; want version 2, off (the write before listening, caught up)", f)
		}
		if f, _ := x.GetFlag(context.Background(), "g"); f == nil || f.Version != 1 {
			t.Errorf("g after listening began = %+v; want version 1 (a cached miss, caught up)", f)
		}
	})
}

// A change made behind the writer's back (no mark, no announcement) between
// the first read and the start of listening is not shown before the TTL: a
// cached miss stays a miss and a cached flag keeps its value until their
// TTL ends (LaunchDarkly's persistent-store contract), and shows after it.
func TestDirectEditBeforeListeningKeepsTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, x, release := startWindowCache(t, newFlagStore(t), Options{TTL: time.Minute})
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || !f.On {
			t.Fatalf("GetFlag(f) = %v; want flag f, on", f)
		}
		if f, err := x.GetFlag(context.Background(), "g"); err != nil || f != nil {
			t.Fatalf("GetFlag(g) = %v, %v; want not found", f, err)
		}
		w.edit(t, "f", flagDoc("f", 2, false))
		w.edit(t, "g", flagDoc("g", 1, true))
		release()
		synctest.Wait()
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || !f.On {
			t.Errorf("f after listening began = %+v; want the cached flag (on) until its TTL", f)
		}
		if f, _ := x.GetFlag(context.Background(), "g"); f != nil {
			t.Errorf("g after listening began = %+v; want the cached miss until its TTL", f)
		}
		time.Sleep(time.Minute) // the TTL, on the bubble's clock
		synctest.Wait()
		if f, _ := x.GetFlag(context.Background(), "g"); f == nil || f.Version != 1 {
			t.Errorf("g after the TTL = %+v; want the edited flag", f)
		}
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || f.On {
			t.Errorf("f after the TTL = %+v; want the edited flag (off)", f)
		}
	})
}

// A mark that cannot be read once listening began (an error) is taken as
// moved: everything cached is read again.
func TestUnreadableMarkAfterListeningCatchesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, x, release := startWindowCache(t, newFlagStore(t), Options{})
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil {
			t.Fatal("GetFlag(f) = nil; want flag f")
		}
		w.mu.Lock()
		w.markFn = func() (string, error) { return "", fmt.Errorf("test: %w", store.ErrUnavailable) }
		w.mu.Unlock()
		release()
		synctest.Wait()
		if n := w.getsOf("f"); n != 2 {
			t.Errorf("f read %d times, want 2 (again once listening, the mark unknown)", n)
		}
	})
}

// When the write mark cannot be read at the first check (an error, or a
// store whose notifications are not all marked), the first lookup waits for
// the subscription as on a store without marks.
func TestUnmarkedFirstCheckWaitsForSubscription(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"unsupported", errors.ErrUnsupported},
		{"unavailable", store.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				w := newWindowStore(newFlagStore(t))
				w.markFn = func() (string, error) { return "", fmt.Errorf("test: %w", tc.err) }
				x := New(w, Options{})
				defer x.Close()
				release := sync.OnceFunc(func() { close(w.hold) })
				defer release()
				done := lookupAsync(x, "f")
				synctest.Wait()
				if n := w.getsOf("f"); n != 0 {
					t.Fatalf("f read %d times before the store listens, want 0", n)
				}
				release()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if n := w.getsOf("f"); n != 1 {
					t.Errorf("f read %d times, want 1", n)
				}
			})
		})
	}
}

// On a store that marks its writes, the subscription starts only once the
// cache's first reads (those that began before the first check was done)
// have ended, since its connection would compete with them.
func TestSubscriptionStartsAfterFirstReads(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &orderStore{Store: newFlagStore(t).Connect(), gate: make(chan struct{})}
		c := New(o, Options{})
		defer c.Close()
		open := sync.OnceFunc(func() { close(o.gate) })
		defer open()
		synctest.Wait() // the monitor is inside its first check
		done := lookupAsync(c, "f")
		synctest.Wait() // the lookup waits for the check
		if log := o.calls(); slices.Contains(log, "notify") {
			t.Fatalf("store calls %q: the subscription began beside the first check", log)
		}
		open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		log := o.calls()
		get, notify := slices.Index(log, "get f"), slices.Index(log, "notify")
		if get < 0 || notify < get {
			t.Fatalf("store calls %q: want the subscription after the first item read", log)
		}
		if !slices.Contains(log, "subscribed") {
			t.Fatalf("store calls %q: no subscription once the first read ended", log)
		}
	})
}

// startCheckStore is a windowStore that makes the first check in one call
// (store.StartChecker), counting the calls of each kind.
type startCheckStore struct {
	*windowStore
	initErr error
	noItem  bool // StartCheck leaves the item unread
	calls   map[string]int
}

func (s *startCheckStore) note(call string) {
	s.mu.Lock()
	s.calls[call]++
	s.mu.Unlock()
}

func (s *startCheckStore) count(call string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[call]
}

func (s *startCheckStore) Initialized(ctx context.Context) (bool, error) {
	s.note("initialized")
	if s.initErr != nil {
		return true, s.initErr
	}
	return s.windowStore.Initialized(ctx)
}

func (s *startCheckStore) LastWrite(ctx context.Context) (time.Time, bool, error) {
	s.note("lastwrite")
	return s.windowStore.LastWrite(ctx)
}

func (s *startCheckStore) StartCheck(ctx context.Context, kind store.Kind, key string) store.StartCheck {
	s.note("startcheck")
	var sc store.StartCheck
	sc.Inited, sc.InitErr = s.windowStore.Initialized(ctx)
	if sc.InitErr == nil {
		sc.InitErr = s.initErr
	}
	sc.Mark, sc.MarkErr = s.windowStore.WriteMark(ctx)
	sc.LastWrite, sc.LastWriteOK, sc.LastWriteErr = s.windowStore.LastWrite(ctx)
	if key != "" && !s.noItem {
		s.note("startcheck item")
		it, found, err := s.windowStore.Get(ctx, kind, key)
		sc.ItemRead, sc.ItemFound, sc.ItemErr = true, found, err
		if found {
			sc.ItemData = it.Data
		}
	}
	return sc
}

// A store that reads the first check's answers together (Redis: one
// pipeline) is asked once, with the first lookup's item, not three times
// and then for the item; the answers count as they would alone: the status,
// the last write, and the mark (a write before listening is caught up); a
// check that finds an init in progress fails the first lookup; a store
// that leaves the item unread has it read as usual.
func TestStartCheckInOneCall(t *testing.T) {
	for _, noItem := range []bool{false, true} {
		t.Run(fmt.Sprintf("caught up, item unread %v", noItem), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ms := newFlagStore(t)
				s := &startCheckStore{windowStore: newWindowStore(ms), calls: map[string]int{}, noItem: noItem}
				x := newUnstarted(s, Options{TTL: time.Hour})
				defer x.Close()
				release := sync.OnceFunc(func() { close(s.hold) })
				defer release()
				// Before the monitor runs: the lookup makes the check.
				if f, err := x.GetFlag(context.Background(), "f"); err != nil || f == nil || !f.On {
					t.Fatalf("GetFlag = %v, %v; want flag f, on", f, err)
				}
				x.c.start()
				if n, i, l := s.count("startcheck"), s.count("initialized"), s.count("lastwrite"); n != 1 || i != 0 || l != 0 {
					t.Errorf("calls: %d start checks, %d Initialized, %d LastWrite; want 1, 0, 0", n, i, l)
				}
				if n, want := s.count("startcheck item"), map[bool]int{false: 1, true: 0}[noItem]; n != want {
					t.Errorf("%d items read with the start check, want %d", n, want)
				}
				if n := s.getsOf("f"); n != 1 {
					t.Errorf("f read %d times, want 1", n)
				}
				if st := x.Status(); st.State != Available || st.LastWrite.IsZero() {
					t.Errorf("status %v, last write %v; want available, the writer's last write", st.State, st.LastWrite)
				}
				upsertFlag(t, ms, "f", 2, false)
				release()
				synctest.Wait()
				if f, _ := x.GetFlag(context.Background(), "f"); f == nil || f.On {
					t.Errorf("f after listening began = %+v; want version 2, off", f)
				}
			})
		})
	}
	t.Run("direct edit keeps the TTL", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}}
			x := New(s, Options{TTL: time.Minute})
			defer x.Close()
			release := sync.OnceFunc(func() { close(s.hold) })
			defer release()
			if f, _ := x.GetFlag(context.Background(), "f"); f == nil || !f.On {
				t.Fatalf("GetFlag(f) = %v; want flag f, on", f)
			}
			s.edit(t, "f", flagDoc("f", 2, false))
			release()
			synctest.Wait()
			if f, _ := x.GetFlag(context.Background(), "f"); f == nil || !f.On {
				t.Errorf("f after listening began = %+v; want the cached flag (on) until its TTL", f)
			}
		})
	})
	t.Run("init in progress", func(t *testing.T) {
		s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}, initErr: errIniting}
		close(s.hold)
		x := newCache(t, s, Options{})
		if f, err := x.GetFlag(context.Background(), "f"); f != nil || !errors.Is(err, store.ErrInitInProgress) {
			t.Fatalf("GetFlag = %v, %v; want the init-in-progress error", f, err)
		}
		if st := x.Status(); st.State != Unavailable {
			t.Errorf("status %v, want unavailable", st.State)
		}
	})
	t.Run("mark unknown", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}}
			s.markFn = func() (string, error) { return "", fmt.Errorf("test: %w", store.ErrUnavailable) }
			x := New(s, Options{})
			defer x.Close()
			release := sync.OnceFunc(func() { close(s.hold) })
			defer release()
			done := lookupAsync(x, "f")
			synctest.Wait()
			select {
			case err := <-done:
				t.Fatalf("GetFlag returned (%v) before the store listened, with the mark unknown", err)
			default:
			}
			release()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			// The monitor may have made the check before the lookup (then
			// without the item); an item read with it is discarded.
			if n, want := s.getsOf("f"), 1+s.count("startcheck item"); n != want {
				t.Errorf("f read %d times, want %d (once listening, and any read with the check discarded)", n, want)
			}
		})
	})
}

// On a store that makes the first check with an item read, the monitor
// leaves the check to a lookup that comes at once (the grace), so a new
// cache's first lookup costs one store call; a wait for the check
// (Initialized) makes it at once rather than after the grace; without
// either, the monitor makes it after the grace.
func TestFirstCheckGrace(t *testing.T) {
	t.Run("lookup", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}}
			close(s.hold)
			x := New(s, Options{})
			defer x.Close()
			if f, err := x.GetFlag(context.Background(), "f"); err != nil || f == nil {
				t.Fatalf("GetFlag = %v, %v; want flag f", f, err)
			}
			synctest.Wait()
			if n, i := s.count("startcheck"), s.count("startcheck item"); n != 1 || i != 1 {
				t.Errorf("%d start checks, %d with the item; want 1 and 1 (the lookup's)", n, i)
			}
		})
	})
	t.Run("Initialized", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}}
			close(s.hold)
			start := time.Now()
			x := New(s, Options{})
			defer x.Close()
			if !x.Initialized(context.Background()) {
				t.Fatal("Initialized = false, want true")
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("Initialized returned after %v on the bubble's clock; want at once, not after the grace", d)
			}
		})
	})
	t.Run("neither", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := &startCheckStore{windowStore: newWindowStore(newFlagStore(t)), calls: map[string]int{}}
			close(s.hold)
			x := New(s, Options{})
			defer x.Close()
			synctest.Wait()
			if n := s.count("startcheck"); n != 0 {
				t.Fatalf("%d start checks before the grace ended, want 0", n)
			}
			time.Sleep(firstCheckGrace)
			synctest.Wait()
			if n := s.count("startcheck"); n != 1 {
				t.Errorf("%d start checks after the grace, want 1 (the monitor's)", n)
			}
		})
	})
}

// A writer's Init both moves the mark and announces itself. When the
// store listens in time to hear it, its notification reads everything
// again, and the catch-up (the mark moved) reads nothing more: a second
// read of everything would install a change made behind the writer's back
// after the first (the persistent-store contract's "ignores direct database
// modifications", with a relay writing while the client starts).
func TestCatchUpSkippedAfterAnnouncedChangeAll(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ms := newFlagStore(t)
		w, x, release := startWindowCache(t, ms, Options{TTL: time.Hour})
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || !f.On {
			t.Fatalf("GetFlag(f) = %v; want flag f, on", f)
		}
		upsertFlag(t, ms, "f", 2, false) // moves the mark; nobody listens yet
		proceed := make(chan struct{})
		w.mu.Lock()
		w.markFn = func() (string, error) {
			// Once listening began and before the mark is read again: an
			// announced ChangeAll, applied (its reads see version 2)
			// before the mark is read.
			ms.Announce(store.ChangeAll)
			<-proceed
			return ms.WriteMark(context.Background())
		}
		w.mu.Unlock()
		release()
		synctest.Wait() // the ChangeAll is applied; the catch-up waits to read the mark
		if n := w.getsOf("f"); n != 2 {
			t.Fatalf("f read %d times once the ChangeAll was applied, want 2", n)
		}
		close(proceed)
		synctest.Wait()
		if f, _ := x.GetFlag(context.Background(), "f"); f == nil || f.On || f.Version != 2 {
			t.Fatalf("f after listening began = %+v; want version 2, off", f)
		}
		if n := w.getsOf("f"); n != 2 {
			t.Errorf("f read %d times, want 2 (the first read, and the announced ChangeAll's; the catch-up adds none)", n)
		}
	})
}
