package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Scenario 6: big segments. A writer imports memberships while clients
// evaluate; the change shows once the membership cache TTL has passed. A
// synchronized-on time older than the clients' stale threshold shows as
// STALE in the reasons (the data is still used); touching it makes it
// HEALTHY again.

const (
	bigTTL     = 300 * time.Millisecond // flag cache
	bigCache   = 400 * time.Millisecond // membership cache TTL
	bigPoll    = 100 * time.Millisecond // synchronized-on poll
	bigSegment = "big"
	flagBig    = "big-flag"
)

// bigSegmentFile is a flag data file with an unbounded segment and a flag
// whose rule matches it.
func bigSegmentFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "big.json")
	writeJSONFile(t, path, map[string]any{
		"segments": map[string]any{
			bigSegment: map[string]any{"key": bigSegment, "unbounded": true, "generation": 1, "salt": bigSegment},
		},
		"flags": map[string]any{
			flagBig: map[string]any{
				"key": flagBig, "on": true, "salt": flagBig,
				"variations":   []any{"not-member", "member"},
				"offVariation": 0,
				"fallthrough":  map[string]any{"variation": 0},
				"rules": []any{map[string]any{
					"id": "in-big", "variation": 1,
					"clauses": []any{map[string]any{"attribute": "key", "op": "segmentMatch", "values": []any{bigSegment}}},
				}},
			},
		},
	})
	return path
}

// isMember and isNotMember match big-flag's results with a big-segment
// status.
func isMember(status string) func(observation) bool {
	return func(o observation) bool {
		return o.Err == "" && o.Value == `"member"` && o.Reason.Kind == "RULE_MATCH" && o.Reason.BigSegmentsStatus == status
	}
}

func isNotMember(status string) func(observation) bool {
	return func(o observation) bool {
		return o.Err == "" && o.Value == `"not-member"` && o.Reason.Kind == "FALLTHROUGH" && o.Reason.BigSegmentsStatus == status
	}
}

// keyFile writes context keys, one per line.
func keyFile(t testing.TB, keys ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys.txt")
	data := ""
	for _, k := range keys {
		data += k + "\n"
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBigSegments(t *testing.T) {
	var delays []time.Duration
	forEachBackend(t, func(t *testing.T, b backend) {
		delays = append(delays, bigSegments(t, b)...)
	})
	t.Logf("integration: big segments, all backends: import finished -> clients see the new membership: %s (membership cache TTL %v)",
		distribution(delays), bigCache)
}

func bigSegments(t *testing.T, b backend) []time.Duration {
	addr := b.address(t)
	cli := daemonflagBin(t)
	a, bCtx := clientContexts[0], clientContexts[1]
	writeOnce(t, addr, bigSegmentFile(t))
	mustRun(t, time.Minute, childEnv(), cli, "bigsegments", "import", "--store", addr,
		"--segment", bigSegment, "--generation", "1", "--include", keyFile(t, a), "--progress", "none")

	var clients []*clientProc
	for i := 1; i <= 3; i++ {
		clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
			store: addr, flags: []string{flagBig}, contexts: clientContexts, ttl: bigTTL,
			extra: []string{"-big-segments", "-bs-ttl", bigCache.String(), "-bs-poll", bigPoll.String(), "-bs-stale", "2m"},
		}))
	}
	at := func(memberA, memberB func(observation) bool) func(v view) bool {
		return func(v view) bool {
			oa, okA := v.obs(flagBig, a)
			ob, okB := v.obs(flagBig, bCtx)
			return okA && okB && memberA(oa) && memberB(ob)
		}
	}
	for _, c := range clients {
		c.waitUntil(30*time.Second, "ctx-a member, ctx-b not, HEALTHY", at(isMember("HEALTHY"), isNotMember("HEALTHY")))
	}

	// The import while the clients evaluate: ctx-b in, ctx-a out.
	mustRun(t, time.Minute, childEnv(), cli, "bigsegments", "import", "--store", addr,
		"--segment", bigSegment, "--generation", "1", "--include", keyFile(t, bCtx), "--remove", keyFile(t, a), "--progress", "none")
	imported := time.Now()
	var delays []time.Duration
	for _, c := range clients {
		c.waitUntil(30*time.Second, "ctx-a not member, ctx-b member after the import", at(isNotMember("HEALTHY"), isMember("HEALTHY")))
		c.mu.Lock()
		events := append([]event(nil), c.events...)
		c.mu.Unlock()
		for _, p := range []struct {
			ctx   string
			match func(observation) bool
		}{{a, isNotMember("HEALTHY")}, {bCtx, isMember("HEALTHY")}} {
			if seen, ok := firstObsAfter(events, flagBig, p.ctx, imported.Add(-30*time.Second), p.match); ok {
				delays = append(delays, seen.Sub(imported))
			}
		}
	}

	// A synchronized-on time an hour old: STALE, values unchanged.
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	mustRun(t, time.Minute, childEnv(), cli, "bigsegments", "touch", "--store", addr, "--at", old)
	for _, c := range clients {
		c.waitUntil(30*time.Second, "STALE in the reasons", at(isNotMember("STALE"), isMember("STALE")))
		c.waitUntil(10*time.Second, "big-segment status stale", func(v view) bool { return v.bigStatus().Stale })
	}
	mustRun(t, time.Minute, childEnv(), cli, "bigsegments", "touch", "--store", addr)
	for _, c := range clients {
		c.waitUntil(30*time.Second, "HEALTHY again after touch", at(isNotMember("HEALTHY"), isMember("HEALTHY")))
	}

	for _, c := range clients {
		for _, r := range runs(c.finish()) {
			ok := false
			for _, s := range []string{"HEALTHY", "STALE"} {
				ok = ok || isMember(s)(r.obs) || isNotMember(s)(r.obs)
			}
			if !ok {
				t.Errorf("%s: %s/%s served %s, %d times", c.name, r.flag, r.ctx, r.obs, r.count)
			}
		}
	}
	t.Logf("integration: big segments %s: import finished -> clients see it: %s", b.name, distribution(delays))
	return delays
}
