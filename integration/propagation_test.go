package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scenario 1: one writer (daemonflag sync on a directory of flag files)
// and three client processes evaluating continuously. Each edit of a flag
// file reaches every client within the cache TTL plus the refresh time,
// and no client ever evaluates a flag against a mix of two generations
// (see dataset_test.go for how a mix would show).

const (
	propagationTTL   = 300 * time.Millisecond
	propagationEdits = 3 // generations 2..propagationEdits+1
	// propagationDeadline is a generous bound on one edit reaching every
	// client (the expected time is about TTL + the writer's settle time);
	// it only catches a client that never sees the edit.
	propagationDeadline = 20 * time.Second
)

func TestPropagation(t *testing.T) {
	var mu sync.Mutex
	var all, storeToClient []time.Duration
	forEachBackend(t, func(t *testing.T, b backend) {
		edit, fromStore := propagation(t, b)
		mu.Lock()
		all = append(all, edit...)
		storeToClient = append(storeToClient, fromStore...)
		mu.Unlock()
	})
	t.Logf("integration: propagation, all backends, file edit -> client: %s", distribution(all))
	t.Logf("integration: propagation, all backends, store write -> client: %s (TTL %v)", distribution(storeToClient), propagationTTL)
}

// propagation runs the scenario on one backend and returns the delays
// from each edit to each client's first evaluation of the new value (per
// client, flag and context), and from the store write to it.
func propagation(t *testing.T, b backend) (fromEdit, fromStore []time.Duration) {
	addr := b.address(t)
	files := dataDir(t, 1, fillers(1))
	startSync(t, "writer", addr, files)
	st := openStore(t, addr, true)
	waitInitialized(t, st, 30*time.Second)
	watch := watchVersion(t, st, flagColor)
	if _, ok := watch.next(10 * time.Second); !ok {
		t.Fatal("the store holds no color flag")
	}

	var clients []*clientProc
	for i := 1; i <= 3; i++ {
		clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
			store: addr, flags: scenarioFlags, contexts: clientContexts, ttl: propagationTTL,
		}))
	}
	for _, c := range clients {
		c.waitUntil(propagationDeadline, "generation 1 everywhere", allAt(1))
	}

	// On Redis the test also reads the whole dataset atomically while the
	// writer works, to tell a store that holds a mix from a client that
	// makes one.
	stateWatch := watchRedisState(t, b.name, addr)

	lastGen := propagationEdits + 1
	for g := 2; g <= lastGen; g++ {
		edited := time.Now()
		writeJSONFile(t, files[0], generation(g, fillers(g)))
		written, ok := watch.next(propagationDeadline)
		if !ok {
			t.Fatalf("generation %d: the writer did not write the edit within %v", g, propagationDeadline)
		}
		for _, c := range clients {
			c.waitUntil(propagationDeadline, fmt.Sprintf("generation %d everywhere", g), allAt(g))
		}
		for _, c := range clients {
			c.mu.Lock()
			events := append([]event(nil), c.events...)
			c.mu.Unlock()
			for _, f := range []string{flagMain, flagColor} {
				for _, ctx := range clientContexts {
					seen, ok := firstObsAfter(events, f, ctx, edited, isGen(f, g))
					if !ok {
						t.Errorf("%s: generation %d of %s/%s seen, but not found in its events", c.name, g, f, ctx)
						continue
					}
					fromEdit = append(fromEdit, seen.Sub(edited))
					fromStore = append(fromStore, seen.Sub(written.at))
				}
			}
		}
		t.Logf("generation %d: edit -> store %v", g, written.at.Sub(edited).Round(time.Millisecond))
	}
	// Keep evaluating the last generation for a while (more refreshes).
	time.Sleep(2 * propagationTTL)
	if stateWatch != nil {
		states, mixedStates := stateWatch.stop()
		for _, m := range mixedStates {
			t.Errorf("the store itself held a mixed dataset (the writer's order of writes): %s", m)
		}
		t.Logf("read the whole dataset atomically %d times during the edits; %d mixed", states, len(mixedStates))
	}

	gens := make([]int, lastGen)
	for i := range gens {
		gens[i] = i + 1
	}
	var evals int64
	var mixed mixStats
	for _, c := range clients {
		events := c.finish()
		n, errs := totals(events)
		evals += n
		if errs != 0 {
			t.Errorf("%s: %d of %d evaluations returned an error", c.name, errs, n)
		}
		m := checkNoMix(t, c.name, events, gens)
		mixed.evals += m.evals
		mixed.windows += m.windows
		mixed.longest = max(mixed.longest, m.longest)
	}
	t.Logf("integration: propagation %s: %d evaluations by 3 clients, %d from a mixed dataset (%d windows, longest %v); "+
		"file edit -> client: %s; store write -> client: %s",
		b.name, evals, mixed.evals, mixed.windows, mixed.longest.Round(time.Millisecond), distribution(fromEdit), distribution(fromStore))
	return fromEdit, fromStore
}

