package client

import (
	"hash/maphash"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/internal/stripe"
	"github.com/daemonflag/daemonflag/store/cache"
)

// DefaultStatsMaxFlags is how many flags get their own evaluation counters
// when StatsConfig.MaxFlags is zero.
const DefaultStatsMaxFlags = 1000

// OtherFlagsKey is the key of the [FlagEvaluationStats] entry that counts
// the evaluations of flags beyond StatsConfig.MaxFlags. (It cannot be the
// key of a LaunchDarkly flag.)
const OtherFlagsKey = "(other)"

// StatsConfig configures the client's evaluation counters ([Client.Stats]).
// The zero value counts, with a bound of [DefaultStatsMaxFlags] flags.
type StatsConfig struct {
	// Disabled turns the evaluation counters off (the cache's counters,
	// which cost an atomic add per lookup, stay on). Zero: counting, at the
	// cost of two atomic adds per variation call and no allocation.
	Disabled bool
	// MaxFlags bounds how many flag keys get counters of their own, so that
	// keys a program makes up (or typos) cannot grow the counters without
	// limit; later keys are counted under [OtherFlagsKey]. Zero:
	// [DefaultStatsMaxFlags].
	MaxFlags int
}

// ReasonKinds are the reason kinds [FlagEvaluationStats.ByReason] counts, in
// order.
var ReasonKinds = [...]evaluation.ReasonKind{
	evaluation.ReasonOff, evaluation.ReasonFallthrough, evaluation.ReasonTargetMatch,
	evaluation.ReasonRuleMatch, evaluation.ReasonPrerequisiteFailed, evaluation.ReasonError,
}

// ErrorKinds are the error kinds [Stats.Errors] counts, in order.
var ErrorKinds = [...]evaluation.ErrorKind{
	evaluation.ErrorClientNotReady, evaluation.ErrorFlagNotFound, evaluation.ErrorMalformedFlag,
	evaluation.ErrorUserNotSpecified, evaluation.ErrorWrongType, evaluation.ErrorException,
}

// BigSegmentStatuses are the statuses [Stats.BigSegments] counts, in order.
var BigSegmentStatuses = [...]evaluation.BigSegmentsStatus{
	evaluation.BigSegmentsHealthy, evaluation.BigSegmentsStale,
	evaluation.BigSegmentsStoreError, evaluation.BigSegmentsNotConfigured,
}

// Stats is a snapshot of the client's counters and gauges, for metrics
// systems (the otel module, the daemons' /metrics). Counts only grow from
// the client's creation; see each field for gauges.
type Stats struct {
	// Evaluations counts variation calls (not AllFlagsState) by flag, sorted
	// by key. Empty when StatsConfig.Disabled.
	Evaluations []FlagEvaluationStats
	// Errors counts variation calls with reason ERROR by error kind, in the
	// order of [ErrorKinds].
	Errors [len(ErrorKinds)]uint64
	// BigSegments counts variation calls that consulted a big segment, by
	// the big-segment status their reason reported, in the order of
	// [BigSegmentStatuses].
	BigSegments [len(BigSegmentStatuses)]uint64
	// Cache is the cache's counters: lookups, store reads with latency,
	// notifications. Zero for an offline client.
	Cache cache.Stats
	// Status is the data-store status now (a gauge), with the data's age
	// (LastConfirmed, LastWrite).
	Status cache.Status
	// TimeInState is the total time the store has spent in each state since
	// the client was created, the current one included, indexed by
	// cache.State (Available, Unavailable, NotInitialized).
	TimeInState [3]time.Duration
	// BigSegmentStore is the big-segment store's status now; Configured is
	// false (and the rest zero) without big segments.
	BigSegmentStore BigSegmentStoreStats
	// EventsEnabled is true when the client sends analytics events; Events
	// then holds the event processor's counters and gauges (queue, flushes,
	// deliveries, drops).
	EventsEnabled bool
	Events        events.Stats
}

// FlagEvaluationStats counts the evaluations of one flag.
type FlagEvaluationStats struct {
	// Key is the flag's key, or [OtherFlagsKey].
	Key string
	// ByReason counts evaluations by reason kind, in the order of
	// [ReasonKinds].
	ByReason [len(ReasonKinds)]uint64
}

// Total is the number of evaluations of the flag.
func (f FlagEvaluationStats) Total() uint64 {
	var n uint64
	for _, c := range f.ByReason {
		n += c
	}
	return n
}

// BigSegmentStoreStats is the big-segment store's status in [Stats].
type BigSegmentStoreStats struct {
	// Configured is true when the client has a big-segment store.
	Configured bool
	// Available is false when the last status poll failed.
	Available bool
	// Stale is true when the synchronized-on time is too old or unset.
	Stale bool
}

