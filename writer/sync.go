package writer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/daemonflag/daemonflag/membership"
	"github.com/daemonflag/daemonflag/store"
)

// Defaults of [SyncOptions].
const (
	DefaultPollInterval = time.Second
	DefaultSettle       = 100 * time.Millisecond
	maxRetryDelay       = 30 * time.Second
	maxLoggedProblems   = 20
)

// SyncOptions configures [Sync]. The zero value of every field but Files
// selects its documented default.
type SyncOptions struct {
	// Files are the flag data files to keep the store in step with.
	// Required.
	Files []string

	// PollInterval is how often the files are checked for changes by their
	// size and modification time, besides the file-system notifications
	// (fsnotify) that normally report a change at once. Polling alone is
	// used where notifications do not work (some network and container
	// file systems). It is also the first delay before a failed store
	// write is tried again (doubling up to 30 s). Zero: 1 s.
	PollInterval time.Duration

	// PollOnly turns file-system notifications off, for file systems that
	// do not deliver them (NFS and other network file systems, some
	// container volumes): changes are then noticed within PollInterval.
	// False: notifications, with polling as a safety net.
	PollOnly bool

	// Settle is how long Sync waits after a notification before reading
	// the files, so that an editor's or a deployment's several writes are
	// read once, complete. Zero: 100 ms.
	Settle time.Duration

	// TouchBigSegments, when above zero, sets the store's big-segment
	// synchronized-on time at the start and then at this interval, for a
	// store whose big segments are kept current by imports (see
	// [SyncBigSegments]); the store must implement
	// [store.BigSegmentWriter]. Zero: Sync leaves it alone.
	TouchBigSegments time.Duration

	// Logger receives what Sync does and every problem with the files.
	// Nil: slog.Default().
	Logger *slog.Logger

	// AllowDelete lets a pass delete every live flag of the store, or more
	// than half of them (see [WriteOptions.AllowDelete]). False: such a
	// pass writes nothing and is logged; at the start Sync returns its
	// *[DeletionError], later the store keeps its dataset until the files
	// change.
	AllowDelete bool

	// AllowMalformed writes items that validation calls malformed but
	// that decode, each logged as a warning (see
	// [WriteOptions.AllowMalformed]). False: they make the files invalid.
	AllowMalformed bool

	// KeepFirstDuplicates keeps the first definition of a key that more
	// than one file defines (files in the order given) and warns about the
	// others (see [MergeKeepFirst]). False: such a key makes the files
	// invalid.
	KeepFirstDuplicates bool

	// OnPass, when set, is called after every pass (a reading of the files
	// that found them changed, and any writing that followed), on Sync's
	// goroutine.
	OnPass func(SyncPass)
}

// SyncPass describes one pass of [Sync].
type SyncPass struct {
	// Initialized is true when the pass replaced the whole dataset with
	// [store.Writer.Init], which Sync does when the store is not
	// initialized (the first run, or a wiped store).
	Initialized bool
	// Healed is true when the pass wrote the last complete dataset again
	// because the store had lost it (see [Sync]).
	Healed bool
	// Written counts items upserted because they were new or changed.
	Written int
	// Deleted counts tombstones written for items the files no longer
	// hold.
	Deleted int
	// Warnings are the validation warnings and the writes the store
	// refused because the file's version was not above the stored one.
	Warnings []Problem
	// Err is set when the pass wrote nothing, or not everything: the files
	// were invalid (a *ValidationError; the store keeps the last good
	// dataset), the pass would have deleted most flags (a *DeletionError;
	// the store keeps its dataset) or the store failed (the pass is tried
	// again).
	Err error
}

