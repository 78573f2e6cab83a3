package cache

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// unparsedGetterStore is a memStore that implements store.UnparsedGetter
// (and not store.UnparsedReader).
type unparsedGetterStore struct {
	*memStore
	calls *atomic.Int64
}

func (u unparsedGetterStore) GetUnparsed(ctx context.Context, kind store.Kind, key string) ([]byte, bool, error) {
	u.calls.Add(1)
	it, found, err := u.Get(ctx, kind, key)
	return it.Data, found, err
}

// A miss read through store.UnparsedGetter (the item's JSON read once,
// while decoding) answers what a miss read through Get does, for a live
// item, a tombstone, an item whose JSON is malformed, one the decoder
// refuses and a key the store lacks; an item that turns malformed keeps its
// last good value; an unchanged item is not decoded again; a removed one
// is gone. Every read goes through GetUnparsed and is counted as a get.
func TestMissUnparsed(t *testing.T) {
	type answer struct {
		value     string
		err       bool
		malformed bool
	}
	keys := []string{"live", "tomb", "notjson", "bad", "missing"}
	run := func(t *testing.T, unparsed bool) (map[string][3]answer, int64, int64, uint64) {
		got := map[string][3]answer{}
		var calls atomic.Int64
		var decodes int64
		var gets uint64
		synctest.Test(t, func(t *testing.T) {
			m := newMemStore()
			badData := []byte(`{"key":"bad","version":1,"bad":true}`)
			if err := m.Init(bg, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{
				keyed("live", item("live", 1, "one")),
				keyed("tomb", store.Tombstone("tomb", 2)),
				keyed("notjson", store.Item{Version: 1, Data: []byte(`{"version":`)}),
				keyed("bad", store.Item{Version: 1, Data: badData}),
			}}}); err != nil {
				t.Fatal(err)
			}
			var r store.Reader = m
			if unparsed {
				r = unparsedGetterStore{m, &calls}
			}
			const ttl = time.Second
			x := newMemCache(t, r, Options{TTL: ttl, Jitter: -1, ProbeInterval: time.Hour})
			look := func(round int) {
				for _, key := range keys {
					it, err := x.flags.get(bg, key)
					a := answer{value: "<nil>", err: err != nil, malformed: errors.Is(err, store.ErrMalformedItem)}
					if it != nil {
						a.value = it.Value
					}
					v := got[key]
					v[round] = a
					got[key] = v
				}
			}
			look(0)
			// Change nothing but wait a TTL: nothing is decoded again.
			before := x.tc.decodes.Load()
			time.Sleep(ttl + time.Millisecond)
			look(0)
			if d := x.tc.decodes.Load() - before; d != 2 {
				// The two items the decoder refuses are decoded again
				// (nothing good to reuse); the live one and the tombstone
				// are not.
				t.Errorf("unchanged items read again: %d decodes, want 2", d)
			}
			// live turns malformed, tomb comes back, missing appears.
			m.edit(store.Features, "live", &store.Item{Version: 2, Data: []byte(`{"key":"live","version":2,"value":`)})
			m.edit(store.Features, "tomb", itemPtr(item("tomb", 3, "back")))
			m.edit(store.Features, "missing", itemPtr(item("missing", 1, "new")))
			time.Sleep(ttl + time.Millisecond)
			look(1)
			// live is removed.
			m.edit(store.Features, "live", nil)
			time.Sleep(ttl + time.Millisecond)
			look(2)
			decodes = x.tc.decodes.Load()
			gets = x.c.stats.reads[opGet].count.Load()
		})
		return got, calls.Load(), decodes, gets
	}
	parsed, _, parsedDecodes, parsedGets := run(t, false)
	unparsed, calls, unparsedDecodes, unparsedGets := run(t, true)
	for _, key := range keys {
		if parsed[key] != unparsed[key] {
			t.Errorf("%s: unparsed %+v, parsed %+v", key, unparsed[key], parsed[key])
		}
	}
	if want := [3]answer{{value: "one"}, {value: "one"}, {value: "<nil>"}}; parsed["live"] != want {
		t.Errorf("live: %+v, want %+v (its last good value while malformed, then gone)", parsed["live"], want)
	}
	if want := [3]answer{{value: "<nil>"}, {value: "back"}, {value: "back"}}; parsed["tomb"] != want {
		t.Errorf("tomb: %+v, want %+v", parsed["tomb"], want)
	}
	for _, key := range []string{"notjson", "bad"} {
		if a := parsed[key][0]; !a.err || !a.malformed {
			t.Errorf("%s: %+v, want a malformed-item error", key, a)
		}
	}
	if calls == 0 || uint64(calls) != unparsedGets || unparsedGets != parsedGets {
		t.Errorf("GetUnparsed called %d times, %d gets counted (parsed: %d): want every get through it", calls, unparsedGets, parsedGets)
	}
	// Read unparsed, a tombstone is decoded (its deletion is in its JSON);
	// parsed, it is not: at most one decode more per read of it.
	if unparsedDecodes < parsedDecodes || unparsedDecodes > parsedDecodes+2 {
		t.Errorf("decodes: unparsed %d, parsed %d", unparsedDecodes, parsedDecodes)
	}
}

// unparsedWrap is a wrapStore whose reads return the items' JSON only, as
// the Redis store's do (store.UnparsedGetter, store.UnparsedReader).
type unparsedWrap struct{ *wrapStore }

func (u unparsedWrap) GetUnparsed(ctx context.Context, kind store.Kind, key string) ([]byte, bool, error) {
	it, found, err := u.Get(ctx, kind, key)
	return it.Data, found, err
}

func (u unparsedWrap) GetAllUnparsed(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	items, err := u.GetAll(ctx, kind)
	for i := range items {
		items[i].Item = store.Item{Data: items[i].Item.Data}
	}
	return items, err
}

// asRead runs f twice: reader gives the cache's store for a wrapStore,
// read as it returns items (parsed), then as the items' JSON only
// (unparsed), so that a test of what the cache does with the items it
// reads covers both ways of reading them.
func asRead(t *testing.T, f func(t *testing.T, reader func(w *wrapStore) store.Reader)) {
	t.Run("parsed", func(t *testing.T) { f(t, func(w *wrapStore) store.Reader { return w }) })
	t.Run("unparsed", func(t *testing.T) { f(t, func(w *wrapStore) store.Reader { return unparsedWrap{w} }) })
}
