package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Scenario 7: two writer processes race upserts of the same flags, each
// with explicit versions (one odd, the other even), in shuffled orders, so
// that each often offers a version lower than the one just stored. The
// store must keep the highest version of each flag at every moment (a
// reader polling it never sees a version go back) and end with the
// highest; clients never see a flag's version go back either.

const (
	raceFlags      = 5
	raceMaxVersion = 60 // even: the "even" writer owns the winner
	raceTTL        = 200 * time.Millisecond
)

func raceKey(i int) string { return fmt.Sprintf("race-%d", i) }

func TestRacingWriters(t *testing.T) {
	forEachBackend(t, racingWriters)
}

func racingWriters(t *testing.T, b backend) {
	addr := b.address(t)
	writeOnce(t, addr, dataDir(t, 1, nil)...)
	st := openStore(t, addr, true)
	waitInitialized(t, st, 30*time.Second)

	var keys []string
	for i := range raceFlags {
		keys = append(keys, raceKey(i))
	}
	mon := monitorVersions(st, keys)
	defer mon.stop()

	var clients []*clientProc
	for i := 1; i <= 2; i++ {
		clients = append(clients, startClient(t, fmt.Sprintf("client-%d", i), clientArgs{
			store: addr, flags: keys, contexts: clientContexts[:1], ttl: raceTTL,
		}))
	}

	type summary struct{ Applied, Refused, Errors, First, Last int64 }
	var mu sync.Mutex
	results := map[string]summary{}
	var writers []*proc
	startAt := time.Now().Add(time.Second) // both begin together
	for i, w := range []struct{ id, parity string }{{"A", "odd"}, {"B", "even"}} {
		args := []string{"-store", addr, "-id", w.id, "-parity", w.parity,
			"-flags", strconv.Itoa(raceFlags), "-max", strconv.Itoa(raceMaxVersion), "-seed", strconv.Itoa(i + 1),
			"-start-at", strconv.FormatInt(startAt.UnixNano(), 10)}
		writers = append(writers, startProc(t, "upserter-"+w.id, upserterBin(t), args, procOptions{env: childEnv(),
			onLine: func(line []byte) {
				var s summary
				if json.Unmarshal(line, &s) == nil {
					mu.Lock()
					results[w.id] = s
					mu.Unlock()
				}
			}}))
	}
	for _, w := range writers {
		err, ok := w.wait(2 * time.Minute)
		if !ok {
			t.Fatalf("%s still running after 2 minutes", w.name)
		}
		if err != nil {
			t.Errorf("%s: %v\n%s", w.name, err, w.log.tail(10))
		}
	}
	reads, violations := mon.stop()
	for _, v := range violations {
		t.Error(v)
	}

	final := storedVersions(t, st)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	want := fmt.Sprintf("B@%d", raceMaxVersion)
	for _, k := range keys {
		if final[k] != raceMaxVersion {
			t.Errorf("%s: stored version %d, want the highest, %d", k, final[k], raceMaxVersion)
		}
		it, _, err := st.Get(ctx, store.Features, k)
		if err != nil || !strings.Contains(string(it.Data), `"`+want+`"`) {
			t.Errorf("%s: stored %s (err %v), want the variation %q", k, it.Data, err, want)
		}
	}
	for _, c := range clients {
		c.waitUntil(30*time.Second, "every race flag at "+want, func(v view) bool {
			for _, k := range keys {
				if o, ok := v.obs(k, clientContexts[0]); !ok || o.Value != `"`+want+`"` {
					return false
				}
			}
			return true
		})
	}
	for _, c := range clients {
		last := map[pairKey]int{}
		for _, r := range runs(c.finish()) {
			if strings.Contains(r.obs.Value, "DEFAULT") && r.obs.Reason.ErrorKind == "FLAG_NOT_FOUND" {
				continue // before the first upsert
			}
			v, ok := raceVersion(r.obs.Value)
			if !ok {
				t.Errorf("%s: %s served %s", c.name, r.flag, r.obs)
				continue
			}
			if v < last[r.pairKey] {
				t.Errorf("%s: %s went back from version %d to %d", c.name, r.flag, last[r.pairKey], v)
			}
			last[r.pairKey] = max(last[r.pairKey], v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	a, bw := results["A"], results["B"]
	overlap := time.Duration(min(a.Last, bw.Last) - max(a.First, bw.First))
	if overlap <= 0 {
		t.Errorf("the writers did not overlap (A %v..%v, B %v..%v): no race", a.First, a.Last, bw.First, bw.Last)
	}
	t.Logf("integration: racing writers %s: %d upserts each, overlapping for %v (A applied %d refused %d, B applied %d refused %d); "+
		"%d store reads saw no version go back",
		b.name, raceFlags*raceMaxVersion/2, overlap.Round(time.Millisecond),
		a.Applied, a.Refused, bw.Applied, bw.Refused, reads)
}

// raceVersion reads the version out of a race flag's value "<id>@<v>".
func raceVersion(value string) (int, bool) {
	_, v, ok := strings.Cut(strings.Trim(value, `"`), "@")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil
}

// versionMonitor polls the store's versions of some flags and records any
// that goes back.
type versionMonitor struct {
	cancel     context.CancelFunc
	done       chan struct{}
	reads      int
	violations []string
}

func monitorVersions(s store.Reader, keys []string) *versionMonitor {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	m := &versionMonitor{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		last := map[string]int{}
		for ctx.Err() == nil {
			for _, k := range keys {
				rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
				it, found, err := s.Get(rctx, store.Features, k)
				rcancel()
				if err != nil || !found {
					continue
				}
				m.reads++
				if it.Version < last[k] && len(m.violations) < 20 {
					m.violations = append(m.violations, fmt.Sprintf("%s: the store's version went back from %d to %d", k, last[k], it.Version))
				}
				last[k] = max(last[k], it.Version)
			}
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return m
}

// stop ends the polling and returns the number of reads and violations.
func (m *versionMonitor) stop() (int, []string) {
	m.cancel()
	<-m.done
	return m.reads, m.violations
}