// Sync keeps the store's dataset equal to the flag data files until ctx is
// done, and then returns nil.
//
// It first loads and validates the files; when they are invalid it returns
// the *ValidationError at once. Otherwise it writes them: with Init when
// the store is not initialized, else by upserting only the items that
// differ from the store's and writing tombstones for items the files no
// longer hold (versions as in [WriteDataset]); a store that implements
// [store.Batcher] gets a pass's changes as one UpsertBatch, in dependency
// order (segments and prerequisites before the items that use them,
// tombstones of dependents first), which bbolt and Redis apply atomically
// for readers and DynamoDB in that order; other stores get one upsert
// after another in the same order. Then, whenever the files
// change, it does the same again. A change that makes the files invalid is
// logged and otherwise ignored: the store keeps the last good dataset until
// the files are fixed. A store error is logged and the pass is tried again,
// with backoff. Sync never writes a dataset that fails validation.
//
// Sync also heals a store that lost its dataset: at every poll (and at
// every change notification, when the store implements [store.Notifier])
// it checks the store's "$inited" marker, and when the marker is gone (a
// Redis restarted without persistence, a flushed database) it writes the
// last complete dataset again at once with Init, logs one line with the
// number of such heals, and reports the pass with SyncPass.Healed.
func Sync(ctx context.Context, s store.Store, opts SyncOptions) error {
	if len(opts.Files) == 0 {
		return errors.New("sync: no flag data files")
	}
	if opts.PollInterval < 0 || opts.Settle < 0 || opts.TouchBigSegments < 0 {
		return errors.New("sync: negative interval")
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var bw store.BigSegmentWriter
	if opts.TouchBigSegments > 0 {
		var ok bool
		if bw, ok = s.(store.BigSegmentWriter); !ok {
			return fmt.Errorf("sync: the store (%T) has no big segments to touch", s)
		}
	}
	sy := &syncer{s: s, o: opts, log: opts.Logger}
	for _, f := range opts.Files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fmt.Errorf("sync: %s: %w", f, err)
		}
		if slices.Contains(sy.abs, abs) {
			return fmt.Errorf("sync: %s is given twice", f)
		}
		sy.files = append(sy.files, f)
		sy.abs = append(sy.abs, abs)
	}

	// Watch before the first reading, so that a change made just after it
	// is notified rather than left to the next poll. The watch ends with
	// Sync, also when the first reading fails.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, errs := sy.watch(ctx)

	// The first pass: invalid files are the caller's error; a store error
	// is retried like any other.
	sy.mark()
	d, hash, err := sy.load()
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	sy.hash = hash
	if pass := sy.run(ctx, d); errors.Is(pass.Err, ErrTooManyDeletions) {
		return fmt.Errorf("sync: %w", pass.Err)
	}

	var wg sync.WaitGroup
	defer wg.Wait()
	if bw != nil {
		wg.Go(func() {
			_ = membership.KeepSynchronized(ctx, bw, opts.TouchBigSegments, func(t time.Time, err error) {
				if err != nil {
					sy.log.Warn("setting the big-segment synchronized-on time failed", "err", err)
				} else {
					sy.log.Debug("big segments touched", "synchronizedOn", t)
				}
			})
		})
	}
	sy.loop(ctx, events, errs, sy.notifications(ctx))
	return nil
}

// notifications subscribes to the store's change notifications, when it
// has them, so that a lost dataset is noticed before the next poll. A nil
// channel never delivers.
func (sy *syncer) notifications(ctx context.Context) <-chan struct{} {
	n, ok := sy.s.(store.Notifier)
	if !ok {
		return nil
	}
	ch := make(chan struct{}, 1)
	err := n.Notify(ctx, func([]store.Change) {
		select {
		case ch <- struct{}{}:
		default:
		}
	})
	if err != nil {
		sy.log.Debug("store notifications unavailable; checking the store at every poll", "err", err)
		return nil
	}
	return ch
}

// healIfLost writes the last complete dataset again when the store no
// longer holds one (its "$inited" marker is gone: a Redis restarted without
// persistence, a flushed database), and reports whether it ran a pass.
func (sy *syncer) healIfLost(ctx context.Context) bool {
	if sy.written == nil || sy.pending != nil {
		return false // nothing written yet, or a retry is due anyway
	}
	inited, err := sy.s.Initialized(ctx)
	if err != nil || inited {
		// An outage is the retry's business; an Init in progress is
		// another writer's, which will finish it (a writer killed during
		// one is completed by the next pass, or the next run of Sync).
		return false
	}
	sy.heals++
	sy.log.Warn("the store lost its dataset; writing the last complete dataset again", "heals", sy.heals)
	sy.healing = true
	defer func() { sy.healing = false }()
	// With the versions it had, so that the store holds what it held.
	sy.run(ctx, sy.written.withVersions(sy.versions))
	return true
}

