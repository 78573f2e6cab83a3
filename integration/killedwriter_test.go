package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// Scenario 3: the writer is SIGKILLed in the middle of a large Init
// (10,000 flags) while clients evaluate. The clients keep serving the old
// dataset; on Redis and bbolt, whose Init is atomic, the store still holds
// exactly the old dataset and no client ever sees a part of the new one;
// the next writer run replaces the dataset completely.
//
// The kill lands inside the Init on purpose, not at a random moment:
//   - bbolt: as soon as the writer's temporary file (PATH.tmp-*) appears;
//   - Redis and the cluster: writes are paused on the test's own server
//     (CLIENT PAUSE WRITE, which lets reads through), so the writer stops
//     inside its MULTI; it is killed once CLIENT LIST shows it there;
//   - DynamoDB: as soon as some of the new flags are visible.

const (
	bulkFlags  = 10_000
	killedTTL  = 300 * time.Millisecond
	killedWait = 2 * time.Minute // bound on any one write of 10,000 flags
)

// bulkKey names bulk flag i.
func bulkKey(i int) string { return fmt.Sprintf("bulk-%05d", i) }

// bulkProbeKeys are the bulk flags the clients evaluate and the DynamoDB
// trigger looks for.
var bulkProbeKeys = []string{bulkKey(0), bulkKey(bulkFlags / 2), bulkKey(bulkFlags - 1)}

// bulkFlag is a flag of realistic size (about 1 KB): targets, two rules, a
// rollout. Contexts "ctx-..." fall through to variation 1.
func bulkFlag(i int) map[string]any {
	key := bulkKey(i)
	var targets []any
	for j := range 10 {
		targets = append(targets, fmt.Sprintf("user-%d-%d", i, j))
	}
	return map[string]any{
		"key": key, "on": true, "salt": key,
		"variations":   []any{key + "-off", key + "-on", key + "-rule"},
		"offVariation": 0,
		"fallthrough":  map[string]any{"variation": 1},
		"targets":      []any{map[string]any{"variation": 2, "values": targets}},
		"rules": []any{
			map[string]any{"id": "country", "variation": 2, "clauses": []any{
				map[string]any{"attribute": "country", "op": "in", "values": []any{"zz", "yy", "xx"}},
			}},
			map[string]any{"id": "email", "variation": 0, "rollout": map[string]any{
				"variations": []any{
					map[string]any{"variation": 0, "weight": 50000},
					map[string]any{"variation": 2, "weight": 50000},
				},
			}, "clauses": []any{
				map[string]any{"attribute": "email", "op": "endsWith", "values": []any{"@example.invalid"}},
			}},
		},
	}
}

// isBulk reports whether o is what bulk flag key serves a "ctx-..."
// context.
func isBulk(key string) func(observation) bool {
	return func(o observation) bool {
		return o.Err == "" && o.Value == `"`+key+`-on"` && o.Variation == 1 && o.Reason.Kind == "FALLTHROUGH"
	}
}

// killTarget is a backend prepared for the kill.
type killTarget struct {
	addr string
	// before runs before each writer start; after runs after each kill.
	before, after func(t testing.TB)
	// midInit reports whether the writer is inside its Init.
	midInit func(t testing.TB) bool
	// partialOK: the backend may show part of an Init.
	partialOK bool
}

func TestWriterKilledDuringInit(t *testing.T) {
	targets := []struct {
		name  string
		setup func(t *testing.T) killTarget
	}{
		{"bolt", boltKill},
		{"redis", redisKill},
		{"redis-cluster", redisClusterKill},
		{"dynamodb", dynamoKill},
	}
	for _, tc := range targets {
		t.Run(tc.name, func(t *testing.T) { writerKilled(t, tc.setup(t)) })
	}
}

