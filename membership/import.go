package membership

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/daemonflag/daemonflag/store"
)

// Defaults of [Options] and [KeepSynchronized].
const (
	DefaultImportBatchSize   = 5000
	DefaultImportConcurrency = 4
	DefaultSyncInterval      = 30 * time.Second
)

const keyFileBOM = "\uFEFF"

// MaxKeyLength is the longest context key, in bytes, a key file may hold.
const MaxKeyLength = 1 << 20

// ErrReplaceUnsupported reports that an import with Replace was asked of a
// store that cannot list its memberships (it does not implement
// [store.MembershipScanner]), so the members to remove cannot be found.
var ErrReplaceUnsupported = errors.New("store cannot list big-segment memberships, which a replacing import needs")

// Options describes one import of big-segment membership into a
// store. The zero value of each optional field selects its documented
// default.
type Options struct {
	// Segment is the key of the big segment (a segment with
	// "unbounded": true). Required.
	Segment string

	// Generation is the segment's generation that the memberships are for;
	// the evaluator looks memberships up under "<Segment>.g<Generation>".
	// Must not be negative.
	Generation int

	// Include, Exclude and Remove each hold context keys, one per line
	// (or one per CSV record, see CSVColumn). Blank lines and whitespace
	// around keys are ignored; a leading UTF-8 byte order mark is
	// skipped; keys must be valid UTF-8. Any of them may be nil.
	//
	// Include's keys are added to the generation's included set, Exclude's
	// to its excluded set. Remove's keys are taken out of both sets, after
	// the additions.
	Include, Exclude, Remove io.Reader

	// CSVColumn, when set, makes every input a CSV file with a header row,
	// and the keys are read from the column with this name.
	CSVColumn string

	// Replace makes the generation's membership exactly the inputs': every
	// stored member of the included (excluded) set that Include (Exclude)
	// does not list is removed, and a nil Include or Exclude empties its
	// set. It needs a store that implements [store.MembershipScanner] and
	// reads every stored membership once; it cannot be combined with
	// Remove. Keys already stored are not written again.
	Replace bool

	// BatchSize is how many membership changes go to the store in one
	// ApplyMembership call. Zero means 5000: fewer, larger batches help
	// stores whose writes have a fixed cost each (a bbolt file update).
	BatchSize int

	// Concurrency is how many batches may be in flight at once. Zero means
	// 4. Batches of one phase (additions, then removals) commute, so the
	// result does not depend on their order.
	Concurrency int

	// Progress, when set, is called with the running totals after every
	// batch the store has applied (and, with Replace, after every BatchSize
	// keys found already stored). Calls never overlap.
	Progress func(Progress)
}

// Progress is the running total of an import.
type Progress struct {
	// Added counts keys written to the included or excluded set that were
	// not members of it.
	Added int
	// Removed counts keys taken out: one per key of Remove that was a
	// member, and with Replace one per unlisted member of each set.
	Removed int
	// Unchanged counts listed keys that needed no write: already members
	// of the set (Include, Exclude), or members of neither (Remove).
	//
	// These counts are exact for a store that implements
	// [store.MembershipScanner] (every daemonflag backend), which Import
	// then reads once before writing (as a replacing import does). That read
	// costs throughput on a fresh generation (measured with
	// BenchmarkImportBigSegment, 20,000 keys into a store holding a few
	// earlier generations: Redis about 1,000k to 250k keys/s, bbolt 1,300k to
	// 500-850k; DynamoDB, bound by its writes, unchanged) and saves every
	// write of a re-import. For a store that cannot list its memberships
	// every listed key is written and counts as Added (or Removed).
	Unchanged int
	// Elapsed is the time since the import started.
	Elapsed time.Duration
}

// Summary is the outcome of an import.
type Summary struct {
	Added, Removed, Unchanged int
	// Duration is the import's wall-clock time.
	Duration time.Duration
	// KeysPerSecond is (Added + Removed + Unchanged) / Duration.
	KeysPerSecond float64
	// SynchronizedOn is the synchronized-on time the import recorded; zero
	// when it failed.
	SynchronizedOn time.Time
}

