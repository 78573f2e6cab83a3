package cache

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// changeRecorder collects change notifications.
type changeRecorder struct {
	mu    sync.Mutex
	calls [][]string
}

func (r *changeRecorder) add(keys []string) {
	r.mu.Lock()
	r.calls = append(r.calls, keys)
	r.mu.Unlock()
}

// take returns and forgets the keys reported so far, merged and sorted.
func (r *changeRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, c := range r.calls {
		out = append(out, c...)
	}
	r.calls = nil
	slices.Sort(out)
	return slices.Compact(out)
}

func TestChangeDetection(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s,
		[]store.KeyedItem{
			keyed("f1", item("f1", 1, "v")),
			keyed("f2", item("f2", 1, "v", "features/f1")), // prerequisite f1
			keyed("f3", item("f3", 1, "v", "segments/s1")), // segment s1, which uses s2
			keyed("f4", item("f4", 1, "v", "segments/s2")),
			keyed("f5", item("f5", 1, "v")),
			keyed("f6", item("f6", 1, "v", "features/f2")), // prerequisite of a prerequisite
		},
		[]store.KeyedItem{
			keyed("s1", item("s1", 1, "v", "segments/s2")),
			keyed("s2", item("s2", 1, "v")),
			keyed("s3", item("s3", 1, "v")),
		})
	w := wrap(s)
	x := newTestCache(t, w, Options{TTL: time.Hour, ChangePollInterval: 5 * time.Millisecond})
	x.value(t, x.flags, "f1")
	var rec changeRecorder
	remove := x.c.onChange(rec.add)
	eventually(t, "baseline", func() bool { return w.getAlls.Load() >= 4 })

	// expect applies a change and waits until exactly want is reported.
	expect := func(name string, change func(), want ...string) {
		t.Helper()
		change()
		eventually(t, name, func() bool {
			got := rec.take()
			if len(got) > 0 && !slices.Equal(got, want) {
				t.Fatalf("%s: reported %v, want %v", name, got, want)
			}
			return len(got) > 0
		})
	}
	expect("nested segment", func() { upsert(t, s, store.Segments, "s2", item("s2", 2, "v")) }, "f3", "f4")
	expect("prerequisite", func() { upsert(t, s, store.Features, "f1", item("f1", 2, "new")) }, "f1", "f2", "f6")
	// What a listener is told about is what the cache serves.
	if v := x.value(t, x.flags, "f1"); v != "new" {
		t.Errorf("f1 after its change was reported = %s", v)
	}
	expect("deleted flag", func() { upsert(t, s, store.Features, "f5", store.Tombstone("f5", 2)) }, "f5")
	expect("new flag", func() { upsert(t, s, store.Features, "f7", item("f7", 1, "v")) }, "f7")
	expect("new segment used by a changed flag",
		func() {
			upsert(t, s, store.Segments, "s4", item("s4", 1, "v"))
			upsert(t, s, store.Features, "f5", item("f5", 3, "v", "segments/s4"))
		}, "f5")
	expect("whole dataset replaced", func() {
		initStore(t, s, []store.KeyedItem{keyed("f1", item("f1", 2, "new"))}, nil)
	}, "f2", "f3", "f4", "f5", "f6", "f7")

	// Nothing changes: nothing is reported.
	n := w.getAlls.Load()
	eventually(t, "quiet polls", func() bool { return w.getAlls.Load() >= n+10 })
	if got := rec.take(); len(got) > 0 {
		t.Errorf("reported %v without a change", got)
	}

	// A store that loses its data does not report every flag deleted; when
	// the writer refills it, only real differences are reported.
	w.lost.Store(true)
	n = w.inits.Load()
	eventually(t, "polls during the loss", func() bool { return w.inits.Load() >= n+5 })
	upsert(t, s, store.Features, "f8", item("f8", 1, "v"))
	expect("refilled", func() { w.lost.Store(false) }, "f8")

	// Unchanged items are not decoded again by the polls.
	d := x.tc.decodes.Load()
	n = w.getAlls.Load()
	eventually(t, "more polls", func() bool { return w.getAlls.Load() >= n+6 })
	if got := x.tc.decodes.Load(); got != d {
		t.Errorf("polls decoded %d unchanged items", got-d)
	}

	// Without listeners the poll stops.
	remove()
	eventually(t, "poll to stop", func() bool {
		x.c.lmu.Lock()
		defer x.c.lmu.Unlock()
		return !x.c.polling
	})
}

