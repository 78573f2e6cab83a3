package integration

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scenario 2: the store goes away under load (a Redis server stopped, the
// Redis Cluster master that serves the dataset's slot stopped, dynalite
// stopped, the bbolt file replaced by garbage). Clients keep answering
// with their last good values and report the store unavailable; meanwhile
// the flag file is edited; when the store comes back the clients recover
// without a restart and pick up the edit.
//
// The servers here are the test's own (servers_test.go), never the shared
// ones. Redis and the cluster node come back empty (no persistence, as the
// shared servers run), so the writer, which failed to write the edit, must
// initialize the store again; dynalite keeps its data on disk and comes
// back with it.

const (
	outageTTL      = 300 * time.Millisecond
	outageLength   = 2 * time.Second // from the clients noticing to the store's return
	outageDeadline = 30 * time.Second
)

// outageTarget is a store the test can take away and bring back.
type outageTarget struct {
	addr string
	down func(t testing.TB)
	up   func(t testing.TB)
}

// outageFigures are the reliability figures of one backend's outage.
type outageFigures struct {
	backend                 string
	attempted, failed       int64
	wrong                   int64
	notice, recover, pickup []time.Duration
}

func TestStoreOutage(t *testing.T) {
	targets := []struct {
		name  string
		setup func(t *testing.T) outageTarget
	}{
		{"bolt", boltOutage},
		{"redis", redisOutage},
		{"redis-cluster", redisClusterOutage},
		{"dynamodb", dynamoOutage},
	}
	var mu sync.Mutex
	var figures []outageFigures
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) {
			f := storeOutage(t, tc.name, tc.setup(t))
			mu.Lock()
			figures = append(figures, f)
			mu.Unlock()
		})
	}
	var attempted, failed, wrong int64
	var notice, recovery []time.Duration
	for _, f := range figures {
		attempted += f.attempted
		failed += f.failed
		wrong += f.wrong
		notice = append(notice, f.notice...)
		recovery = append(recovery, f.recover...)
	}
	t.Logf("integration: outage, all backends: evaluations attempted=%d failed=%d wrong=%d; notice: %s; recovery: %s",
		attempted, failed, wrong, distribution(notice), distribution(recovery))
}

func storeOutage(t *testing.T, name string, target outageTarget) outageFigures {
	fig := outageFigures{backend: name}
	files := dataDir(t, 1, nil)
	startSync(t, "writer", target.addr, files)
	st := openStore(t, target.addr, true)
	waitInitialized(t, st, 30*time.Second)

	var clients []*clientProc
	for i := 1; i <= 3; i++ {
		clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
			store: target.addr, flags: scenarioFlags, contexts: clientContexts, ttl: outageTTL,
		}))
	}
	for _, c := range clients {
		c.waitUntil(outageDeadline, "generation 1 everywhere", allAtDeps(1, 1))
	}
	time.Sleep(500 * time.Millisecond) // under load before the outage

	downAt := time.Now()
	target.down(t)
	for _, c := range clients {
		c.waitUntil(outageDeadline, "status unavailable", func(v view) bool { return v.status().State == "unavailable" })
		fig.notice = append(fig.notice, statusTime(c, "unavailable", downAt).Sub(downAt))
	}
	// The edit made while the store is away. Every item keeps its key
	// (generationDeps), so that this scenario counts values served from the
	// last good data, and mixes of generations (scenario 1) do not blur it.
	writeJSONFile(t, files[0], generationDeps(2, 1, nil))
	time.Sleep(outageLength)
	for _, c := range clients {
		c.mu.Lock()
		ok := allAtDeps(1, 1)(view{c}) && c.status.State == "unavailable"
		c.mu.Unlock()
		if !ok {
			t.Errorf("%s: during the outage: want generation 1 and status unavailable, have %s", c.name, c.describe())
		}
	}

	upAt := time.Now()
	target.up(t)
	for _, c := range clients {
		c.waitUntil(outageDeadline, "status available and generation 2 everywhere", func(v view) bool {
			return v.status().State == "available" && allAtDeps(2, 1)(v)
		})
		fig.recover = append(fig.recover, statusTime(c, "available", upAt).Sub(upAt))
		c.mu.Lock()
		events := append([]event(nil), c.events...)
		c.mu.Unlock()
		var last time.Time
		for _, f := range []string{flagMain, flagColor} {
			for _, ctx := range clientContexts {
				if seen, ok := firstObsAfter(events, f, ctx, upAt, isGenDeps(f, 2, 1)); ok && seen.After(last) {
					last = seen
				}
			}
		}
		fig.pickup = append(fig.pickup, last.Sub(upAt))
	}
	time.Sleep(2 * outageTTL)

	for _, c := range clients {
		events := c.finish()
		evals, errs := totals(events)
		fig.attempted += evals
		fig.failed += errs
		for _, r := range runs(events) {
			if !isGenDeps(r.flag, 1, 1)(r.obs) && !isGenDeps(r.flag, 2, 1)(r.obs) {
				fig.wrong += r.count
				t.Errorf("%s: %s/%s served %s, %d times from %s: neither the old nor the new value",
					c.name, r.flag, r.ctx, r.obs, r.count, r.first.Format("15:04:05.000"))
			}
		}
		if states := statusSequence(events); !strings.Contains(states, "available > unavailable") {
			t.Errorf("%s: status sequence %q never went from available to unavailable", c.name, states)
		}
	}
	if fig.failed != 0 {
		t.Errorf("%d evaluations failed (returned an error); want 0", fig.failed)
	}
	t.Logf("integration: outage %s: evaluations attempted=%d failed=%d wrong=%d; store down -> clients unavailable: %s; "+
		"store back -> clients available: %s; store back -> edit served: %s",
		name, fig.attempted, fig.failed, fig.wrong, distribution(fig.notice), distribution(fig.recover), distribution(fig.pickup))
	return fig
}