// Import writes big-segment memberships from key files into w,
// hashing each context key with [store.ContextHash], and on success
// records the current time as the store's synchronized-on time. When w
// implements [store.MembershipScanner], Import first reads the generation's
// current members, writes only what changes, and counts exactly (see
// [Progress]).
//
// Every change it makes is idempotent, so an import that was interrupted
// (killed, a store error) reaches the intended result when it is simply run
// again. On error the summary holds the totals up to the failure; the
// synchronized-on time is not touched.
func Import(ctx context.Context, w store.BigSegmentWriter, opts Options) (Summary, error) {
	start := time.Now()
	o, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	scanner, canScan := w.(store.MembershipScanner)
	if o.Replace && !canScan {
		return Summary{}, fmt.Errorf("import big segment %q: %w (%T)", o.Segment, ErrReplaceUnsupported, w)
	}
	ap := newMembershipApplier(ctx, w, o, start)
	ref := store.SegmentRef(o.Segment, o.Generation)
	switch {
	case o.Replace:
		err = importReplace(ap, scanner, ref, o)
	case canScan:
		err = importAddRemoveKnown(ap, scanner, ref, o)
	default:
		err = importAddRemove(ap, ref, o)
	}
	if werr := ap.barrier(); werr != nil {
		// A failed batch stops the reading too; its error is the cause.
		err = werr
	}
	sum := ap.summary()
	if err != nil {
		return sum, fmt.Errorf("import big segment %q generation %d: %w", o.Segment, o.Generation, err)
	}
	now := time.Now()
	if err := w.SetSynchronizedOn(ctx, now); err != nil {
		return sum, fmt.Errorf("import big segment %q: memberships written, but setting the synchronized-on time failed: %w", o.Segment, err)
	}
	sum.SynchronizedOn = now
	return sum, nil
}

func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Segment == "":
		return o, errors.New("import big segment: no segment key")
	case o.Generation < 0:
		return o, fmt.Errorf("import big segment %q: negative generation %d", o.Segment, o.Generation)
	case o.BatchSize < 0:
		return o, fmt.Errorf("import big segment %q: negative batch size %d", o.Segment, o.BatchSize)
	case o.Concurrency < 0:
		return o, fmt.Errorf("import big segment %q: negative concurrency %d", o.Segment, o.Concurrency)
	case o.Replace && o.Remove != nil:
		return o, fmt.Errorf("import big segment %q: Remove cannot be combined with Replace (a replacing import already removes every unlisted member)", o.Segment)
	case !o.Replace && o.Include == nil && o.Exclude == nil && o.Remove == nil:
		return o, fmt.Errorf("import big segment %q: nothing to import (no include, exclude or remove input)", o.Segment)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultImportBatchSize
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultImportConcurrency
	}
	return o, nil
}

// importAddRemove streams the inputs into changes: additions first, then, after
// every addition has been applied, removals.
func importAddRemove(ap *membershipApplier, ref string, o Options) error {
	for _, in := range []struct {
		name     string
		r        io.Reader
		excluded bool
	}{{"include", o.Include, false}, {"exclude", o.Exclude, true}} {
		if in.r == nil {
			continue
		}
		err := readKeyInput(ap.ctx, in.name, in.r, o.CSVColumn, func(key string) error {
			return ap.add(importCounts{added: 1},
				store.MembershipChange{ContextHash: store.ContextHash(key), SegmentRef: ref, Excluded: in.excluded})
		})
		if err != nil {
			return err
		}
	}
	if o.Remove == nil {
		return nil
	}
	if err := ap.barrier(); err != nil {
		return err
	}
	return readKeyInput(ap.ctx, "remove", o.Remove, o.CSVColumn, func(key string) error {
		h := store.ContextHash(key)
		return ap.add(importCounts{removed: 1},
			store.MembershipChange{ContextHash: h, SegmentRef: ref, Remove: true},
			store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true, Remove: true})
	})
}

// Flags of one context hash in a replacing import.
const (
	storedIncluded uint8 = 1 << iota
	storedExcluded
	listedIncluded
	listedExcluded
)

