package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/store"
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

	// Write side (commit.go, publish.go).
	wmu       sync.Mutex // held by the goroutine committing a batch
	pendMu    sync.Mutex
	pending   []*writeOp
	lock      *fileLock
	swept     bool // stale temporary files removed
	closeOnce sync.Once
	arena     chunkArena               // values written, reused (segments_blocks.go)
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

// Close stops the store's background check and its notifications, waits
// for a write in progress, and releases its files (a read still running
// releases its file when it ends; Close does not wait for reads, and never
// blocks on a damaged file). Calls after Close return [ErrClosed]; a second
// Close returns nil.
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