// syncer is the state of one Sync.
type syncer struct {
	s     store.Store
	o     SyncOptions
	log   *slog.Logger
	files []string // as given, for messages
	abs   []string

	fingerprint string   // sizes and modification times at the last read
	racy        bool     // the last read may have missed a change: poll by content
	hash        [32]byte // content of the files at the last read
	pending     *Dataset // a valid dataset not (completely) written yet
	retryDelay  time.Duration
	written     *Dataset     // the last dataset written completely
	versions    itemVersions // and the versions it was written with
	healing     bool         // the pass being run rewrites a lost dataset
	heals       int          // how often the store lost its dataset
}

func (sy *syncer) loop(ctx context.Context, events <-chan fsnotify.Event, errs <-chan error, notes <-chan struct{}) {
	poll := time.NewTicker(sy.o.PollInterval)
	defer poll.Stop()
	settle := time.NewTimer(time.Hour)
	settle.Stop()
	settling := false // settle is running
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	if sy.pending != nil {
		retry.Reset(sy.retryDelay)
	}
	for {
		check, ran, heal := false, false, false
		select {
		case <-ctx.Done():
			return
		case <-notes:
			heal = true
		case <-events:
			settle.Reset(sy.o.Settle)
			settling = true
		case err := <-errs:
			sy.log.Warn("file notifications failed; relying on polling", "err", err)
		case <-settle.C:
			settling = false
			check = true
		case <-poll.C:
			heal = true
			switch fp, _ := sy.stat(); {
			case fp != sy.fingerprint:
				// A file changing in place (truncated, then written) can be
				// caught in between: let it settle as a notification does.
				// A settle already running is not pushed back: polls keep
				// seeing the change until it is read.
				if !settling {
					settle.Reset(sy.o.Settle)
					settling = true
				}
			case sy.racy:
				check = true
			}
		case <-retry.C:
			if sy.pending != nil {
				sy.run(ctx, sy.pending)
				ran = true
			}
		}
		if check {
			ran = sy.check(ctx)
		}
		if heal && !ran {
			ran = sy.healIfLost(ctx)
		}
		// A pass that failed on the store is tried again after the delay
		// (a newer change, when one comes first, replaces it).
		if ran {
			retry.Stop()
			if sy.pending != nil {
				retry.Reset(sy.retryDelay)
			}
		}
	}
}

// watch subscribes to changes in the directories of the files: editors and
// deployments often replace a file (write a new one, rename it over the
// old, or switch a symbolic link) rather than write it in place, so
// watching the files alone would miss changes. A nil channel never
// delivers: when notifications are unavailable, polling does the work.
func (sy *syncer) watch(ctx context.Context) (<-chan fsnotify.Event, <-chan error) {
	if sy.o.PollOnly {
		return nil, nil
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		sy.log.Warn("file notifications unavailable; polling for changes", "interval", sy.o.PollInterval, "err", err)
		return nil, nil
	}
	dirs := map[string]bool{}
	for _, f := range sy.abs {
		dir := filepath.Dir(f)
		if dirs[dir] {
			continue
		}
		dirs[dir] = true
		if err := w.Add(dir); err != nil {
			sy.log.Warn("cannot watch directory; polling for changes", "dir", dir, "interval", sy.o.PollInterval, "err", err)
		}
	}
	go func() {
		<-ctx.Done()
		_ = w.Close()
	}()
	return w.Events, w.Errors
}

// stat returns the files' sizes and modification times, as one string, and
// the newest modification time.
func (sy *syncer) stat() (string, time.Time) {
	var b []byte
	var newest time.Time
	for _, f := range sy.abs {
		fi, err := os.Stat(f)
		if err != nil {
			b = append(b, "missing;"...)
			continue
		}
		b = strconv.AppendInt(b, fi.Size(), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, fi.ModTime().UnixNano(), 10)
		b = append(b, ';')
		if fi.ModTime().After(newest) {
			newest = fi.ModTime()
		}
	}
	return string(b), newest
}