// allAtDeps is allAt for generationDeps(g, deps).
func allAtDeps(g, deps int) func(v view) bool {
	return func(v view) bool {
		for _, f := range scenarioFlags {
			for _, ctx := range clientContexts {
				o, ok := v.obs(f, ctx)
				if !ok || !isGenDeps(f, g, deps)(o) {
					return false
				}
			}
		}
		return true
	}
}

// statusTime returns when the client first reported state at or after t0.
func statusTime(c *clientProc, state string, t0 time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.events {
		if e.Type == "status" && e.State == state && !e.at().Before(t0) {
			return e.at()
		}
	}
	return t0
}

// statusSequence lists the states a client reported, without repeats.
func statusSequence(events []event) string {
	var states []string
	for _, e := range events {
		if e.Type == "status" && (len(states) == 0 || states[len(states)-1] != e.State) {
			states = append(states, e.State)
		}
	}
	return strings.Join(states, " > ")
}

// boltOutage replaces the live bbolt file with garbage; it comes back when
// the file and its siblings are removed, as the bolt package documents for
// a damaged file, and the writer initializes a new one.
func boltOutage(t *testing.T) outageTarget {
	addr := "bolt:" + filepath.Join(t.TempDir(), "flags.db")
	path := strings.TrimPrefix(addr, "bolt:")
	return outageTarget{
		addr: addr,
		down: func(t testing.TB) {
			garbage := make([]byte, 64<<10)
			_, _ = rand.Read(garbage)
			writeFileAtomic(t, path, garbage)
		},
		up: func(t testing.TB) {
			matches, _ := filepath.Glob(path + ".*")
			for _, p := range append(matches, path) {
				if strings.HasSuffix(p, ".lock") {
					continue
				}
				if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
		},
	}
}

func redisOutage(t *testing.T) outageTarget {
	s := ownRedis(t, "redis")
	return outageTarget{
		addr: redisAddress(s),
		down: func(testing.TB) { s.stopServer() },
		up:   func(testing.TB) { s.start() },
	}
}

// redisClusterOutage stops the master that serves the dataset's hash slot.
func redisClusterOutage(t *testing.T) outageTarget {
	nodes := ownRedisCluster(t)
	tag := "{integ-" + tokenForTest() + "}"
	owner := slotOwner(t, nodes, tag)
	return outageTarget{
		addr: redisClusterAddress(nodes, tag),
		down: func(testing.TB) { owner.stopServer() },
		up: func(t testing.TB) {
			owner.start()
			if !waitFor(20*time.Second, 100*time.Millisecond, func() bool { return clusterOK(nodes) }) {
				t.Fatal("the cluster did not become healthy again")
			}
		},
	}
}

func dynamoOutage(t *testing.T) outageTarget {
	s := ownDynalite(t)
	return outageTarget{
		addr: dynamoAddress(s),
		down: func(testing.TB) { s.stopServer() },
		up:   func(testing.TB) { s.start() },
	}
}
