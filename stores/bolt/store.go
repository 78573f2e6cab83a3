package bolt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Names in the file (see the package doc).
var (
	metaBucket     = []byte("$daemonflag")
	metaFormat     = []byte("format")
	metaGeneration = []byte("generation")
	metaSnapshot   = []byte("snapshot")
	metaChanges    = []byte("changes")
	// Format "2" files may hold membership blocks (members.go); format "1"
	// files hold one membership per key, which format 2 also allows, so
	// this version reads both and writes "2".
	formatV1 = []byte("1")
	formatV2 = []byte("2")

	initedKey         = []byte("$inited")
	bigSegmentsBucket = []byte("big_segments")
	runsBucket        = []byte("big_segments_runs")
	syncOnKey         = []byte("big_segments_synchronized_on")
)

// Store is a daemonflag store in a bbolt file shared by one writer and any
// number of reader processes on one host. It implements [store.Store],
// [store.Pinger], [store.BigSegmentReader], [store.BigSegmentWriter],
// [store.MembershipScanner], [store.Batcher], [store.WriteTimeReader] and
// [store.Notifier]. It is safe for concurrent use.
type Store struct {
	path   string // the live file
	dir    string
	base   string
	prefix []byte
	cfg    settings
	closed atomic.Bool

	// Read side. mu guards snap, bad and badErr and is never held across
	// a call into bbolt; reads hold a reference to the snapshot instead.
	// reopen (a one-slot channel, so waiting honours contexts) serializes
	// opening.
	mu        sync.RWMutex
	reopenCh  chan struct{}
	snap      *snapshot
	bad       os.FileInfo // the file that last failed to open, with badErr
	badErr    error
	lastCheck atomic.Int64 // unix nanoseconds of the last stat of path
	stop      chan struct{}
	stopped   chan struct{}
	ctx       context.Context // done when the store closes
	cancel    context.CancelFunc

	notify notifier // Notify (notify.go)

	// Write side (write.go).
	wmu       sync.Mutex // held by the goroutine committing a batch
	pendMu    sync.Mutex
	pending   []*writeOp
	lock      *fileLock
	swept     bool // stale temporary files removed
	closeOnce sync.Once
	arena     chunkArena               // values written, reused (members.go)
	members   []store.MembershipChange // a write's membership changes, reused
	sorter    changeSorter

	// Counters for tests and benchmarks: writes done in place on the
	// standby file, and writes that copied or rebuilt the file.
	inPlaceWrites, copyWrites atomic.Int64
	compactions               atomic.Int64
	forceCopy                 atomic.Bool // tests: never write in place
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.Pinger            = (*Store)(nil)
	_ store.BigSegmentReader  = (*Store)(nil)
	_ store.BigSegmentWriter  = (*Store)(nil)
	_ store.MembershipScanner = (*Store)(nil)
)

// Open opens the store at path ([DefaultPath] when empty) with opts (nil for
// the defaults). The file need not exist: a read-only store then reports
// [ErrNotExist] from its reads until a writer publishes the file, and a
// writer creates it on its first write (its directory too with
// [Options.MakeDirs]). A read-only Open fails with an error wrapping
// [ErrCorrupt] when the file exists but is not a valid store; a writer's
// Open succeeds, so that Init can replace the file (see the package doc).
func Open(path string, opts *Options) (*Store, error) {
	if path == "" {
		path = DefaultPath
	}
	cfg := opts.settings()
	if strings.HasPrefix(cfg.prefix, "$") {
		return nil, fmt.Errorf("bolt: prefix %q must not begin with '$'", cfg.prefix)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("bolt: path %q: %w", path, err)
	}
	s := &Store{
		path:     abs,
		dir:      filepath.Dir(abs),
		base:     filepath.Base(abs),
		prefix:   []byte(cfg.prefix),
		cfg:      cfg,
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		reopenCh: make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.refresh(s.ctx, checkNow); err != nil && (cfg.readOnly || !errors.Is(err, ErrCorrupt)) {
		s.cancel()
		return nil, err
	}
	if cfg.releaseInterval > 0 {
		go s.releaseLoop()
	} else {
		close(s.stopped)
	}
	return s, nil
}

// Path returns the absolute path of the live store file.
func (s *Store) Path() string { return s.path }

// Close releases the store's files and stops its background check. Calls
// after Close return [ErrClosed]; a second Close returns nil.
func (s *Store) Close() error {
	first := false
	s.closeOnce.Do(func() { first = true })
	if !first {
		return nil
	}
	s.closed.Store(true)
	close(s.stop)
	s.cancel()
	<-s.stopped
	s.closeNotify()
	// Let a committing writer finish.
	s.wmu.Lock()
	var err error
	if s.lock != nil {
		err = s.lock.close()
		s.lock = nil
	}
	s.wmu.Unlock()
	// An opening in progress stops at s.stop.
	s.reopenCh <- struct{}{}
	s.mu.Lock()
	old := s.snap
	s.snap = nil
	s.mu.Unlock()
	<-s.reopenCh
	if old != nil {
		// Reads still running close it when they finish.
		old.release()
	}
	return err
}

// begin checks the store is open and the context live.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// releaseLoop lets go of a file a writer has replaced, even when nothing
// reads, so the writer can update it in place.
func (s *Store) releaseLoop() {
	defer close(s.stopped)
	t := time.NewTicker(s.cfg.releaseInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.RLock()
			open := s.snap != nil
			s.mu.RUnlock()
			if open {
				_ = s.refresh(s.ctx, checkNow)
			}
		}
	}
}

