package events

import (
	"slices"
	"sync"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// summarizer counts evaluations for the summary event. Counting is the hot
// path of every evaluation with events on, so it is built not to allocate
// after a flag version's first evaluation: each flag version (a distinct
// *model.Flag, which the cache never modifies) has a slot found with one
// lock-free map read, holding a counter per variation behind a short
// mutex. (A refresh of the cache decodes the flag again, giving a new
// pointer and so a new slot; counters of one version merge when the
// summary is taken.) Flushing takes each slot's counts and zeroes them; a slot unused
// for two flush intervals is removed.
type summarizer struct {
	flags sync.Map // *model.Flag -> *flagSlot

	mu      sync.Mutex
	unknown map[string]*flagSlot // flags not found, by key
}

type flagSlot struct {
	mu      sync.Mutex
	dead    bool        // removed from the map: count elsewhere
	flag    *model.Flag // nil for an unknown flag
	key     string
	counts  []int64         // [0]: no variation (the default); [i+1]: variation i
	value0  jsonvalue.Value // the value of counts[0]: the first default seen
	def     jsonvalue.Value // the flag's default in this period
	hasDef  bool
	kinds   []evalctx.Kind // context kinds seen in this period
	start   int64          // first and last evaluation time in this period (ms)
	end     int64
	total   int64
	idle    int             // flushes without counts
	lastCtx evalctx.Context // the context seen last, to skip the dedup for repeats
	lastGen uint64
}

func newSlot(f *model.Flag, key string) *flagSlot {
	n := 1
	if f != nil {
		n += len(f.Variations)
	}
	return &flagSlot{flag: f, key: key, counts: make([]int64, n), kinds: make([]evalctx.Kind, 0, 2)}
}

// count adds one evaluation. It returns true when ec is not the context this
// slot saw last in dedup generation gen, so the caller checks the dedup.
func (s *summarizer) count(f *model.Flag, key string, ec evalctx.Context, variation int, def jsonvalue.Value, gen uint64) (notice bool) {
	for {
		slot := s.slot(f, key)
		slot.mu.Lock()
		if slot.dead {
			slot.mu.Unlock()
			continue
		}
		i := 0
		if variation >= 0 && variation+1 < len(slot.counts) {
			i = variation + 1
		}
		if i == 0 && slot.counts[0] == 0 {
			slot.value0 = def
		}
		slot.counts[i]++
		if slot.total == 0 {
			slot.start = nowMs() // the clock is read once per flag and period
		}
		slot.total++
		if !slot.hasDef {
			slot.def, slot.hasDef = def, true
		}
		if ec.Multiple() {
			for j := range ec.IndividualContextCount() {
				slot.addKind(ec.IndividualContextByIndex(j).Kind())
			}
		} else {
			slot.addKind(ec.Kind())
		}
		if slot.lastCtx != ec || slot.lastGen != gen {
			slot.lastCtx, slot.lastGen = ec, gen
			notice = true
		}
		slot.mu.Unlock()
		return notice
	}
}

func (slot *flagSlot) addKind(k evalctx.Kind) {
	if !slices.Contains(slot.kinds, k) {
		slot.kinds = append(slot.kinds, k)
	}
}

func (s *summarizer) slot(f *model.Flag, key string) *flagSlot {
	if f == nil {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.unknown == nil {
			s.unknown = map[string]*flagSlot{}
		}
		slot := s.unknown[key]
		if slot == nil || slot.dead {
			slot = newSlot(nil, key)
			s.unknown[key] = slot
		}
		return slot
	}
	if v, ok := s.flags.Load(f); ok {
		return v.(*flagSlot)
	}
	v, _ := s.flags.LoadOrStore(f, newSlot(f, f.Key))
	return v.(*flagSlot)
}

// summary is one summary event's content.
type summary struct {
	start, end int64
	flags      []flagSummary // sorted by key
}

type flagSummary struct {
	key      string
	def      jsonvalue.Value
	kinds    []evalctx.Kind
	counters []counterSummary
}

type counterSummary struct {
	variation int // -1: none
	version   int
	hasFlag   bool // false: unknown flag
	value     jsonvalue.Value
	count     int64
}

// take returns the counts since the last take and starts a new period.
// The times are Unix milliseconds.
func (s *summarizer) take() summary {
	var out summary
	byKey := map[string]*flagSummary{}
	collect := func(slot *flagSlot) (remove bool) {
		slot.mu.Lock()
		defer slot.mu.Unlock()
		if slot.total == 0 {
			slot.idle++
			if slot.idle >= 2 {
				slot.dead = true
				return true
			}
			return false
		}
		slot.idle = 0
		if out.start == 0 || slot.start < out.start {
			out.start = slot.start
		}
		fs := byKey[slot.key]
		if fs == nil {
			fs = &flagSummary{key: slot.key, def: slot.def}
			byKey[slot.key] = fs
		}
		for _, k := range slot.kinds {
			if !slices.Contains(fs.kinds, k) {
				fs.kinds = append(fs.kinds, k)
			}
		}
		for i, n := range slot.counts {
			if n == 0 {
				continue
			}
			c := counterSummary{variation: i - 1, count: n}
			if slot.flag != nil {
				c.hasFlag, c.version = true, slot.flag.Version
			}
			if i == 0 {
				c.value = slot.value0
			} else {
				c.value = slot.flag.Variations[i-1]
			}
			// The cache decodes a flag again at each refresh, so one flag
			// version can have several slots: their counters merge.
			if j := slices.IndexFunc(fs.counters, func(o counterSummary) bool {
				return o.hasFlag == c.hasFlag && o.version == c.version && o.variation == c.variation
			}); j >= 0 {
				fs.counters[j].count += n
			} else {
				fs.counters = append(fs.counters, c)
			}
			slot.counts[i] = 0
		}
		slot.total, slot.hasDef = 0, false
		slot.def, slot.value0 = jsonvalue.Value{}, jsonvalue.Value{}
		slot.kinds = slot.kinds[:0]
		return false
	}
	s.flags.Range(func(k, v any) bool {
		if collect(v.(*flagSlot)) {
			s.flags.Delete(k)
		}
		return true
	})
	s.mu.Lock()
	for k, slot := range s.unknown {
		if collect(slot) {
			delete(s.unknown, k)
		}
	}
	s.mu.Unlock()
	// The end of the period is when it is taken (LaunchDarkly uses the last
	// evaluation's time, at most one flush interval earlier): reading the
	// clock on every evaluation would double the cost of counting.
	out.end = max(nowMs(), out.start)
	for _, fs := range byKey {
		slices.Sort(fs.kinds)
		slices.SortFunc(fs.counters, func(a, b counterSummary) int {
			if a.version != b.version {
				return a.version - b.version
			}
			return a.variation - b.variation
		})
		out.flags = append(out.flags, *fs)
	}
	slices.SortFunc(out.flags, func(a, b flagSummary) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	return out
}