// importReplace makes ref's membership exactly the inputs': it reads the
// current members, adds the listed keys that are not members yet, and then
// removes the members that are not listed.
func importReplace(ap *membershipApplier, scanner store.MembershipScanner, ref string, o Options) error {
	hashes, foreign, err := scanRef(ap, scanner, ref)
	if err != nil {
		return err
	}
	for _, in := range []struct {
		name           string
		r              io.Reader
		stored, listed uint8
		excluded       bool
	}{
		{"include", o.Include, storedIncluded, listedIncluded, false},
		{"exclude", o.Exclude, storedExcluded, listedExcluded, true},
	} {
		if in.r == nil {
			continue
		}
		err := readKeyInput(ap.ctx, in.name, in.r, o.CSVColumn, func(key string) error {
			h := store.ContextHash(key)
			sum, _ := decodeContextHash(h)
			f := hashes[sum]
			hashes[sum] = f | in.listed
			switch {
			case f&in.listed != 0: // listed twice
				return nil
			case f&in.stored != 0:
				ap.count(importCounts{unchanged: 1})
				return nil
			}
			return ap.add(importCounts{added: 1},
				store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: in.excluded})
		})
		if err != nil {
			return err
		}
	}
	if err := ap.barrier(); err != nil {
		return err
	}
	for sum, f := range hashes {
		var h string
		if f&storedIncluded != 0 && f&listedIncluded == 0 {
			h = base64.StdEncoding.EncodeToString(sum[:])
			if err := ap.add(importCounts{removed: 1}, store.MembershipChange{ContextHash: h, SegmentRef: ref, Remove: true}); err != nil {
				return err
			}
		}
		if f&storedExcluded != 0 && f&listedExcluded == 0 {
			if h == "" {
				h = base64.StdEncoding.EncodeToString(sum[:])
			}
			if err := ap.add(importCounts{removed: 1}, store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true, Remove: true}); err != nil {
				return err
			}
		}
	}
	for _, c := range foreign {
		if err := ap.add(importCounts{removed: 1}, c); err != nil {
			return err
		}
	}
	return nil
}

// scanRef reads the stored members of ref: the flags of each context hash
// (by its raw SHA-256 bytes), and removals for the stored hashes that are
// not ours (a store written by someone hashing differently), which no key
// file can list.
func scanRef(ap *membershipApplier, scanner store.MembershipScanner, ref string) (map[[32]byte]uint8, []store.MembershipChange, error) {
	// Hashes are kept as their 32 raw bytes: a third of the memory of the
	// base64 strings, for the millions of members a big segment may have.
	hashes := make(map[[32]byte]uint8)
	var foreign []store.MembershipChange // stored hashes that are not ours: never listed
	err := scanner.ScanMembership(ap.ctx, func(h string, m store.Membership) error {
		var f uint8
		if slices.Contains(m.Included, ref) {
			f |= storedIncluded
		}
		if slices.Contains(m.Excluded, ref) {
			f |= storedExcluded
		}
		if f == 0 {
			return nil
		}
		sum, ok := decodeContextHash(h)
		if !ok {
			if f&storedIncluded != 0 {
				foreign = append(foreign, store.MembershipChange{ContextHash: h, SegmentRef: ref, Remove: true})
			}
			if f&storedExcluded != 0 {
				foreign = append(foreign, store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true, Remove: true})
			}
			return nil
		}
		hashes[sum] |= f
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read current memberships: %w", err)
	}
	return hashes, foreign, nil
}

