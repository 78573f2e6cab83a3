package client_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores"
)

// One stored item that is not JSON at all concerns its key only, on every
// backend and on every path that reads all items: AllFlagsState is valid,
// lists every other flag and that key as MALFORMED_FLAG, the store status
// stays Available, and change listeners keep working.
func TestOneMalformedItemConcernsOneKey(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := context.Background()
		s, err := stores.Open(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var items []store.KeyedItem
		for _, f := range testFlags {
			k, it := item(t, f)
			items = append(items, store.KeyedItem{Key: k, Item: it})
		}
		if err := s.Init(ctx, []store.Collection{{Kind: store.Segments}, {Kind: store.Features, Items: items}}); err != nil {
			t.Fatal(err)
		}
		// As `redis-cli hset launchdarkly:features f1 'not json'` would.
		if _, err := s.Upsert(ctx, store.Features, "f1", store.Item{Version: 1, Data: []byte("not json")}); err != nil {
			t.Fatal(err)
		}
		c := newClientOn(t, s, client.Config{Cache: cache.Options{TTL: time.Hour, ChangePollInterval: 20 * time.Millisecond}})
		ec := evalctx.New("user")

		var mu sync.Mutex
		var changed []string
		defer c.AddFlagChangeListener(func(ev client.FlagChangeEvent) {
			mu.Lock()
			changed = append(changed, ev.Key)
			mu.Unlock()
		})()

		all := c.AllFlagsState(ctx, ec, client.AllFlagsOptions{WithReasons: true})
		if !all.Valid() {
			t.Fatalf("AllFlagsState invalid: %v", all.Err())
		}
		if got, want := len(all.Keys()), len(testFlags)+1; got != want {
			t.Errorf("AllFlagsState lists %d flags, want %d: %v", got, want, all.Keys())
		}
		if st, ok := all.Flag("f1"); !ok || st.Reason.ErrorKind != evaluation.ErrorMalformedFlag || st.VariationIndex != -1 {
			t.Errorf("f1 in AllFlagsState: %+v, %v", st, ok)
		}
		if all.Value("string-flag").Str() != "a" {
			t.Errorf("string-flag = %v", all.Value("string-flag"))
		}
		// The same without a cache (every item read and decoded per call).
		off := newClientOn(t, s, client.Config{Cache: cache.Options{Mode: cache.ModeOff}})
		offAll := off.AllFlagsState(ctx, ec, client.AllFlagsOptions{WithReasons: true})
		if js, want := mustJSON(t, offAll), mustJSON(t, all); !offAll.Valid() || js != want {
			t.Errorf("ModeOff AllFlagsState = %s (valid %v); cached: %s", js, offAll.Valid(), want)
		}
		_, d, err := c.BoolVariationDetail("f1", ec, false)
		if d.Reason.ErrorKind != evaluation.ErrorMalformedFlag || !errors.Is(err, client.ErrMalformedFlag) {
			t.Errorf("f1: %+v, %v", d.Reason, err)
		}
		if v, err := c.StringVariation("string-flag", ec, "d"); v != "a" || err != nil {
			t.Errorf("string-flag: %q, %v", v, err)
		}
		if st := c.DataStoreStatus(); st.State != cache.Available {
			t.Errorf("status %v, want available", st)
		}
		// The listener's first poll is its baseline: write new versions
		// until one is reported.
		version := 1
		eventually(t, "the change listener", func() bool {
			mu.Lock()
			seen := slices.Contains(changed, "string-flag")
			mu.Unlock()
			if !seen {
				version++
				k, it := item(t, strings.Replace(testFlags[3], `"version":1`, `"version":`+strconv.Itoa(version), 1))
				if applied, err := s.Upsert(ctx, store.Features, k, it); err != nil || !applied {
					t.Fatalf("upsert: %v, %v", applied, err)
				}
			}
			return seen
		})
		if st := c.DataStoreStatus(); st.State != cache.Available {
			t.Errorf("status after polls %v, want available", st)
		}
	})
}

// newClientOn creates a client on s, closed at the end of the test.
func newClientOn(t *testing.T, s store.Reader, cfg client.Config) *client.Client {
	t.Helper()
	cfg.Store = s
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// mustJSON is the JSON of an all-flags state.
func mustJSON(t *testing.T, a client.AllFlags) string {
	t.Helper()
	js, err := a.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return string(js)
}
