package main

import (
	"fmt"
	"testing"
	"time"
)

// The harness's persistent-store tests with a data source: the service's
// relay and its client share one store object, so the store's notifications
// carry the relay's updates to the client at once whatever the cache mode,
// while changes made directly in the database stay unseen until the TTL
// (or for ever with the infinite cache).
func TestRelayedPersistentStoreWithCache(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) rawStore
	}{
		{"redis", func(t *testing.T) rawStore { return newRedisRaw(t) }},
		{"dynamodb", func(t *testing.T) rawStore { return newDynamoRaw(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, cacheCfg := range []map[string]any{{"mode": "infinite"}, {"mode": "ttl", "ttl": 1}} {
				t.Run(fmt.Sprint(cacheCfg["mode"]), func(t *testing.T) {
					relayedCacheTests(t, b.open, cacheCfg)
				})
			}
		})
	}
}

func relayedCacheTests(t *testing.T, open func(t *testing.T) rawStore, cacheCfg map[string]any) {
	valueOf := func(h *harness, c, key string) string {
		v, _ := h.evaluate(c, key, "any", "default", false).Get("value")
		return v.Str()
	}
	newClient := func(h *harness, raw rawStore, s *streamer) string {
		return h.create(map[string]any{"credential": testKey, "streaming": map[string]any{"baseUri": s.URL},
			"persistentDataStore": map[string]any{"store": raw.config(), "cache": cacheCfg}})
	}
	// within fails unless cond holds within d (the harness's limits).
	within := func(t *testing.T, what string, d time.Duration, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(d); !cond(); {
			if time.Now().After(end) {
				t.Fatalf("%s: not within %v", what, d)
			}
		}
	}
	never := func(t *testing.T, what string, d time.Duration, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); {
			if cond() {
				t.Fatalf("%s happened", what)
			}
		}
	}
	flag := func(version int, value string) string {
		return fmt.Sprintf(`{"key":"flag-key","version":%d,"on":true,"variations":[%q,"other"],"offVariation":1,"fallthrough":{"variation":0},"salt":"s"}`, version, value)
	}

	t.Run("sdk reflects data source updates even with cache", func(t *testing.T) {
		h, raw, s := newHarness(t), open(t), newStreamer(t)
		s.setFlag("flag-key", flag(1, "value"))
		c := newClient(h, raw, s)
		within(t, "the first value", time.Second, func() bool { return valueOf(h, c, "flag-key") == "value" })
		s.push("patch", `{"path":"/flags/flag-key","data":`+flag(2, "new-value")+`}`)
		within(t, "the update", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "new-value" })
	})

	t.Run("does not cache flag miss", func(t *testing.T) {
		h, raw, s := newHarness(t), open(t), newStreamer(t)
		c := newClient(h, raw, s)
		if got := valueOf(h, c, "flag-key"); got != "default" {
			t.Fatalf("value %q", got)
		}
		s.push("patch", `{"path":"/flags/flag-key","data":`+flag(2, "new-value")+`}`)
		within(t, "the new flag", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "new-value" })
	})

	t.Run("ignores direct database modifications", func(t *testing.T) {
		h, raw, s := newHarness(t), open(t), newStreamer(t)
		s.setFlag("flag-key", flag(1, "value"))
		c := newClient(h, raw, s)
		within(t, "the first value", time.Second, func() bool { return valueOf(h, c, "flag-key") == "value" })
		raw.write(t, "flag-key", persistFlag)
		raw.write(t, "uncached-flag-key", persistOtherFlag)
		if cacheCfg["mode"] == "infinite" {
			never(t, "the direct edit showing", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") != "value" })
			within(t, "the uncached flag", 500*time.Millisecond, func() bool { return valueOf(h, c, "uncached-flag-key") == "fallthrough" })
			return
		}
		never(t, "the direct edit showing before half the TTL", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") != "value" })
		within(t, "the direct edit after the TTL", time.Second, func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
	})

	t.Run("ignores dropped flags", func(t *testing.T) {
		h, raw, s := newHarness(t), open(t), newStreamer(t)
		s.setFlag("flag-key", flag(1, "value"))
		c := newClient(h, raw, s)
		within(t, "the first value", time.Second, func() bool { return valueOf(h, c, "flag-key") == "value" })
		raw.reset(t)
		never(t, "the flag going", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") != "value" })
	})
}