func writerKilled(t *testing.T, target killTarget) {
	// Dataset A: generation 1. Dataset B: generation 2 with the same
	// prerequisite and segment keys, plus 10,000 bulk flags.
	filesA := dataDir(t, 1, nil)
	bulk := map[string]any{}
	for i := range bulkFlags {
		bulk[bulkKey(i)] = bulkFlag(i)
	}
	fileB := filepath.Join(t.TempDir(), "big.json")
	writeJSONFile(t, fileB, generationDeps(2, 1, bulk))
	filesB := []string{fileB, filesA[1]}

	writeOnce(t, target.addr, filesA...)
	st := openStore(t, target.addr, true)
	waitInitialized(t, st, 30*time.Second)
	keysA := slices.Sorted(maps.Keys(storedVersions(t, st)))

	flags := append(slices.Clone(scenarioFlags), bulkProbeKeys...)
	var clients []*clientProc
	for i := 1; i <= 3; i++ {
		clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
			store: target.addr, flags: flags, contexts: clientContexts, ttl: killedTTL,
		}))
	}
	atA := func(v view) bool {
		for _, ctx := range clientContexts {
			for _, k := range bulkProbeKeys {
				if o, ok := v.obs(k, ctx); !ok || !isNotFound(o) {
					return false
				}
			}
		}
		return allAtDeps(1, 1)(v)
	}
	for _, c := range clients {
		c.waitUntil(30*time.Second, "dataset A everywhere", atA)
	}

	// The writer, killed inside its Init.
	killedAt := killDuringInit(t, target, filesB)
	time.Sleep(4 * killedTTL) // clients refresh from what the dead writer left

	storeAfterKill := storedVersions(t, st)
	keysAfterKill := slices.Sorted(maps.Keys(storeAfterKill))
	partial := len(keysAfterKill) - len(keysA)
	switch {
	case target.partialOK:
		t.Logf("integration: killed writer dynamodb: the store shows %d of the %d new flags after the kill (no atomic Init)",
			max(partial, 0), bulkFlags)
	case !slices.Equal(keysAfterKill, keysA):
		t.Errorf("after the kill the store holds %d flags, want exactly dataset A's %d: a partial Init is visible", len(keysAfterKill), len(keysA))
	default:
		t.Logf("after the kill the store holds exactly dataset A (%d flags)", len(keysA))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	inited, err := st.Initialized(ctx)
	cancel()
	switch {
	case target.partialOK && !errors.Is(err, store.ErrInitInProgress):
		// DynamoDB cannot write 10,000 items atomically, so the interrupted
		// Init must be visible instead.
		t.Errorf("after the kill: initialized=%v err=%v; want store.ErrInitInProgress (the writer's init-in-progress mark)", inited, err)
	case target.partialOK:
		t.Logf("after the kill the store says: %v", err)
	case err != nil || !inited:
		t.Errorf("after the kill: initialized=%v err=%v; want the old dataset's marker kept", inited, err)
	}

	// The next writer run fixes the store.
	fixAt := time.Now()
	r := writeOnce(t, target.addr, filesB...)
	t.Logf("the next writer run wrote 10,000 flags in %v", r.elapsed.Round(time.Millisecond))
	got := storedVersions(t, st)
	if len(got) != len(keysA)+bulkFlags {
		t.Errorf("after the next writer run the store holds %d flags, want %d", len(got), len(keysA)+bulkFlags)
	}
	atB := func(v view) bool {
		for _, ctx := range clientContexts {
			for _, k := range bulkProbeKeys {
				if o, ok := v.obs(k, ctx); !ok || !isBulk(k)(o) {
					return false
				}
			}
		}
		return allAtDeps(2, 1)(v)
	}
	for _, c := range clients {
		c.waitUntil(30*time.Second, "dataset B everywhere after the next writer run", atB)
	}
	if target.midInit != nil && strings.HasPrefix(target.addr, "bolt:") {
		left, _ := filepath.Glob(strings.TrimPrefix(target.addr, "bolt:") + ".tmp-*")
		if len(left) > 0 {
			t.Errorf("the next writer left the dead writer's temporary files: %v", left)
		}
	}

	// Every evaluation: dataset A until the fixing run began (on DynamoDB,
	// possibly B's value of single flags), A or B afterwards; no errors.
	var bBeforeFix int64
	for _, c := range clients {
		events := c.finish()
		for _, r := range runs(events) {
			isA := isGenDeps(r.flag, 1, 1)(r.obs) || (strings.HasPrefix(r.flag, "bulk-") && isNotFound(r.obs))
			isB := isGenDeps(r.flag, 2, 1)(r.obs) || isBulk(r.flag)(r.obs)
			switch {
			case isA:
			case isB && r.first.After(fixAt):
			case isB && target.partialOK:
				bBeforeFix += r.count
			case isB:
				t.Errorf("%s: %s/%s served the new dataset's %s at %s, before the next writer run (killed at %s): a partial Init",
					c.name, r.flag, r.ctx, r.obs, r.first.Format("15:04:05.000"), killedAt.Format("15:04:05.000"))
			default:
				t.Errorf("%s: %s/%s served %s, %d times: neither dataset", c.name, r.flag, r.ctx, r.obs, r.count)
			}
		}
	}
	if target.partialOK {
		t.Logf("integration: killed writer dynamodb: %d evaluations served a new flag from the partial Init before the next run", bBeforeFix)
	}
}

