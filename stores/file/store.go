package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/writer"
)

// ErrInvalidFiles is matched by the errors of a [Store]'s reads while its
// files are invalid; the store keeps the last good dataset meanwhile.
var ErrInvalidFiles = errors.New("flag data files are invalid; the last good dataset is kept")

// ErrReadOnly is returned by the write methods of a [Store].
var ErrReadOnly = errors.New("file store is read-only: its data is the flag data files, so edit them " +
	"(or write them into another store with daemonflag write)")

// ErrClosed is returned by every call after [Store.Close].
var ErrClosed = errors.New("file store is closed")

// Options configures [Open]. The zero value of every field is its
// documented default.
type Options struct {
	// Settle is how long the store waits after a file notification before
	// reading the files, so an editor's or a deployment's several writes
	// are read once, complete. Zero: writer.DefaultSettle (100 ms).
	Settle time.Duration

	// PollInterval is how often the files are also checked for changes by
	// size and modification time. Zero: writer.DefaultPollInterval (1 s).
	PollInterval time.Duration

	// PollOnly turns file notifications off, for file systems that do not
	// deliver them (NFS, some container volumes). False: notifications,
	// with polling as a safety net.
	PollOnly bool

	// KeepFirstDuplicates keeps the first definition of a key defined in
	// more than one file (in the order given) and logs a warning for the
	// others, as LaunchDarkly's file data source does with "ignore all but
	// first". False: a duplicate key makes the files invalid.
	KeepFirstDuplicates bool

	// AllowDelete accepts an edit that deletes every flag or more than half
	// of them. False: such an edit counts as invalid (the writer's guard
	// against an emptied file), and the last good dataset is kept.
	AllowDelete bool

	// Logger receives every reload and every problem with the files. Nil:
	// slog.Default().
	Logger *slog.Logger

	// OnReload, when set, is called after each reading of the files that
	// found them changed, with nil when the new dataset is in place and
	// otherwise the error the reads now return. It runs on the store's
	// goroutine and must return quickly.
	OnReload func(err error)
}

// Status is the state of a [Store]'s files.
type Status struct {
	// Files are the files, as given to Open.
	Files []string
	// LoadedAt is when the dataset in memory was loaded.
	LoadedAt time.Time
	// Err is nil while the files are valid; otherwise what is wrong with
	// them (matching ErrInvalidFiles), the dataset of LoadedAt being kept.
	Err error
	// FailingSince is when the files became invalid; zero while Err is
	// nil.
	FailingSince time.Time
}

// Store is a read-only store of flag data files, reloaded when they change.
// It implements store.Store (its writes return [ErrReadOnly]),
// store.Pinger, store.Notifier and store.WriteTimeReader. It is safe for
// concurrent use.
type Store struct {
	mem      *memstore.Store
	cancel   context.CancelFunc
	done     chan struct{}
	onReload func(error)

	mu     sync.RWMutex
	status Status
	readEr error // the error reads return while the files are invalid

	closed    atomic.Bool
	closeOnce sync.Once
}