// importAddRemoveKnown is importAddRemove for a store that lists its
// memberships: it reads ref's members first, so that keys already members
// are not written again and count as unchanged, and a removal counts only
// when it removes something.
func importAddRemoveKnown(ap *membershipApplier, scanner store.MembershipScanner, ref string, o Options) error {
	hashes, _, err := scanRef(ap, scanner, ref)
	if err != nil {
		return err
	}
	for _, in := range []struct {
		name     string
		r        io.Reader
		stored   uint8
		excluded bool
	}{{"include", o.Include, storedIncluded, false}, {"exclude", o.Exclude, storedExcluded, true}} {
		if in.r == nil {
			continue
		}
		err := readKeyInput(ap.ctx, in.name, in.r, o.CSVColumn, func(key string) error {
			h := store.ContextHash(key)
			sum, _ := decodeContextHash(h)
			if hashes[sum]&in.stored != 0 {
				ap.count(importCounts{unchanged: 1})
				return nil
			}
			hashes[sum] |= in.stored
			return ap.add(importCounts{added: 1},
				store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: in.excluded})
		})
		if err != nil {
			return err
		}
	}
	if o.Remove == nil {
		return nil
	}
	if err := ap.barrier(); err != nil {
		return err
	}
	return readKeyInput(ap.ctx, "remove", o.Remove, o.CSVColumn, func(key string) error {
		h := store.ContextHash(key)
		sum, _ := decodeContextHash(h)
		f := hashes[sum]
		hashes[sum] = f &^ (storedIncluded | storedExcluded)
		var changes []store.MembershipChange
		if f&storedIncluded != 0 {
			changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: ref, Remove: true})
		}
		if f&storedExcluded != 0 {
			changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: ref, Excluded: true, Remove: true})
		}
		if len(changes) == 0 {
			ap.count(importCounts{unchanged: 1})
			return nil
		}
		return ap.add(importCounts{removed: 1}, changes...)
	})
}

// decodeContextHash returns the SHA-256 sum that the context hash h encodes; ok is
// false when h is not one (a store written by someone hashing differently).
func decodeContextHash(h string) (sum [32]byte, ok bool) {
	var buf [33]byte // base64 decoding wants room for a partial last quantum
	if len(h) != 44 {
		return sum, false
	}
	n, err := base64.StdEncoding.Decode(buf[:], []byte(h))
	if err != nil || n != 32 {
		return sum, false
	}
	copy(sum[:], buf[:32])
	return sum, true
}

// importCounts is what a batch of changes adds to the totals when applied.
type importCounts struct{ added, removed, unchanged int }

func (c *importCounts) plus(d importCounts) {
	c.added += d.added
	c.removed += d.removed
	c.unchanged += d.unchanged
}

// membershipApplier collects changes into batches and applies up to Concurrency of
// them at once. After its first failure it sends no more batches and reports
// that error; batches already sent are left to finish (they are idempotent,
// and aborting requests midway helps no one).
type membershipApplier struct {
	ctx      context.Context
	w        store.BigSegmentWriter
	size     int
	sem      chan struct{}
	progress func(Progress)
	start    time.Time

	batch   []store.MembershipChange
	pending importCounts // counts of batch, credited once it is applied
	wg      sync.WaitGroup

	mu     sync.Mutex // guards below; held while Progress runs
	totals importCounts
	err    error
}

func newMembershipApplier(ctx context.Context, w store.BigSegmentWriter, o Options, start time.Time) *membershipApplier {
	return &membershipApplier{
		ctx: ctx, w: w, size: o.BatchSize,
		sem: make(chan struct{}, o.Concurrency), progress: o.Progress, start: start,
	}
}

// add queues changes, which together count as c, sending the batch off when
// it is full.
func (a *membershipApplier) add(c importCounts, changes ...store.MembershipChange) error {
	a.batch = append(a.batch, changes...)
	a.pending.plus(c)
	if len(a.batch) >= a.size {
		return a.flush()
	}
	return nil
}

// count credits c at once: work that needs no store write.
func (a *membershipApplier) count(c importCounts) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.totals.plus(c)
	if a.totals.unchanged%a.size == 0 {
		a.report()
	}
}

// report passes the totals to the Progress callback; a.mu must be held.
func (a *membershipApplier) report() {
	if a.progress != nil {
		p := a.totals
		a.progress(Progress{Added: p.added, Removed: p.removed, Unchanged: p.unchanged, Elapsed: time.Since(a.start)})
	}
}