// killDuringInit starts `daemonflag write` on files and SIGKILLs it inside
// its Init; it returns when the writer is dead.
func killDuringInit(t *testing.T, target killTarget, files []string) time.Time {
	t.Helper()
	if target.before != nil {
		target.before(t)
	}
	args := append([]string{"write", "--store", target.addr}, files...)
	w := startProc(t, "killed-writer", daemonflagBin(t), args, procOptions{env: childEnv()})
	started := time.Now()
	fired := waitFor(killedWait, time.Millisecond, func() bool { return !w.running() || target.midInit(t) })
	if !w.running() {
		t.Fatalf("the writer finished (%v) before it could be killed inside its Init", w.waitErr)
	}
	if !fired {
		t.Fatalf("the writer was not seen inside its Init within %v", killedWait)
	}
	w.kill()
	killedAt := time.Now()
	if target.after != nil {
		target.after(t)
	}
	t.Logf("killed the writer inside its Init, %v after it started", killedAt.Sub(started).Round(time.Millisecond))
	return killedAt
}

func boltKill(t *testing.T) killTarget {
	addr := "bolt:" + filepath.Join(t.TempDir(), "flags.db")
	path := strings.TrimPrefix(addr, "bolt:")
	return killTarget{
		addr: addr,
		midInit: func(testing.TB) bool {
			m, _ := filepath.Glob(path + ".tmp-*")
			return len(m) > 0
		},
	}
}

// redisPause returns the before, after and midInit functions that pause
// writes on the server at addr and find the writer inside its MULTI.
func redisPause(t *testing.T, addr string) (before, after func(testing.TB), midInit func(testing.TB) bool) {
	c := goredis.NewClient(&goredis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	do := func(t testing.TB, args ...any) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	before = func(t testing.TB) { do(t, "CLIENT", "PAUSE", int(killedWait/time.Millisecond), "WRITE") }
	after = func(t testing.TB) {
		// The dead writer may have sent its EXEC already: the pause holds
		// it, and UNPAUSE would run it if the server had not yet read the
		// closed connection. Only once the server has dropped the writer's
		// connection (no client left inside a MULTI) is the kill a kill
		// before the EXEC ran, the case this scenario is about.
		if !waitFor(10*time.Second, time.Millisecond, func() bool { return !midInit(t) }) {
			t.Fatalf("the server still shows a client inside MULTI 10s after the writer was killed")
		}
		do(t, "CLIENT", "UNPAUSE")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Do(ctx, "CLIENT", "UNPAUSE").Err()
	})
	midInit = func(testing.TB) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return false
		}
		for _, line := range strings.Split(list, "\n") {
			for _, f := range strings.Fields(line) {
				if flags, ok := strings.CutPrefix(f, "flags="); ok && strings.Contains(flags, "x") {
					return true // a client inside MULTI
				}
			}
		}
		return false
	}
	return before, after, midInit
}

func redisKill(t *testing.T) killTarget {
	s := ownRedis(t, "redis")
	k := killTarget{addr: redisAddress(s)}
	k.before, k.after, k.midInit = redisPause(t, s.addr())
	return k
}

func redisClusterKill(t *testing.T) killTarget {
	nodes := ownRedisCluster(t)
	tag := "{integ-" + tokenForTest() + "}"
	k := killTarget{addr: redisClusterAddress(nodes, tag)}
	k.before, k.after, k.midInit = redisPause(t, slotOwner(t, nodes, tag).addr())
	return k
}

func dynamoKill(t *testing.T) killTarget {
	k := killTarget{addr: backends()[3].address(t), partialOK: true}
	var st store.Reader
	k.midInit = func(t testing.TB) bool {
		if st == nil {
			st = openStore(t, k.addr, true)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for i := 0; i < bulkFlags; i += bulkFlags / 10 {
			if _, found, err := st.Get(ctx, store.Features, bulkKey(i)); err == nil && found {
				return true
			}
		}
		return false
	}
	return k
}
