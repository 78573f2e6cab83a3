package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// BenchmarkChangePropagation measures, on every backend, the time from a
// write returning in a writer process (pulsewriter, writing through package
// writer) to the flag-change listener firing in each of three client
// processes (listenclient), in two modes: "notify", the store's change
// notifications with a one-minute cache TTL, and "ttl", notifications
// hidden and a 300 ms TTL (the change poll runs every TTL). One op is one
// write seen by all three clients. It reports the distribution over every
// client's samples (p50-ms, p99-ms) and of the slowest client per write
// (all-p99-ms). Run it with a fixed count, e.g. -benchtime=100x.
func BenchmarkChangePropagation(b *testing.B) {
	for _, be := range backends() {
		for _, mode := range []string{"notify", "ttl"} {
			b.Run(be.name+"/"+mode, func(b *testing.B) {
				benchPropagation(b, be, mode)
			})
		}
	}
}

// listenEvent is one line of listenclient.
type listenEvent struct {
	Flag  string `json:"flag"`
	Value string `json:"value"`
	At    int64  `json:"at"`
}

// writeResult is one line of pulsewriter.
type writeResult struct {
	Version  int    `json:"version"`
	Returned int64  `json:"returned"`
	Error    string `json:"error"`
}

func benchPropagation(b *testing.B, be backend, mode string) {
	addr := be.address(b)
	// A dataset with its "$inited" marker, before any process starts.
	s := openStore(b, addr, false)
	pulse := func(n int) store.Item {
		it, err := store.ItemFromJSON(fmt.Appendf(nil, `{"key":"pulse","version":%d,"on":true,"variations":["v%d"],"offVariation":0,"fallthrough":{"variation":0},"salt":"pulse"}`, n, n))
		if err != nil {
			b.Fatal(err)
		}
		return it
	}
	if err := s.Init(context.Background(), []store.Collection{{Kind: store.Segments},
		{Kind: store.Features, Items: []store.KeyedItem{{Key: "pulse", Item: pulse(1)}}}}); err != nil {
		b.Fatal(err)
	}
	s.Close()

	writes := make(chan writeResult, 16)
	w := startProc(b, "pulsewriter", binary(b, "integration/internal/pulsewriter"), []string{"-store", addr},
		procOptions{env: childEnv(), stdin: true, onLine: func(line []byte) {
			var r writeResult
			if json.Unmarshal(line, &r) == nil {
				writes <- r
			}
		}})

	const clients = 3
	var mu sync.Mutex
	seen := make([]map[string]int64, clients) // value -> first time seen
	wake := make(chan struct{}, 1)
	args := []string{"-store", addr, "-ttl", "1m"}
	if mode == "ttl" {
		args = []string{"-store", addr, "-ttl", "300ms", "-no-notify"}
	}
	for i := range clients {
		seen[i] = map[string]int64{}
		startProc(b, fmt.Sprint("listenclient-", i), binary(b, "integration/internal/listenclient"), args,
			procOptions{env: childEnv(), stdin: true, onLine: func(line []byte) {
				var ev listenEvent
				if json.Unmarshal(line, &ev) != nil || ev.Flag != "pulse" {
					return
				}
				mu.Lock()
				if _, ok := seen[i][ev.Value]; !ok {
					seen[i][ev.Value] = ev.At
				}
				mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
			}})
	}
	version := 1
	write := func() writeResult {
		version++
		w.send(strconv.Itoa(version))
		select {
		case r := <-writes:
			if r.Error != "" || r.Version != version {
				b.Fatalf("write %d: %+v", version, r)
			}
			return r
		case <-time.After(20 * time.Second):
			b.Fatalf("write %d: no answer from the writer", version)
		}
		return writeResult{}
	}
	// waitAll waits until every client has seen value, returning when each
	// did (nil after the timeout).
	waitAll := func(value string, timeout time.Duration) []int64 {
		deadline := time.After(timeout)
		for {
			mu.Lock()
			var ats []int64
			for i := range clients {
				if at, ok := seen[i][value]; ok {
					ats = append(ats, at)
				}
			}
			mu.Unlock()
			if len(ats) == clients {
				return ats
			}
			select {
			case <-wake:
			case <-deadline:
				return nil
			}
		}
	}
	// Warm-up: the listeners' first poll is their baseline, so write until
	// every client reports a write.
	for warm := 0; ; warm++ {
		if warm == 100 {
			b.Fatal("the clients never reported a change")
		}
		write()
		if waitAll("v"+strconv.Itoa(version), 2*time.Second) != nil {
			break
		}
	}

	var each, slowest []time.Duration
	b.ResetTimer()
	for range b.N {
		r := write()
		ats := waitAll("v"+strconv.Itoa(version), 20*time.Second)
		if ats == nil {
			b.Fatalf("version %d did not reach every client within 20 s", version)
		}
		var worst time.Duration
		for _, at := range ats {
			d := time.Duration(at - r.Returned)
			each = append(each, d)
			worst = max(worst, d)
		}
		slowest = append(slowest, worst)
	}
	b.StopTimer()
	b.ReportMetric(quantileMS(each, 0.5), "p50-ms")
	b.ReportMetric(quantileMS(each, 0.99), "p99-ms")
	b.ReportMetric(quantileMS(slowest, 0.99), "all-p99-ms")
	b.Logf("%s %s: write returned -> listener: %s; slowest client per write: %s", be.name, mode, distribution(each), distribution(slowest))
}

// quantileMS returns the q quantile of ds in milliseconds.
func quantileMS(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := max(0, min(int(math.Ceil(q*float64(len(s))))-1, len(s)-1))
	return float64(s[i].Microseconds()) / 1000
}
