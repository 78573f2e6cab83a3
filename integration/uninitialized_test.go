package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Scenario 4: a client starts against an empty store. It reports "not
// initialized" clearly and serves defaults with FLAG_NOT_FOUND; when the
// writer writes, it serves the flags, without a restart.
//
// Scenario 5: a client reads the right store under a wrong prefix. Its
// status and its log say the store is not initialized at that prefix, and
// so do `daemonflag inspect` and `daemonflag eval`.

const uninitTTL = 300 * time.Millisecond

func TestEmptyStore(t *testing.T) {
	var delays []time.Duration
	forEachBackend(t, func(t *testing.T, b backend) {
		addr := b.address(t)
		if b.name == "bolt" {
			// An empty bbolt store is a file no writer has initialized: a
			// reader of a file that does not exist reports that instead
			// (bolt.ErrNotExist, tested in stores/bolt).
			s := openStore(t, addr, false)
			if _, err := s.Upsert(context.Background(), store.Segments, "placeholder", store.Item{Version: 1, Deleted: true, Data: []byte(`{"key":"placeholder","version":1,"deleted":true}`)}); err != nil {
				t.Fatal(err)
			}
		}
		var clients []*clientProc
		for i := 1; i <= 2; i++ {
			clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
				store: addr, flags: scenarioFlags, contexts: clientContexts, ttl: uninitTTL,
			}))
		}
		allNotFound := func(v view) bool {
			for _, f := range scenarioFlags {
				for _, ctx := range clientContexts {
					if o, ok := v.obs(f, ctx); !ok || !isNotFound(o) {
						return false
					}
				}
			}
			return v.status().State == "not initialized"
		}
		for _, c := range clients {
			c.waitUntil(30*time.Second, "status not initialized and FLAG_NOT_FOUND everywhere", allNotFound)
			if lines := c.log.lines("not initialized"); len(lines) == 0 {
				t.Errorf("%s: no log line says the store is not initialized; log:\n%s", c.name, c.log.tail(20))
			}
		}
		// Keep serving defaults for a few TTLs: the not-found answers are
		// cached for one TTL each and then read again.
		time.Sleep(3 * uninitTTL)

		files := dataDir(t, 1, nil)
		writeOnce(t, addr, files...)
		written := time.Now()
		for _, c := range clients {
			c.waitUntil(30*time.Second, "status available and generation 1 everywhere", func(v view) bool {
				return v.status().State == "available" && allAt(1)(v)
			})
		}
		for _, c := range clients {
			events := c.finish()
			var last time.Time
			for _, f := range scenarioFlags {
				for _, ctx := range clientContexts {
					if seen, ok := firstObsAfter(events, f, ctx, written.Add(-time.Minute), isGen(f, 1)); ok && seen.After(last) {
						last = seen
					}
				}
			}
			delays = append(delays, last.Sub(written))
			seenData := map[pairKey]bool{}
			for _, r := range runs(events) {
				switch {
				case isGen(r.flag, 1)(r.obs):
					seenData[r.pairKey] = true
				case isNotFound(r.obs) && !seenData[r.pairKey]:
				default:
					t.Errorf("%s: %s/%s served %s, %d times: want FLAG_NOT_FOUND before the write and generation 1 after",
						c.name, r.flag, r.ctx, r.obs, r.count)
				}
			}
			s := statusSequence(events)
			switch {
			case strings.HasSuffix(s, "not initialized > available"):
			case strings.HasPrefix(addr, "dynamodb:") && strings.HasSuffix(s, "not initialized > unavailable > available") &&
				len(c.log.lines("init in progress")) > 0:
				// DynamoDB cannot write a dataset atomically, so the writer's
				// Init is visible while it runs (store.ErrInitInProgress) to
				// a client that checks the store at that moment.
			default:
				t.Errorf("%s: status sequence %q; want it to end with not initialized > available (on DynamoDB, possibly with the writer's init in progress between)", c.name, s)
			}
		}
	})
	t.Logf("integration: empty store: write finished -> client serves every flag: %s", distribution(delays))
}

func TestWrongPrefix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		addr := b.address(t)
		writeOnce(t, addr, dataDir(t, 1, nil)...)
		wrong := prefixOf(t, addr) + "-wrong"
		if strings.HasPrefix(wrong, "{") { // keep the Redis Cluster hash tag
			wrong = strings.TrimSuffix(strings.TrimSuffix(wrong, "-wrong"), "}") + "-wrong}"
		}
		wrongAddr := withPrefix(addr, wrong)
		if got := prefixOf(t, wrongAddr); got != wrong {
			t.Fatalf("prefix of %s is %q, want %q", wrongAddr, got, wrong)
		}

		c := startClient(t, "client", clientArgs{store: wrongAddr, flags: scenarioFlags, contexts: clientContexts, ttl: uninitTTL})
		c.waitUntil(30*time.Second, "status not initialized and FLAG_NOT_FOUND", func(v view) bool {
			o, ok := v.obs(flagMain, clientContexts[0])
			return ok && isNotFound(o) && v.status().State == "not initialized"
		})
		// The client's log line: the cache says the store is not initialized
		// and that a wrong prefix is a cause; the line carries the store
		// address (with the prefix) that the service put on its logger.
		lines := c.log.lines("not initialized", "wrong prefix")
		if len(lines) == 0 {
			t.Errorf("no log line says the store is not initialized and mentions a wrong prefix; log:\n%s", c.log.tail(20))
		} else if !strings.Contains(lines[0], wrong) {
			t.Errorf("the log line does not name the prefix %q: %s", wrong, lines[0])
		} else {
			t.Logf("client log: %s", lines[0])
		}
		c.finish()

		// The command-line tools say the same; inspect is a health check, so
		// a store that is not initialized makes it exit 1.
		r := runCommand(t, time.Minute, childEnv(), daemonflagBin(t), "inspect", "--store", wrongAddr, "--json")
		if r.err == nil || !strings.Contains(r.stderr, "not initialized") {
			t.Errorf("inspect at the wrong prefix: err=%v stderr=%q; want exit status 1 saying not initialized", r.err, r.stderr)
		}
		var info struct {
			Prefix      string `json:"prefix"`
			Initialized bool   `json:"initialized"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
			t.Fatalf("inspect --json: %v: %s", err, r.stdout)
		}
		if info.Initialized || info.Prefix != wrong {
			t.Errorf("inspect --json: %s; want initialized false at prefix %q", strings.TrimSpace(r.stdout), wrong)
		}
		r = runCommand(t, time.Minute, childEnv(), daemonflagBin(t), "eval", "--store", wrongAddr,
			"--context", `{"kind":"user","key":"ctx-a"}`, "--flag", flagMain)
		if r.err == nil || !strings.Contains(r.stderr, "not initialized") || !strings.Contains(r.stderr, wrong) {
			t.Errorf("eval at the wrong prefix: err=%v stderr=%q; want a failure naming the prefix and saying not initialized", r.err, r.stderr)
		} else {
			t.Logf("eval: %s", strings.TrimSpace(r.stderr))
		}
		// And at the right prefix, the store is fine.
		r = mustRun(t, time.Minute, childEnv(), daemonflagBin(t), "eval", "--store", addr,
			"--context", `{"kind":"user","key":"ctx-a"}`, "--flag", flagMain)
		if !strings.Contains(r.stdout, `"v1"`) {
			t.Errorf("eval at the right prefix: %s", r.stdout)
		}
	})
}