// propagationFillers is how many more flags each edit changes. Their keys
// sort between main and its prerequisites, as unrelated flags of a real
// dataset would, so a writer that upserts in key order leaves main without
// its new prerequisite for as long as these writes take.
const propagationFillers = 30

// fillers returns the filler flags of generation g.
func fillers(g int) map[string]any {
	m := map[string]any{}
	for i := range propagationFillers {
		key := fmt.Sprintf("mid-%02d", i)
		m[key] = map[string]any{"key": key, "on": true, "variations": []any{genValue(g)},
			"fallthrough": map[string]any{"variation": 0}, "offVariation": 0, "salt": key}
	}
	return m
}

// allAt is a wait condition: every scenario flag, for every client
// context, serves generation g.
func allAt(g int) func(v view) bool {
	return func(v view) bool {
		for _, f := range scenarioFlags {
			for _, ctx := range clientContexts {
				o, ok := v.obs(f, ctx)
				if !ok || !isGen(f, g)(o) {
					return false
				}
			}
		}
		return true
	}
}

// maxMixReports bounds the failures checkNoMix prints per client.
const maxMixReports = 4

// mixStats counts evaluations from a mix of generations.
type mixStats struct {
	evals   int64
	windows int
	longest time.Duration // from a mixed run's first evaluation to the next run's
}

// checkNoMix fails the test for every evaluation that no single generation
// among gens gives, and for a flag that went back to an older generation.
func checkNoMix(t *testing.T, client string, events []event, gens []int) mixStats {
	t.Helper()
	var st mixStats
	lastGen := map[pairKey]int{}
	all := runs(events)
	reported := 0
	report := func(format string, args ...any) {
		t.Helper()
		if reported++; reported <= maxMixReports {
			t.Errorf(format, args...)
		}
	}
	defer func() {
		if reported > maxMixReports {
			t.Errorf("%s: %d more mixed or backward results not shown", client, reported-maxMixReports)
		}
	}()
	for i, r := range all {
		g := genOf(r.flag, r.obs, gens)
		if g == 0 {
			st.evals += r.count
			st.windows++
			for j := i + 1; j < len(all); j++ {
				if all[j].pairKey == r.pairKey {
					st.longest = max(st.longest, all[j].first.Sub(r.first))
					break
				}
			}
			report("%s: %s/%s served %s, %d times from %s: no generation of the files gives that (a mixed dataset); "+
				"this flag's results around it:%s",
				client, r.flag, r.ctx, r.obs, r.count, r.first.Format("15:04:05.000"), timeline(all, i, 2))
			continue
		}
		if g < lastGen[r.pairKey] {
			report("%s: %s/%s went back from generation %d to %d at %s",
				client, r.flag, r.ctx, lastGen[r.pairKey], g, r.first.Format("15:04:05.000"))
		}
		lastGen[r.pairKey] = max(lastGen[r.pairKey], g)
	}
	return st
}

// genOf returns the generation among gens whose value o is, or 0. The
// static flag is the same in all of them (it counts as the first).
func genOf(flag string, o observation, gens []int) int {
	for _, g := range gens {
		if isGen(flag, g)(o) {
			if flag == flagStatic {
				return gens[0]
			}
			return g
		}
	}
	return 0
}

// timeline describes the runs of the same flag and context as runs[i],
// up to n before and after it.
func timeline(all []run, i, n int) string {
	var before, after []run
	for j := i - 1; j >= 0 && len(before) < n; j-- {
		if all[j].pairKey == all[i].pairKey {
			before = append([]run{all[j]}, before...)
		}
	}
	for j := i + 1; j < len(all) && len(after) < n; j++ {
		if all[j].pairKey == all[i].pairKey {
			after = append(after, all[j])
		}
	}
	var b strings.Builder
	for _, r := range append(append(before, all[i]), after...) {
		fmt.Fprintf(&b, "\n\t\t%s  %s  x%d", r.first.Format("15:04:05.000"), r.obs, r.count)
	}
	return b.String()
}