// How refresh looks at the path.
type checkMode int

const (
	// checkMaybe stats the path at most once per CheckInterval.
	checkMaybe checkMode = iota
	// checkNow stats it now.
	checkNow
	// checkRetry stats it now and opens again a file that failed to open
	// even if it looks unchanged (a repair in place within the file
	// system's timestamp granularity would otherwise go unseen).
	checkRetry
)

// refresh makes snap the file the path names now.
func (s *Store) refresh(ctx context.Context, mode checkMode) error {
	now := time.Now().UnixNano()
	if mode == checkMaybe && s.cfg.checkInterval > 0 && now-s.lastCheck.Load() < int64(s.cfg.checkInterval) {
		if sn := s.current(); sn == nil || !sn.isBroken() {
			return nil
		}
	}
	fi, statErr := os.Stat(s.path)
	s.lastCheck.Store(now)
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return unavailable("stat", s.path, statErr)
	}
	if statErr != nil {
		fi = nil
	}
	if s.isCurrent(fi) {
		return nil
	}
	return s.reopen(ctx, mode)
}

// current returns snap, or nil.
func (s *Store) current() *snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.snap
}

// isCurrent reports whether snap is the file fi describes (nil: no file)
// and usable.
func (s *Store) isCurrent(fi os.FileInfo) bool {
	s.mu.RLock()
	sn, badErr := s.snap, s.badErr
	s.mu.RUnlock()
	if fi == nil {
		return sn == nil && badErr == nil
	}
	return sn != nil && os.SameFile(sn.info, fi) && !sn.isBroken()
}

// reopen swaps snap for the file the path names now.
func (s *Store) reopen(ctx context.Context, mode checkMode) error {
	select {
	case s.reopenCh <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.stop:
		return ErrClosed
	}
	defer func() { <-s.reopenCh }()
	if s.closed.Load() {
		return ErrClosed
	}
	fi, err := os.Stat(s.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return unavailable("stat", s.path, err)
	}
	if err != nil {
		fi = nil
	}
	if s.isCurrent(fi) {
		return nil
	}
	// A file that failed to open is not tried again until it changes.
	s.mu.RLock()
	bad, badErr := s.bad, s.badErr
	s.mu.RUnlock()
	if mode != checkRetry && fi != nil && bad != nil && os.SameFile(bad, fi) && bad.Size() == fi.Size() && bad.ModTime().Equal(fi.ModTime()) {
		return badErr
	}
	sn, err := openSnapshot(ctx, s.stop, s.path, s.cfg.timeout)
	if err != nil && !errors.Is(err, ErrCorrupt) {
		// Could not open the new file this time (a lock not granted, a
		// permission): keep reading the one we have.
		return err
	}
	s.mu.Lock()
	old := s.snap
	s.snap = sn
	s.bad, s.badErr = nil, nil
	if err != nil {
		s.bad, s.badErr = fi, err
	}
	s.mu.Unlock()
	if old != nil {
		old.release()
	}
	return err
}

// acquire returns the current snapshot with a reference the caller
// releases, or nil when there is no file, or the error of the file that
// failed to open.
func (s *Store) acquire() (*snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed.Load() {
		return nil, ErrClosed
	}
	if s.badErr != nil {
		return nil, s.badErr
	}
	if s.snap != nil {
		s.snap.acquire()
	}
	return s.snap, nil
}

// view runs fn in a read transaction on the live file. When no file exists
// it returns an error wrapping ErrNotExist on a read-only store, and calls
// fn with a nil tx on a store that writes (its first write creates the
// file).
func (s *Store) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.refresh(ctx, checkMaybe); err != nil {
		return err
	}
	sn, err := s.acquire()
	if err != nil {
		return err
	}
	if sn == nil {
		if s.cfg.readOnly {
			return &notExistError{path: s.path}
		}
		return fn(nil)
	}
	defer sn.release()
	return sn.view(fn)
}

// bucket returns the bucket at prefix/name..., or nil.
func (s *Store) bucket(tx *bbolt.Tx, names ...[]byte) *bbolt.Bucket {
	if tx == nil {
		return nil
	}
	b := tx.Bucket(s.prefix)
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket(n)
	}
	return b
}