// racyWindow is how close to the time the files were read a modification
// time must be for the read to be unsure: file systems keep modification
// times with a coarse clock, so a file changed again within the same tick,
// to the same size, looks unchanged to stat. While a read is unsure, every
// poll reads the files again (and compares their content), as git does for
// its "racily clean" index entries.
const racyWindow = 2 * time.Second

// mark records the files' state just before they are read.
func (sy *syncer) mark() {
	now := time.Now()
	fp, newest := sy.stat()
	sy.fingerprint = fp
	sy.racy = !newest.Before(now.Add(-racyWindow))
}

// load reads, merges and validates the files, returning the dataset and a
// hash of their content.
func (sy *syncer) load() (*Dataset, [32]byte, error) {
	h := sha256.New()
	var ps problems
	var sets []*Dataset
	for i, f := range sy.files {
		data, err := readFile(sy.abs[i])
		if err != nil {
			ps.errorf(Source{File: f}, "", "", "%v", err)
			continue
		}
		fmt.Fprintf(h, "%d:%s:%d:", len(sy.abs[i]), sy.abs[i], len(data))
		h.Write(data)
		d, err := Parse(f, data)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			ps.errs = append(ps.errs, ve.Problems...)
		case err != nil:
			ps.errorf(Source{File: f}, "", "", "%v", err)
		default:
			sets = append(sets, d)
		}
	}
	var sum [32]byte
	h.Sum(sum[:0])
	if err := ps.err(); err != nil {
		return nil, sum, err
	}
	var d *Dataset
	if sy.o.KeepFirstDuplicates {
		d = MergeKeepFirst(sets...)
	} else {
		var err error
		if d, err = Merge(sets...); err != nil {
			return nil, sum, err
		}
	}
	if _, err := validateOpts(d, nil, sy.o.AllowMalformed); err != nil {
		return nil, sum, err
	}
	return d, sum, nil
}

// check reads the files and, when their content changed, runs a pass,
// reporting whether it did.
func (sy *syncer) check(ctx context.Context) bool {
	sy.mark()
	d, hash, err := sy.load()
	if hash == sy.hash {
		return false
	}
	sy.hash = hash
	if err != nil {
		// The last good dataset stays; a write of it still pending is
		// still tried.
		sy.logInvalid(err)
		if sy.o.OnPass != nil {
			sy.o.OnPass(SyncPass{Err: err})
		}
		return false
	}
	sy.log.Info("flag data files changed", "files", sy.files)
	sy.retryDelay = 0
	sy.run(ctx, d)
	return true
}

func (sy *syncer) logInvalid(err error) {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		sy.log.Error("cannot load flag data files; the store keeps the last good dataset", "err", err)
		return
	}
	sy.log.Error("flag data files are invalid; the store keeps the last good dataset", "problems", len(ve.Problems))
	for i, p := range ve.Problems {
		if i == maxLoggedProblems {
			sy.log.Error("more problems not shown", "count", len(ve.Problems)-i)
			break
		}
		sy.log.Error("invalid flag data", "problem", p.String())
	}
}

// run writes a valid dataset; on a store error it keeps it pending, to be
// tried again after the retry delay.
func (sy *syncer) run(ctx context.Context, d *Dataset) SyncPass {
	pass, plan := syncDataset(ctx, sy.s, d, sy.o)
	pass.Healed = sy.healing
	for _, w := range pass.Warnings {
		sy.log.Warn("flag data", "warning", w.String())
	}
	var de *DeletionError
	switch {
	case pass.Err != nil && ctx.Err() != nil:
		sy.pending = nil
	case errors.As(pass.Err, &de):
		// Not retried: the same files would be refused again.
		sy.pending = nil
		sy.retryDelay = 0
		sy.log.Error("refusing to delete most flags; the store keeps its dataset (allow deletions to confirm)",
			"deleting", de.Deleting, "live", de.Live)
	case pass.Err != nil:
		sy.pending = d
		sy.retryDelay = min(max(2*sy.retryDelay, sy.o.PollInterval), maxRetryDelay)
		sy.log.Error("writing flag data failed; will try again", "in", sy.retryDelay, "err", pass.Err)
	default:
		sy.pending = nil
		sy.retryDelay = 0
		sy.written, sy.versions = d, planVersions(plan)
		switch {
		case pass.Initialized:
			sy.log.Info("store initialized with the whole dataset", "written", pass.Written, "deleted", pass.Deleted)
		case pass.Written > 0 || pass.Deleted > 0:
			sy.log.Info("store updated", "written", pass.Written, "deleted", pass.Deleted)
		}
	}
	if sy.o.OnPass != nil {
		sy.o.OnPass(pass)
	}
	return pass
}

