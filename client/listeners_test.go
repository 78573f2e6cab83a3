package client_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// recorder collects events from a listener.
type recorder[T any] struct {
	mu     sync.Mutex
	events []T
}

func (r *recorder[T]) add(ev T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *recorder[T]) get() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

func (r *recorder[T]) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

const pollInterval = 10 * time.Millisecond

// armChangePoll makes sure the cache's change poll has taken its baseline:
// it rewrites the "beta" segment until a change of segment-flag (which
// depends on it) is reported, and returns the next free segment version.
func armChangePoll(t *testing.T, e *env, keys *recorder[client.FlagChangeEvent]) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for v := 2; ; v++ {
		e.upsert(store.Segments, fmt.Sprintf(`{"key":"beta","version":%d,"included":["beta-user"],"salt":"s"}`, v))
		until := time.Now().Add(5 * pollInterval)
		for time.Now().Before(until) {
			for _, ev := range keys.get() {
				if ev.Key == "segment-flag" {
					keys.reset()
					return v + 1
				}
			}
			time.Sleep(time.Millisecond)
		}
		if time.Now().After(deadline) {
			t.Fatal("the change poll never reported a change")
		}
	}
}

func keysOf(evs []client.FlagChangeEvent) []string {
	var ks []string
	for _, ev := range evs {
		ks = append(ks, ev.Key)
	}
	slices.Sort(ks)
	return slices.Compact(ks)
}

func TestFlagChangeListener(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{Cache: cache.Options{TTL: time.Hour, ChangePollInterval: pollInterval}})
	var rec recorder[client.FlagChangeEvent]
	remove := c.AddFlagChangeListener(rec.add)
	segVersion := armChangePoll(t, e, &rec)

	t.Run("direct change reports the flag and its dependents", func(t *testing.T) {
		rec.reset()
		e.upsert(store.Features, `{"key":"bool-flag","version":2,"on":false,"variations":[false,true],"offVariation":0,"fallthrough":{"variation":1}}`)
		eventually(t, "bool-flag and prereq-flag", func() bool {
			return slices.Equal(keysOf(rec.get()), []string{"bool-flag", "prereq-flag"})
		})
		// The listener is told after the cache serves the new version.
		if v, _ := c.BoolVariation("bool-flag", evalctx.New("u"), true); v {
			t.Error("bool-flag still served its old value after the change event")
		}
	})
	t.Run("segment change reports flags using the segment", func(t *testing.T) {
		rec.reset()
		e.upsert(store.Segments, fmt.Sprintf(`{"key":"beta","version":%d,"included":["someone-else"],"salt":"s"}`, segVersion))
		eventually(t, "segment-flag", func() bool { return slices.Equal(keysOf(rec.get()), []string{"segment-flag"}) })
	})
	t.Run("new and deleted flags", func(t *testing.T) {
		rec.reset()
		e.upsert(store.Features, `{"key":"brand-new","version":1,"on":true,"variations":[1],"fallthrough":{"variation":0}}`)
		eventually(t, "brand-new", func() bool { return slices.Contains(keysOf(rec.get()), "brand-new") })
		rec.reset()
		_, err := e.writer.Upsert(bg, store.Features, "brand-new", store.Tombstone("brand-new", 2))
		if err != nil {
			t.Fatal(err)
		}
		eventually(t, "brand-new deleted", func() bool { return slices.Contains(keysOf(rec.get()), "brand-new") })
		if _, err := c.IntVariation("brand-new", evalctx.New("u"), 0); err == nil {
			t.Error("deleted flag still evaluates")
		}
	})
	t.Run("removed listener hears nothing", func(t *testing.T) {
		remove()
		rec.reset()
		// A listener registered later hears the change; listeners are
		// called one at a time, in order, so once it has, the removed one
		// would have been called already.
		var witness recorder[client.FlagChangeEvent]
		defer c.AddFlagChangeListener(witness.add)()
		for v := 9; !slices.Contains(keysOf(witness.get()), "string-flag"); v++ {
			e.upsert(store.Features, fmt.Sprintf(`{"key":"string-flag","version":%d,"on":true,"variations":["a","b"],"fallthrough":{"variation":1}}`, v))
			eventually(t, "a poll", func() bool { return len(witness.get()) > 0 || v == 9 })
		}
		if evs := rec.get(); len(evs) != 0 {
			t.Errorf("events after remove: %v", evs)
		}
	})
}

func TestFlagValueChangeListener(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{Cache: cache.Options{TTL: time.Hour, ChangePollInterval: pollInterval}})
	var keys recorder[client.FlagChangeEvent]
	c.AddFlagChangeListener(keys.add)
	var betaUser, other, prereq recorder[client.FlagValueChangeEvent]
	c.AddFlagValueChangeListener("segment-flag", evalctx.New("beta-user"), jsonvalue.String("default"), betaUser.add)
	c.AddFlagValueChangeListener("segment-flag", evalctx.New("other-user"), jsonvalue.String("default"), other.add)
	c.AddFlagValueChangeListener("prereq-flag", evalctx.New("u"), jsonvalue.String("default"), prereq.add)
	segVersion := armChangePoll(t, e, &keys)
	if evs := betaUser.get(); len(evs) != 0 {
		t.Fatalf("value events for an unchanged value: %v", evs)
	}

	// beta-user leaves the segment: segment-flag goes true -> false for
	// beta-user only.
	e.upsert(store.Segments, fmt.Sprintf(`{"key":"beta","version":%d,"included":[],"salt":"s"}`, segVersion))
	eventually(t, "beta-user's value change", func() bool { return len(betaUser.get()) == 1 })
	ev := betaUser.get()[0]
	if ev.Key != "segment-flag" || !ev.OldValue.Equal(jsonvalue.Bool(true)) || !ev.NewValue.Equal(jsonvalue.Bool(false)) {
		t.Errorf("event = %+v", ev)
	}

	// bool-flag (a prerequisite of prereq-flag) turns off: prereq-flag
	// fails its prerequisite and serves "off".
	e.upsert(store.Features, `{"key":"bool-flag","version":2,"on":false,"variations":[false,true],"offVariation":0,"fallthrough":{"variation":1}}`)
	eventually(t, "prereq-flag value change", func() bool { return len(prereq.get()) == 1 })
	if ev := prereq.get()[0]; !ev.OldValue.Equal(jsonvalue.String("on")) || !ev.NewValue.Equal(jsonvalue.String("off")) {
		t.Errorf("event = %+v", ev)
	}

	// Deleting the flag: the value becomes the listener's default.
	if _, err := e.writer.Upsert(bg, store.Features, "prereq-flag", store.Tombstone("prereq-flag", 5)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "prereq-flag deleted", func() bool { return len(prereq.get()) == 2 })
	if ev := prereq.get()[1]; !ev.OldValue.Equal(jsonvalue.String("off")) || !ev.NewValue.Equal(jsonvalue.String("default")) {
		t.Errorf("event = %+v", ev)
	}
	// other-user's listener was registered before prereq-flag's, and
	// listeners are called one at a time, in order: it has been called for
	// every change prereq-flag's listener heard.
	if evs := other.get(); len(evs) != 0 {
		t.Errorf("other-user's value never changed, yet: %v", evs)
	}
}
