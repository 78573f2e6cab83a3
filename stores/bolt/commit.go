package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
)

// Group commit, and the write transaction that records what it changes.

// writeOp is one write waiting to be committed, possibly with others in one
// transaction (group commit).
type writeOp struct {
	apply   func(w *txWriter) error
	extra   int  // bytes the write may add, to size the memory map
	members int  // membership changes
	syncOn  bool // sets the synchronized-on time
	applied bool
	err     error
	done    chan struct{}
}

// txWriter applies writes in a read-write transaction and records the keys
// they touch for the change log.
type txWriter struct {
	tx      *bbolt.Tx
	prefix  []byte
	changes []change
	seen    map[string]bool
	id      []byte // scratch for seen's keys

	// members collects the transaction's membership changes, which are
	// applied together, in hash order, by flushMembership.
	members  *[]store.MembershipChange
	arena    *chunkArena
	sorter   *changeSorter
	bsPath   [][]byte // prefix, big_segments
	runsPath [][]byte // prefix, big_segments_runs
	// compactFrom, when set, is the live file's transaction, whose
	// memberships are to be compacted into this new file.
	compactFrom *bbolt.Tx
	// db is set when tx writes a file that is not published yet, which
	// may then be committed in steps (checkpoint).
	db *bbolt.DB
}

// checkpoint commits the transaction so far, without syncing, and begins
// the next, when the file is not published yet (otherwise it does
// nothing): a large build then holds only a step's pages and values in
// memory. Bucket handles from before are stale afterwards.
func (w *txWriter) checkpoint() error {
	if w.db == nil {
		return nil
	}
	noSync := w.db.NoSync
	w.db.NoSync = true // the last commit syncs the whole file
	err := w.tx.Commit()
	w.db.NoSync = noSync
	w.tx = nil
	if err != nil {
		return err
	}
	w.arena.reset(arenaKeep)
	w.tx, err = w.db.Begin(true)
	return err
}

// newTxWriter starts recording the writes of tx. s.wmu must be held: the
// writer reuses the store's buffers.
func (s *Store) newTxWriter(tx *bbolt.Tx) *txWriter {
	s.arena.reset(arenaKeep)
	clear(s.members)
	s.members = s.members[:0]
	return &txWriter{
		tx: tx, prefix: s.prefix, arena: &s.arena, members: &s.members, sorter: &s.sorter,
		bsPath: [][]byte{s.prefix, bigSegmentsBucket}, runsPath: [][]byte{s.prefix, runsBucket},
	}
}

// arenaKeep is how much of its write buffers a store keeps between writes.
const arenaKeep = 8 << 20

// bucket returns prefix/names..., creating what is missing.
func (w *txWriter) bucket(names ...[]byte) (*bbolt.Bucket, error) {
	b, err := w.tx.CreateBucketIfNotExists(w.prefix)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if b, err = b.CreateBucketIfNotExists(n); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// path returns the bucket path prefix/names....
func (w *txWriter) path(names ...[]byte) [][]byte {
	return append([][]byte{w.prefix}, names...)
}

// record notes that key in the bucket at path changed. Once the
// transaction has more changes than a log entry holds, it stops recording:
// the generation is then logged as a full rewrite.
func (w *txWriter) record(path [][]byte, key []byte) {
	if len(w.changes) > maxLogChanges {
		return
	}
	w.id = w.id[:0]
	for _, p := range path {
		w.id = binary.AppendUvarint(w.id, uint64(len(p)))
		w.id = append(w.id, p...)
	}
	w.id = append(w.id, key...)
	if w.seen == nil {
		w.seen = map[string]bool{}
	}
	if w.seen[string(w.id)] {
		return
	}
	w.seen[string(w.id)] = true
	w.changes = append(w.changes, change{path: path, key: slices.Clone(key)})
}

func (s *Store) beginWrite(ctx context.Context) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if s.cfg.readOnly {
		return ErrReadOnly
	}
	return nil
}

func checkKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("bolt: empty %s", what)
	}
	if len(key) > bbolt.MaxKeySize {
		return fmt.Errorf("bolt: %s of %d bytes is longer than %d", what, len(key), bbolt.MaxKeySize)
	}
	return nil
}

// submit queues op and commits it, with whatever else is queued, in one
// write. The first goroutine to get the write mutex commits for all.
func (s *Store) submit(ctx context.Context, op *writeOp) error {
	if err := s.beginWrite(ctx); err != nil {
		return err
	}
	op.done = make(chan struct{})
	s.pendMu.Lock()
	s.pending = append(s.pending, op)
	s.pendMu.Unlock()

	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case <-op.done:
		return op.err
	default:
	}
	s.pendMu.Lock()
	batch := s.pending
	s.pending = nil
	s.pendMu.Unlock()

	var err error
	if s.closed.Load() {
		err = ErrClosed
	} else {
		// A batch carries other callers' writes, so one caller's
		// cancellation does not abort it; Timeout bounds the lock wait.
		extra, members, syncOn := 0, 0, false
		for _, o := range batch {
			extra += o.extra
			members += o.members
			syncOn = syncOn || o.syncOn
		}
		inc := func(w *txWriter) error {
			for _, o := range batch {
				o.applied, o.err = false, nil
				if err := o.apply(w); err != nil {
					return err
				}
			}
			return w.flushMembership()
		}
		err = s.writeNext(context.WithoutCancel(ctx), false, func(live *snapshot, slot string, canInPlace bool) error {
			return s.writeIncrement(context.WithoutCancel(ctx), live, slot, canInPlace, inc, extra, members, syncOn)
		})
	}
	for _, o := range batch {
		if err != nil {
			o.applied, o.err = false, err
		}
		close(o.done)
	}
	return op.err
}

// writeIncrement writes the live state with inc applied into slot: in place
// when the slot can be caught up, otherwise into a copy; or, when the
// writes call for a compaction of big-segment runs, into a rebuilt file.
func (s *Store) writeIncrement(ctx context.Context, live *snapshot, slot string, canInPlace bool, inc func(w *txWriter) error, extra, members int, syncOn bool) error {
	if live != nil {
		compact := false
		if err := live.view(func(ltx *bbolt.Tx) error { compact = s.wantsCompaction(ltx, members, syncOn); return nil }); err != nil {
			return err
		}
		if compact {
			s.compactions.Add(1)
			s.copyWrites.Add(1)
			return s.writeCopy(ctx, live, slot, s.rebuild(inc), extra)
		}
	}
	if canInPlace && !s.forceCopy.Load() {
		built, err := s.writeInPlace(live, slot, inc)
		if err != nil {
			return err
		}
		if built {
			s.inPlaceWrites.Add(1)
			return nil
		}
	}
	s.copyWrites.Add(1)
	return s.writeCopy(ctx, live, slot, increment(inc), extra)
}