func TestChangedFlags(t *testing.T) {
	f := func(k string) ref { return ref{store.Features, k} }
	sg := func(k string) ref { return ref{store.Segments, k} }
	prev := snapshot{
		f("a"):  {hash: 1, deps: []ref{sg("s")}},
		f("b"):  {hash: 1, deps: []ref{f("a")}},
		f("c"):  {hash: 1, deps: []ref{f("c")}}, // a cycle is harmless
		f("d"):  {hash: 1},
		sg("s"): {hash: 1, deps: []ref{sg("t")}},
		sg("t"): {hash: 1, deps: []ref{sg("s")}},
	}
	tests := []struct {
		name string
		next snapshot
		want []string
	}{
		{"same", prev, nil},
		{"segment cycle", with(prev, sg("t"), itemInfo{hash: 2, deps: []ref{sg("s")}}), []string{"a", "b"}},
		{"flag removed", without(prev, f("d")), []string{"d"}},
		{"self cycle changed", with(prev, f("c"), itemInfo{hash: 2, deps: []ref{f("c")}}), []string{"c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := changedFlags(prev, tt.next); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func with(s snapshot, r ref, inf itemInfo) snapshot {
	out := snapshot{}
	for k, v := range s {
		out[k] = v
	}
	out[r] = inf
	return out
}

func without(s snapshot, r ref) snapshot {
	out := with(s, r, itemInfo{})
	delete(out, r)
	return out
}

func TestChangesReportFirstDatasetOfAFreshStore(t *testing.T) {
	s := newRealStore(t) // no writer yet
	w := wrap(s)
	x := newTestCache(t, w, Options{ChangePollInterval: 5 * time.Millisecond, ProbeInterval: 5 * time.Millisecond})
	var rec changeRecorder
	defer x.c.onChange(rec.add)()
	eventually(t, "polls of the empty store", func() bool { return w.inits.Load() >= 4 })
	initStore(t, s, []store.KeyedItem{keyed("f1", item("f1", 1, "v")), keyed("f2", item("f2", 1, "v"))}, nil)
	var got []string
	eventually(t, "first dataset reported", func() bool { got = rec.take(); return len(got) > 0 })
	if !slices.Equal(got, []string{"f1", "f2"}) {
		t.Errorf("reported %v", got)
	}
}

func TestChangeListenerPanicIsContained(t *testing.T) {
	s := newRealStore(t)
	initStore(t, s, []store.KeyedItem{keyed("f1", item("f1", 1, "v"))}, nil)
	w := wrap(s)
	var logs logBuffer
	x := newTestCache(t, w, Options{ChangePollInterval: 5 * time.Millisecond, Logger: logs.logger()})
	var rec changeRecorder
	defer x.c.onChange(func([]string) { panic("listener bug") })()
	defer x.c.onChange(rec.add)()
	eventually(t, "baseline", func() bool { return w.getAlls.Load() >= 4 })
	for v := 2; len(rec.take()) == 0; v++ {
		upsert(t, s, store.Features, "f1", item("f1", v, "v"))
		time.Sleep(20 * time.Millisecond)
		if v > 1000 {
			t.Fatal("no change reported")
		}
	}
	eventually(t, "panic logged", func() bool {
		for _, l := range logs.lines() {
			if strings.Contains(l, "listener bug") {
				return true
			}
		}
		return false
	})
}

func TestChangeDetectionInEveryMode(t *testing.T) {
	for _, mode := range []Mode{ModeTTL, ModeForever, ModeOff} {
		t.Run(mode.String(), func(t *testing.T) {
			s := newRealStore(t)
			initStore(t, s, []store.KeyedItem{keyed("f1", item("f1", 1, "old"))}, nil)
			w := wrap(s)
			x := newTestCache(t, w, Options{Mode: mode, TTL: time.Hour, ChangePollInterval: 5 * time.Millisecond})
			x.value(t, x.flags, "f1")
			var rec changeRecorder
			defer x.c.onChange(rec.add)()
			eventually(t, "baseline", func() bool { return w.getAlls.Load() >= 4 })
			upsert(t, s, store.Features, "f1", item("f1", 2, "new"))
			var got []string
			eventually(t, "change", func() bool { got = rec.take(); return len(got) > 0 })
			if !slices.Equal(got, []string{"f1"}) {
				t.Errorf("reported %v", got)
			}
			if v := x.value(t, x.flags, "f1"); v != "new" {
				t.Errorf("f1 after the report = %s", v)
			}
		})
	}
	// ModeForever without an interval does not poll.
	x := newTestCache(t, newRealStore(t), Options{Mode: ModeForever})
	x.c.onChange(func([]string) { t.Error("called") })
	if x.c.polling {
		t.Error("polling in ModeForever without an interval")
	}
}
