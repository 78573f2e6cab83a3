package client_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/store/cache"
)

func TestStatsCountsEvaluations(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{})
	u := evalctx.New("u")
	for range 3 {
		c.BoolVariation("bool-flag", u, false) // FALLTHROUGH
	}
	c.BoolVariation("bool-flag", evalctx.New("excluded-user"), false) // TARGET_MATCH
	c.BoolVariation("string-flag", u, false)                          // WRONG_TYPE
	c.BoolVariation("missing", u, false)                              // FLAG_NOT_FOUND
	c.BoolVariation("off-no-offvar", u, false)                        // OFF
	c.StringVariation("prereq-flag", u, "")                           // FALLTHROUGH (prerequisite met)
	c.BoolVariation("bool-flag", evalctx.New(""), false)              // USER_NOT_SPECIFIED
	st := c.Stats()
	want := map[string][len(client.ReasonKinds)]uint64{
		// OFF, FALLTHROUGH, TARGET_MATCH, RULE_MATCH, PREREQUISITE_FAILED, ERROR
		"bool-flag":     {0, 3, 1, 0, 0, 1},
		"string-flag":   {0, 0, 0, 0, 0, 1},
		"missing":       {0, 0, 0, 0, 0, 1},
		"off-no-offvar": {1, 0, 0, 0, 0, 0},
		"prereq-flag":   {0, 1, 0, 0, 0, 0},
	}
	if len(st.Evaluations) != len(want) {
		t.Errorf("%d flags counted, want %d: %+v", len(st.Evaluations), len(want), st.Evaluations)
	}
	for i, f := range st.Evaluations {
		if i > 0 && st.Evaluations[i-1].Key >= f.Key {
			t.Errorf("not sorted: %q before %q", st.Evaluations[i-1].Key, f.Key)
		}
		if f.ByReason != want[f.Key] {
			t.Errorf("%s: %v, want %v", f.Key, f.ByReason, want[f.Key])
		}
	}
	errs := map[string]uint64{}
	for i, k := range client.ErrorKinds {
		errs[string(k)] = st.Errors[i]
	}
	if errs["WRONG_TYPE"] != 1 || errs["FLAG_NOT_FOUND"] != 1 || errs["USER_NOT_SPECIFIED"] != 1 || errs["EXCEPTION"] != 0 {
		t.Errorf("errors: %v", errs)
	}
	if st.Cache.Flags.Hits == 0 || st.Cache.Flags.Misses == 0 || st.Cache.Reads[0].Count == 0 {
		t.Errorf("cache stats: %+v", st.Cache)
	}
	if st.Status.State != cache.Available || st.TimeInState[cache.Available] <= 0 {
		t.Errorf("status %v, time in state %v", st.Status.State, st.TimeInState)
	}
	if st.BigSegmentStore.Configured {
		t.Error("big segments reported configured")
	}
}

func TestStatsBoundsFlagKeys(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, nil)
	c := e.client(client.Config{Stats: client.StatsConfig{MaxFlags: 3}})
	// Three rounds: the first finds each key's counters in the table, the
	// others through the key's tag in the cache; both must count alike,
	// and a key beyond the bound stays under OtherFlagsKey.
	const rounds = 3
	for range rounds {
		for i := range 10 {
			c.BoolVariation(fmt.Sprintf("made-up-%d", i), evalctx.New("u"), false)
		}
	}
	st := c.Stats()
	if len(st.Evaluations) != 4 {
		t.Fatalf("%d entries, want 3 flags and %s: %+v", len(st.Evaluations), client.OtherFlagsKey, st.Evaluations)
	}
	if st.Evaluations[0].Key != client.OtherFlagsKey || st.Evaluations[0].Total() != 7*rounds {
		t.Errorf("overflow entry %+v, want %d evaluations", st.Evaluations[0], 7*rounds)
	}
	for _, f := range st.Evaluations[1:] {
		if f.Total() != rounds {
			t.Errorf("flag %s: %d evaluations, want %d", f.Key, f.Total(), rounds)
		}
	}
}

// TestStatsCountsConcurrentNewFlags: goroutines evaluating new flags at
// once lose no count, and the bound holds (give or take racing inserts).
func TestStatsCountsConcurrentNewFlags(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, nil)
	const maxFlags, goroutines, keys, rounds = 50, 8, 40, 5
	c := e.client(client.Config{Stats: client.StatsConfig{MaxFlags: maxFlags}})
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for r := range rounds {
				for k := range keys {
					c.BoolVariation(fmt.Sprintf("made-up-%d-%d", (g+r)%3, k), evalctx.New("u"), false)
				}
			}
		})
	}
	wg.Wait()
	var total uint64
	named := 0
	for _, f := range c.Stats().Evaluations {
		total += f.Total()
		if f.Key != client.OtherFlagsKey {
			named++
		}
	}
	if total != goroutines*keys*rounds {
		t.Errorf("counted %d evaluations, want %d", total, goroutines*keys*rounds)
	}
	if named < maxFlags || named > maxFlags+goroutines {
		t.Errorf("%d flags counted by name, want %d (the bound, plus at most one racing insert per goroutine)", named, maxFlags)
	}
}

func TestStatsDisabled(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, nil)
	c := e.client(client.Config{Stats: client.StatsConfig{Disabled: true}})
	c.BoolVariation("bool-flag", evalctx.New("u"), false)
	c.BoolVariation("missing", evalctx.New("u"), false)
	st := c.Stats()
	if len(st.Evaluations) != 0 {
		t.Errorf("evaluations counted while disabled: %+v", st.Evaluations)
	}
	if st.Errors[1] != 1 { // FLAG_NOT_FOUND: error totals stay on
		t.Errorf("errors %v", st.Errors)
	}
}

// TestStatsTimeInState: a store that fails accumulates time Unavailable.
func TestStatsTimeInState(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, nil)
	f := &faultyReader{Reader: e.reader}
	c := e.client(client.Config{Store: f, Cache: cache.Options{TTL: 10 * time.Millisecond, ProbeInterval: 5 * time.Millisecond}})
	c.BoolVariation("bool-flag", evalctx.New("u"), false)
	f.setFail(errInjected)
	eventually(t, "unavailable", func() bool {
		c.BoolVariation("bool-flag", evalctx.New("u"), false)
		return c.DataStoreStatus().State == cache.Unavailable
	})
	f.setFail(nil)
	eventually(t, "available again", func() bool { return c.DataStoreStatus().State == cache.Available })
	eventually(t, "time unavailable counted", func() bool { return c.Stats().TimeInState[cache.Unavailable] > 0 })
	st := c.Stats()
	if st.Cache.Reads[0].Errors+st.Cache.Reads[2].Errors+st.Cache.Reads[1].Errors == 0 {
		t.Errorf("no store errors counted: %+v", st.Cache.Reads)
	}
}