// Stats returns the client's counters and gauges. It copies every flag's
// counters (about 0.1-0.2 ms and one allocation per thousand flags) and
// never blocks evaluations.
func (c *Client) Stats() Stats {
	var st Stats
	st.Status = c.DataStoreStatus()
	if c.cache != nil {
		st.Cache = c.cache.Stats()
	}
	if c.big != nil {
		bs := c.big.Status()
		st.BigSegmentStore = BigSegmentStoreStats{Configured: true, Available: bs.Available, Stale: bs.Stale}
	}
	if c.events != nil {
		st.EventsEnabled, st.Events = true, c.events.Stats()
	}
	s := c.stats
	if s == nil {
		return st
	}
	for i := range s.errors {
		st.Errors[i] = s.errors[i].Load()
	}
	for i := range s.big {
		st.BigSegments[i] = s.big[i].Load()
	}
	st.TimeInState = s.timeInState(st.Status)
	if !s.disabled {
		st.Evaluations = make([]FlagEvaluationStats, 0, s.flags.len()+1)
		for e := range s.flags.entries() {
			st.Evaluations = append(st.Evaluations, e.c.snapshot(e.key))
		}
		if other := s.other.snapshot(OtherFlagsKey); other.Total() > 0 {
			st.Evaluations = append(st.Evaluations, other)
		}
		slices.SortFunc(st.Evaluations, func(a, b FlagEvaluationStats) int { return strings.Compare(a.Key, b.Key) })
	}
	return st
}

// stats holds the client's live counters.
type stats struct {
	disabled bool
	maxFlags int

	flags  flagTable
	other  *flagCounters
	errors [len(ErrorKinds)]atomic.Uint64
	big    [len(BigSegmentStatuses)]atomic.Uint64

	stateMu sync.Mutex
	state   cache.State
	since   time.Time
	inState [3]time.Duration // completed periods
}

// flagCounters are one flag's counts by reason, striped (internal/stripe):
// every evaluation of the flag adds to them, from every processor, and one
// shared line would make a warm evaluation on two processors cost more than
// on one. Allocated on their own (256 bytes, a size class whose objects
// start on a cache line), each stripe is one cache line.
type flagCounters struct {
	stripes [flagStripes]reasonCounts
}

// flagStripes is the number of stripes of a flag's counters.
const flagStripes = 4

// reasonCounts is one stripe of a flag's counters: a cache line.
type reasonCounts struct {
	byReason [len(ReasonKinds)]atomic.Uint64
	_        [64 - 8*len(ReasonKinds)]byte
}

// add counts one evaluation with reason index i in the calling goroutine's
// stripe.
func (f *flagCounters) add(i int) {
	f.stripes[stripe.Index(flagStripes)].byReason[i].Add(1)
}

func (f *flagCounters) snapshot(key string) FlagEvaluationStats {
	s := FlagEvaluationStats{Key: key}
	for j := range f.stripes {
		for i := range f.stripes[j].byReason {
			s.ByReason[i] += f.stripes[j].byReason[i].Load()
		}
	}
	return s
}

func newStats(cfg StatsConfig, created time.Time) *stats {
	s := &stats{disabled: cfg.Disabled, maxFlags: cfg.MaxFlags, since: created, other: new(flagCounters)}
	if s.maxFlags <= 0 {
		s.maxFlags = DefaultStatsMaxFlags
	}
	s.flags.init(s.maxFlags)
	return s
}

// evaluated counts one variation call. tag is the flag key's tag in the
// cache, or nil (the call failed before the lookup, or the cache is off):
// the tag remembers where the key's counters are, so a known flag costs a
// load and an atomic add, and no allocation; without a tag, a hash and a
// probe of the table, which stays the counters' home (a tag can be lost:
// see cache.Tag). A new flag allocates its counters once.
func (s *stats) evaluated(key string, tag *cache.Tag, r *evaluation.Reason) {
	if r.Kind == evaluation.ReasonError {
		if i := slices.Index(ErrorKinds[:], r.ErrorKind); i >= 0 {
			s.errors[i].Add(1)
		}
	}
	if r.BigSegmentsStatus != "" {
		if i := slices.Index(BigSegmentStatuses[:], r.BigSegmentsStatus); i >= 0 {
			s.big[i].Add(1)
		}
	}
	if s.disabled {
		return
	}
	var fc *flagCounters
	if tag != nil {
		fc, _ = tag.Load().(*flagCounters)
	}
	if fc == nil {
		if fc = s.flags.get(key); fc == nil {
			fc = s.other // the table is full: the key stays in other
		}
		if tag != nil {
			tag.Store(fc)
		}
	}
	if i := reasonIndex(r.Kind); i >= 0 {
		fc.add(i)
	}
}