func checkKind(kind store.Kind) error {
	k := string(kind)
	if k == "" || strings.HasPrefix(k, "$") || strings.HasPrefix(k, string(bigSegmentsBucket)) {
		return fmt.Errorf("bolt: invalid kind %q", k)
	}
	return nil
}

// Get returns the item of the given kind and key, tombstones included.
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	if err := checkKind(kind); err != nil {
		return store.Item{}, false, err
	}
	var (
		it    store.Item
		found bool
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx, []byte(kind))
		if b == nil || key == "" {
			return nil
		}
		v := b.Get([]byte(key))
		if v == nil {
			return nil
		}
		d, err := decodeValue(v)
		if err != nil {
			return fmt.Errorf("bolt get %s %q: %w", kind, key, err)
		}
		d.Data = append([]byte(nil), d.Data...)
		it, found = d, true
		return nil
	})
	if err != nil {
		return store.Item{}, false, err
	}
	return it, found, nil
}

// GetAll returns every item of the kind, tombstones included, from one
// consistent snapshot.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	if err := checkKind(kind); err != nil {
		return nil, err
	}
	var out []store.KeyedItem
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx, []byte(kind))
		if b == nil {
			return nil
		}
		var a arena
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket; none are written
			}
			it, err := decodeValue(v)
			if err != nil {
				return fmt.Errorf("bolt get all %s, key %q: %w", kind, k, err)
			}
			it.Data = a.copy(it.Data)
			out = append(out, store.KeyedItem{Key: string(k), Item: it})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// arena copies many small byte slices into a few large allocations.
type arena struct{ buf []byte }

func (a *arena) copy(b []byte) []byte {
	if len(b) > cap(a.buf)-len(a.buf) {
		a.buf = make([]byte, 0, max(64<<10, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// Initialized reports whether a writer has stored a complete dataset under
// the store's prefix.
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	var ok bool
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx)
		ok = b != nil && b.Get(initedKey) != nil
		return nil
	})
	return ok, err
}

// Ping checks that the store file can be read, opening it again if it failed
// to open before (a file repaired in place is then seen at once); it waits
// for a file lock no longer than ctx allows. A missing file is an error
// wrapping [ErrNotExist] for a read-only store; for a store that writes it
// is not an error (the store is available and not initialized).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if err := s.refresh(ctx, checkRetry); err != nil {
		return err
	}
	return s.view(ctx, func(tx *bbolt.Tx) error {
		if tx != nil && tx.Bucket(metaBucket) == nil {
			return corrupt(s.path, "no %s bucket", metaBucket)
		}
		return nil
	})
}

// Membership returns the big-segment membership of a context hash.
func (s *Store) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	var m store.Membership
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		pb := s.bucket(tx)
		if pb == nil || contextHash == "" {
			return nil
		}
		var err error
		if m, err = lookupMembership(pb, bytesOf(contextHash)); err != nil {
			return fmt.Errorf("bolt membership %q: %w", contextHash, err)
		}
		return nil
	})
	return m, err
}

// SynchronizedOn returns when a writer last declared the big-segment data up
// to date, to the millisecond.
func (s *Store) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	var (
		t  time.Time
		ok bool
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		b := s.bucket(tx)
		if b == nil {
			return nil
		}
		v := b.Get(syncOnKey)
		if v == nil {
			return nil
		}
		ms, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return fmt.Errorf("bolt synchronized-on: %w: %q is not a millisecond time", store.ErrMalformedItem, v)
		}
		t, ok = time.UnixMilli(ms), true
		return nil
	})
	return t, ok, err
}

// scanChunk is how many memberships ScanMembership reads per read
// transaction; fn runs outside transactions, so it may write to the store.
const scanChunk = 1024

// ScanMembership calls fn for each context hash with a stored membership, in
// hash order. Each hash is reported once; a write during the scan may or may
// not be seen.
func (s *Store) ScanMembership(ctx context.Context, fn func(contextHash string, m store.Membership) error) error {
	type entry struct {
		hash string
		m    store.Membership
	}
	var after []byte
	for {
		var chunk []entry
		err := s.view(ctx, func(tx *bbolt.Tx) error {
			pb := s.bucket(tx)
			if pb == nil {
				return nil
			}
			var sc memberScratch
			err := merge(levels(pb, after, false), &sc, false, func(h []byte) (bool, error) {
				if !sc.empty(false) {
					chunk = append(chunk, entry{string(h), sc.membership()})
				}
				return len(chunk) < scanChunk, nil
			})
			if err != nil {
				return fmt.Errorf("bolt scan membership: %w", err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range chunk {
			if err := fn(e.hash, e.m); err != nil {
				return err
			}
		}
		if len(chunk) < scanChunk {
			return nil
		}
		after = []byte(chunk[len(chunk)-1].hash)
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}