// Open loads the files and starts watching them. It returns the loading
// error (a *writer.ValidationError, whose problems give file, line and
// column) when the files are invalid at the start; ctx bounds only that
// first load. Close the store when done.
func Open(ctx context.Context, paths []string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if len(paths) == 0 {
		return nil, errors.New("file store: no flag data files given")
	}
	if o.Settle < 0 || o.PollInterval < 0 {
		return nil, errors.New("file store: negative Settle or PollInterval")
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Store{
		mem:      memstore.New(),
		cancel:   cancel,
		done:     make(chan struct{}),
		onReload: o.OnReload,
		status:   Status{Files: slices.Clone(paths)},
	}
	first := make(chan writer.SyncPass, 1)
	started := false // only touched on Sync's goroutine
	syncOpts := writer.SyncOptions{
		Files:               slices.Clone(paths),
		PollInterval:        o.PollInterval,
		PollOnly:            o.PollOnly,
		Settle:              o.Settle,
		Logger:              logger,
		AllowDelete:         o.AllowDelete,
		KeepFirstDuplicates: o.KeepFirstDuplicates,
		OnPass: func(p writer.SyncPass) {
			if !started {
				started = true
				s.mu.Lock()
				s.status.LoadedAt = time.Now()
				s.mu.Unlock()
				first <- p
				return
			}
			s.reloaded(p.Err)
		},
	}
	syncErr := make(chan error, 1)
	go func() {
		defer close(s.done)
		syncErr <- writer.Sync(runCtx, s.mem, syncOpts)
	}()
	fail := func(err error) (*Store, error) {
		cancel()
		<-s.done
		s.mem.Close()
		return nil, err
	}
	select {
	case p := <-first:
		if p.Err != nil {
			return fail(fmt.Errorf("file store: %w", p.Err))
		}
		return s, nil
	case err := <-syncErr:
		var ve *writer.ValidationError
		if errors.As(err, &ve) {
			return fail(ve)
		}
		return fail(fmt.Errorf("file store: %w", errors.Unwrap(err)))
	case <-ctx.Done():
		return fail(ctx.Err())
	}
}

// reloaded records the outcome of a reload and tells subscribers to check
// again when the validity of the files changed.
func (s *Store) reloaded(err error) {
	now := time.Now()
	s.mu.Lock()
	wasInvalid := s.status.Err != nil
	if err == nil {
		s.status.Err, s.readEr, s.status.FailingSince = nil, nil, time.Time{}
		s.status.LoadedAt = now
	} else {
		if !wasInvalid {
			s.status.FailingSince = now
		}
		s.readEr = fmt.Errorf("%w: %w: %w", store.ErrUnavailable, ErrInvalidFiles, err)
		s.status.Err = s.readEr
	}
	changed := wasInvalid != (err != nil)
	readErr := s.readEr
	s.mu.Unlock()
	if changed {
		// Items did not change, but every read's answer did: readers must
		// check again (a cache then reports the error, or recovers).
		s.mem.Announce(store.ChangeAll)
	}
	if s.onReload != nil {
		s.onReload(readErr)
	}
}

// readErr returns the error every read fails with now, if any.
func (s *Store) readErr(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.readEr
}

// Status returns the state of the files.
func (s *Store) Status() Status {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.status
	st.Files = slices.Clone(st.Files)
	return st
}

// Get implements store.Reader.
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	if err := s.readErr(ctx); err != nil {
		return store.Item{}, false, err
	}
	return s.mem.Get(ctx, kind, key)
}

// GetAll implements store.Reader.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	if err := s.readErr(ctx); err != nil {
		return nil, err
	}
	return s.mem.GetAll(ctx, kind)
}

// Initialized implements store.Reader: true once open, unless the files
// are invalid (then an error).
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	if err := s.readErr(ctx); err != nil {
		return false, err
	}
	return s.mem.Initialized(ctx)
}

// Ping implements store.Pinger: nil while the files are valid.
func (s *Store) Ping(ctx context.Context) error { return s.readErr(ctx) }

// LastWrite implements store.WriteTimeReader: when the last change of the
// files reached the dataset.
func (s *Store) LastWrite(ctx context.Context) (time.Time, bool, error) {
	if err := s.readErr(ctx); err != nil {
		return time.Time{}, false, err
	}
	return s.mem.LastWrite(ctx)
}

// Notify implements store.Notifier: every item a reload changes is
// delivered, and [store.ChangeAll] when the files become invalid or valid
// again.
func (s *Store) Notify(ctx context.Context, fn func([]store.Change)) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return s.mem.Notify(ctx, fn)
}

// Subscribers returns the number of Notify subscriptions listening: a test
// can wait for a client's cache, which subscribes in the background, to
// listen before it edits the files.
func (s *Store) Subscribers() int { return s.mem.Subscribers() }

// Init implements store.Writer: it returns [ErrReadOnly].
func (s *Store) Init(context.Context, []store.Collection) error { return ErrReadOnly }

// Upsert implements store.Writer: it returns [ErrReadOnly].
func (s *Store) Upsert(context.Context, store.Kind, string, store.Item) (bool, error) {
	return false, ErrReadOnly
}

// Close stops watching the files and releases the dataset. It returns nil
// and may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		s.cancel()
		<-s.done
		s.mem.Close()
	})
	return nil
}

var (
	_ store.Store           = (*Store)(nil)
	_ store.Pinger          = (*Store)(nil)
	_ store.Notifier        = (*Store)(nil)
	_ store.WriteTimeReader = (*Store)(nil)
)