func reasonIndex(k evaluation.ReasonKind) int {
	switch k {
	case evaluation.ReasonOff:
		return 0
	case evaluation.ReasonFallthrough:
		return 1
	case evaluation.ReasonTargetMatch:
		return 2
	case evaluation.ReasonRuleMatch:
		return 3
	case evaluation.ReasonPrerequisiteFailed:
		return 4
	case evaluation.ReasonError:
		return 5
	}
	return -1
}

// flagTable maps flag keys to their counters without a lock: an
// open-addressing hash table of atomic pointers that never resizes, sized
// for its bound, where a new key is inserted with one compare-and-swap. A
// map behind copy-on-write would copy itself for every new key, and a
// mutex would put a lock on the evaluation path. The slots are allocated
// in chunks, each on the first insert that lands in it, so a client that
// evaluates few flags (or has just started) does not hold, nor zero, the
// whole table (32 KiB at the default bound).
type flagTable struct {
	seed   maphash.Seed
	chunks []atomic.Pointer[flagChunk]
	mask   uint64 // slots - 1
	n      atomic.Int64
	max    int64
}

// flagChunkSize is the number of slots in one chunk (512 bytes).
const flagChunkSize = 64

type flagChunk [flagChunkSize]atomic.Pointer[flagEntry]

// flagEntry is one flag's counters. The key's 64-bit hash sits next to
// them, so that finding a known key reads the entry and not the key's
// bytes, which live elsewhere (in a mix of many flags, that second read is
// a cache miss on most calls).
type flagEntry struct {
	hash uint64
	key  string
	c    *flagCounters
}

func (t *flagTable) init(maxKeys int) {
	size := 64
	for size < 2*maxKeys+64 { // at most half full, whatever racing inserts add
		size *= 2
	}
	t.seed, t.max = maphash.MakeSeed(), int64(maxKeys)
	t.chunks, t.mask = make([]atomic.Pointer[flagChunk], size/flagChunkSize), uint64(size-1)
}

// slot returns slot i, allocating its chunk when alloc is set; nil when
// its chunk does not exist (every slot in it is empty) and alloc is not
// set.
func (t *flagTable) slot(i uint64, alloc bool) *atomic.Pointer[flagEntry] {
	cp := &t.chunks[i/flagChunkSize]
	ch := cp.Load()
	if ch == nil {
		if !alloc {
			return nil
		}
		cp.CompareAndSwap(nil, new(flagChunk)) // a loser uses the winner's chunk
		ch = cp.Load()
	}
	return &ch[i%flagChunkSize]
}

// get returns key's counters, adding them if the table holds fewer than its
// bound; nil when it is full and key is not in it.
func (t *flagTable) get(key string) *flagCounters {
	h := maphash.String(t.seed, key)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		sl := t.slot(i, false)
		var e *flagEntry
		if sl != nil {
			e = sl.Load()
		}
		if e == nil {
			if t.n.Load() >= t.max {
				return nil
			}
			if sl == nil {
				sl = t.slot(i, true)
			}
			ne := &flagEntry{hash: h, key: strings.Clone(key), c: new(flagCounters)}
			if sl.CompareAndSwap(nil, ne) {
				t.n.Add(1)
				return ne.c
			}
			e = sl.Load() // another goroutine took the slot
		}
		// Equal 64-bit hashes of equal-length keys: the same key (two keys
		// of a process share such a hash with probability 2^-64; the
		// counters of one would then count the other's calls).
		if e.hash == h && len(e.key) == len(key) {
			return e.c
		}
	}
}

func (t *flagTable) len() int { return int(t.n.Load()) }

// entries yields every key's entry.
func (t *flagTable) entries() iter.Seq[*flagEntry] {
	return func(yield func(*flagEntry) bool) {
		for i := range t.chunks {
			ch := t.chunks[i].Load()
			if ch == nil {
				continue
			}
			for j := range ch {
				if e := ch[j].Load(); e != nil && !yield(e) {
					return
				}
			}
		}
	}
}

// statusChanged accumulates the time spent in the state that ends.
func (s *stats) statusChanged(st cache.Status) {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	if st.State == s.state {
		return
	}
	if d := st.Since.Sub(s.since); d > 0 && int(s.state) < len(s.inState) {
		s.inState[s.state] += d
	}
	s.state, s.since = st.State, st.Since
}

func (s *stats) timeInState(now cache.Status) [3]time.Duration {
	s.stateMu.Lock()
	defer s.stateMu.Unlock()
	t := s.inState
	if int(s.state) < len(t) {
		t[s.state] += time.Since(s.since)
	}
	return t
}