// syncDataset makes the store's dataset equal to d: Init when the store is
// not initialized, otherwise upserts of what differs.
func syncDataset(ctx context.Context, s store.Store, d *Dataset, o SyncOptions) (SyncPass, []planned) {
	var pass SyncPass
	v, err := validateOpts(d, nil, o.AllowMalformed)
	if v != nil {
		pass.Warnings = v.warnings
	}
	if err != nil {
		pass.Err = err
		return pass, nil
	}
	inited, err := s.Initialized(ctx)
	if errors.Is(err, store.ErrInitInProgress) {
		// An Init that did not finish (a writer killed during it) left a
		// mix: a whole Init completes it.
		inited, err = false, nil
	}
	if err != nil {
		pass.Err = fmt.Errorf("read store: %w", err)
		return pass, nil
	}
	if !inited {
		sum, plan, err := write(ctx, s, d, WriteOptions{AllowDelete: o.AllowDelete, AllowMalformed: o.AllowMalformed})
		pass.Initialized, pass.Written, pass.Deleted, pass.Err = err == nil, sum.Changed, sum.Deleted, err
		return pass, plan
	}
	plan, err := v.plan(ctx, s)
	if err != nil {
		pass.Err = err
		return pass, nil
	}
	if !o.AllowDelete {
		if err := checkDeletions(plan); err != nil {
			pass.Err = err
			return pass, nil
		}
	}
	var todo []planned
	for _, p := range plan {
		if p.action == actionWrite || p.action == actionTombstone {
			todo = append(todo, p)
		}
	}
	applied, err := applyPass(ctx, s, todo)
	for i, p := range todo[:len(applied)] {
		switch {
		case !applied[i]:
			src := Source{}
			if it := d.items(p.kind)[p.key]; it != nil {
				src = it.Source
			}
			pass.Warnings = append(pass.Warnings, Problem{Source: src, Kind: p.kind.Noun(), Key: p.key, Warning: true,
				Message: fmt.Sprintf("changed, but its version %d is not above the stored version, so the store kept its copy; "+
					"raise the version, or remove it to let the writer choose", p.item.Version)})
		case p.action == actionTombstone:
			pass.Deleted++
		default:
			pass.Written++
		}
	}
	pass.Err = err
	return pass, plan
}

// applyPass writes the changes of one pass, in the plan's order
// (dependencies before dependents, tombstones of dependents first): as one
// [store.Batcher.UpsertBatch] when the store implements it (atomic for
// readers on bbolt and Redis, in order on DynamoDB), else one upsert after
// another. It returns whether each change was applied, for the changes
// tried before an error.
func applyPass(ctx context.Context, s store.Store, todo []planned) ([]bool, error) {
	if len(todo) == 0 {
		return nil, nil
	}
	if b, ok := s.(store.Batcher); ok && len(todo) > 1 {
		updates := make([]store.ItemUpdate, len(todo))
		for i, p := range todo {
			updates[i] = store.ItemUpdate{Kind: p.kind, Key: p.key, Item: p.item}
		}
		applied, err := b.UpsertBatch(ctx, updates)
		if err != nil {
			return nil, fmt.Errorf("upsert %d changes in one batch: %w", len(updates), err)
		}
		if len(applied) != len(updates) {
			return nil, fmt.Errorf("upsert %d changes in one batch: the store reported %d results", len(updates), len(applied))
		}
		return applied, nil
	}
	applied := make([]bool, 0, len(todo))
	for _, p := range todo {
		ok, err := s.Upsert(ctx, p.kind, p.key, p.item)
		if err != nil {
			return applied, fmt.Errorf("upsert %s %q: %w", p.kind.Noun(), p.key, err)
		}
		applied = append(applied, ok)
	}
	return applied, nil
}