func (a *membershipApplier) flush() error {
	if err := a.failed(); err != nil {
		return err
	}
	if err := a.ctx.Err(); err != nil {
		return a.fail(err)
	}
	if len(a.batch) == 0 {
		return nil
	}
	batch, c := a.batch, a.pending
	a.batch, a.pending = make([]store.MembershipChange, 0, a.size), importCounts{}
	select {
	case a.sem <- struct{}{}:
	case <-a.ctx.Done():
		return a.fail(a.ctx.Err())
	}
	a.wg.Go(func() {
		defer func() { <-a.sem }()
		if err := a.w.ApplyMembership(a.ctx, batch); err != nil {
			a.fail(fmt.Errorf("apply %d membership changes: %w", len(batch), err))
			return
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.err != nil {
			return
		}
		a.totals.plus(c)
		a.report()
	})
	return nil
}

// barrier applies everything queued and waits until it is applied, so that
// later changes cannot overtake earlier ones.
func (a *membershipApplier) barrier() error {
	err := a.flush()
	a.wg.Wait()
	if err != nil {
		return err
	}
	return a.failed()
}

func (a *membershipApplier) fail(err error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err == nil {
		a.err = err
	}
	return a.err
}

func (a *membershipApplier) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

func (a *membershipApplier) summary() Summary {
	a.wg.Wait()
	a.mu.Lock()
	defer a.mu.Unlock()
	d := time.Since(a.start)
	t := a.totals
	s := Summary{Added: t.added, Removed: t.removed, Unchanged: t.unchanged, Duration: d}
	if secs := d.Seconds(); secs > 0 {
		s.KeysPerSecond = float64(t.added+t.removed+t.unchanged) / secs
	}
	return s
}

// Touch records t as the time the store's big-segment data was
// last known to be up to date, so that clients do not report it stale; a
// zero t means now. A writer that keeps the store current by other means
// calls it after each update, or runs [KeepSynchronized].
func Touch(ctx context.Context, w store.BigSegmentWriter, t time.Time) error {
	if t.IsZero() {
		t = time.Now()
	}
	if err := w.SetSynchronizedOn(ctx, t); err != nil {
		return fmt.Errorf("set big segments synchronized-on time: %w", err)
	}
	return nil
}

// KeepSynchronized touches the store's synchronized-on time (see
// [Touch]) at once and then every interval (zero means 30 s;
// keep it well under the clients' stale threshold, 120 s by default) until
// ctx is done, when it returns nil. A failed touch does not stop it: report,
// when set, is called after every touch with the time written and the error,
// if any.
func KeepSynchronized(ctx context.Context, w store.BigSegmentWriter, interval time.Duration, report func(t time.Time, err error)) error {
	if interval < 0 {
		return fmt.Errorf("sync big segments: negative interval %v", interval)
	}
	if interval == 0 {
		interval = DefaultSyncInterval
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		now := time.Now()
		err := Touch(ctx, w, now)
		if ctx.Err() != nil {
			return nil
		}
		if report != nil {
			report(now, err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// ErrCSVWithoutColumn reports a key file read as plain text (no CSV column
// given) that is a CSV file of several columns: its header and whole lines
// would otherwise be stored as context keys.
var ErrCSVWithoutColumn = errors.New("the input looks like a CSV file with several columns")

// csvColumns returns the header of a plain-text input that is evidently a
// CSV file of several columns (its first two lines parse as CSV records
// with the same number of fields, two or more), else nil. It only peeks at
// br.
func csvColumns(br *bufio.Reader) []string {
	head, _ := br.Peek(64 * 1024)
	lines := bytes.SplitN(head, []byte("\n"), 3)
	if len(lines) < 3 && !(len(lines) == 2 && len(bytes.TrimSpace(lines[1])) > 0) {
		return nil // fewer than two complete lines
	}
	var recs [][]string
	for _, l := range lines[:2] {
		r := csv.NewReader(bytes.NewReader(l))
		rec, err := r.Read()
		if err != nil || len(rec) < 2 {
			return nil
		}
		recs = append(recs, rec)
	}
	if len(recs[0]) != len(recs[1]) {
		return nil
	}
	names := make([]string, len(recs[0]))
	for i, h := range recs[0] {
		names[i] = strings.TrimSpace(h)
	}
	return names
}

// KeyReader reads context keys from a key file: plain text with one key per
// line, or CSV with a header row naming the column of keys. Blank lines,
// empty cells and whitespace around keys are skipped; a leading UTF-8 byte
// order mark is ignored. Keys must be valid UTF-8 and at most
// [MaxKeyLength] bytes.
type KeyReader struct {
	lines *bufio.Scanner // plain text
	csv   *csv.Reader    // CSV
	col   int            // CSV: index of the key column
	line  int            // plain text: lines read
}

// NewKeyReader returns a KeyReader of r. With an empty csvColumn, r is plain
// text, and an input whose first two lines are CSV records of the same two
// or more fields is refused with an error wrapping [ErrCSVWithoutColumn]
// that lists the columns; otherwise it is CSV, and NewKeyReader reads its
// header to find the column named csvColumn, returning an error when there
// is none.
func NewKeyReader(r io.Reader, csvColumn string) (*KeyReader, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	if bom, err := br.Peek(len(keyFileBOM)); err == nil && string(bom) == keyFileBOM {
		_, _ = br.Discard(len(keyFileBOM))
	}
	if csvColumn == "" {
		if cols := csvColumns(br); cols != nil {
			return nil, fmt.Errorf("%w: it has the columns %s; name the column of context keys (CSVColumn; --column NAME on the command line)",
				ErrCSVWithoutColumn, quotedNames(cols))
		}
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 0, 64*1024), MaxKeyLength+len("\r\n"))
		return &KeyReader{lines: sc}, nil
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("csv: empty input, want a header row with a %q column", csvColumn)
	}
	if err != nil {
		return nil, fmt.Errorf("csv header: %w", err)
	}
	col := -1
	names := make([]string, len(header))
	for i, h := range header {
		names[i] = strings.TrimSpace(h)
		if names[i] != csvColumn {
			continue
		}
		if col >= 0 {
			return nil, fmt.Errorf("csv header: column %q appears more than once", csvColumn)
		}
		col = i
	}
	if col < 0 {
		return nil, fmt.Errorf("csv header: no column %q (columns: %s)", csvColumn, quotedNames(names))
	}
	return &KeyReader{csv: cr, col: col}, nil
}

func quotedNames(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// Next returns the next key, or io.EOF after the last. Any other error
// names the line it is on; the reader is not usable after it.
func (k *KeyReader) Next() (string, error) {
	if k.csv != nil {
		return k.nextCSV()
	}
	for k.lines.Scan() {
		k.line++
		b := bytes.TrimSpace(k.lines.Bytes())
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return "", fmt.Errorf("line %d: key is not valid UTF-8 (key files must be UTF-8 text)", k.line)
		}
		if len(b) > MaxKeyLength {
			return "", fmt.Errorf("line %d: key longer than %d bytes", k.line, MaxKeyLength)
		}
		return string(b), nil
	}
	switch err := k.lines.Err(); {
	case errors.Is(err, bufio.ErrTooLong):
		return "", fmt.Errorf("line %d: longer than %d bytes", k.line+1, MaxKeyLength)
	case err != nil:
		return "", fmt.Errorf("line %d: %w", k.line+1, err)
	}
	return "", io.EOF
}

func (k *KeyReader) nextCSV() (string, error) {
	for {
		rec, err := k.csv.Read()
		if err == io.EOF {
			return "", io.EOF
		}
		if err != nil {
			return "", fmt.Errorf("csv: %w", err)
		}
		key := strings.TrimSpace(rec[k.col])
		if key == "" {
			continue
		}
		line, _ := k.csv.FieldPos(k.col)
		if !utf8.ValidString(key) {
			return "", fmt.Errorf("csv: line %d: key is not valid UTF-8 (key files must be UTF-8 text)", line)
		}
		if len(key) > MaxKeyLength {
			return "", fmt.Errorf("csv: line %d: key longer than %d bytes", line, MaxKeyLength)
		}
		return key, nil
	}
}

// readKeyInput calls fn with each key of the input named name, until ctx is
// done.
func readKeyInput(ctx context.Context, name string, r io.Reader, csvColumn string, fn func(key string) error) error {
	kr, err := NewKeyReader(r, csvColumn)
	if err != nil {
		return fmt.Errorf("%s input: %w", name, err)
	}
	for n := 0; ; n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		key, err := kr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s input: %w", name, err)
		}
		if err := fn(key); err != nil {
			return err
		}
	}
}
