package relay_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
)

// discardStore is a store.Writer that keeps nothing, so that a memory
// measurement sees the relay's memory only.
type discardStore struct{ inits atomic.Int32 }

func (d *discardStore) Init(context.Context, []store.Collection) error { d.inits.Add(1); return nil }
func (d *discardStore) Upsert(context.Context, store.Kind, string, store.Item) (bool, error) {
	return true, nil
}
func (d *discardStore) Close() error { return nil }

// putReader generates a stream with one "put" event of about size bytes
// (flags of about 500 bytes each), without holding it in memory.
type putReader struct {
	size, sent, flag int
	pending          []byte
	done             bool
}

func (p *putReader) Read(b []byte) (int, error) {
	for len(p.pending) == 0 {
		switch {
		case p.done:
			return 0, io.EOF
		case p.sent == 0:
			p.pending = []byte(`event: put` + "\n" + `data: {"path":"/","data":{"segments":{},"flags":{`)
		case p.sent >= p.size:
			p.pending, p.done = []byte("}}}\n\n"), true
		default:
			sep := ","
			if p.flag == 0 {
				sep = ""
			}
			key := fmt.Sprintf("flag-%07d", p.flag)
			p.pending = fmt.Appendf(nil, `%s%q:{"key":%q,"version":3,"on":true,"salt":"%s","variations":[false,true],"fallthrough":{"variation":1},"offVariation":0,"rules":[{"id":"r","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com","@example.org","@example.net"]}],"variation":1}],"targets":[{"values":["user-1","user-2","user-3","user-4"],"variation":0}],"trackEvents":false}`,
				sep, key, key, strings.Repeat("x", 120))
			p.flag++
		}
		p.sent += len(p.pending)
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

// heapPeak samples the heap's live objects every millisecond until stop is
// closed and returns the largest value.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

const memChildEnv = "DAEMONFLAG_RELAY_MEMORY_CHILD"

// TestRelayEventMemory streams one 50 MB "put" through Run in a child
// process that collects garbage eagerly (GOGC=10, so that the heap stays
// close to what is live) and samples its heap; the relay's peak must stay
// under 3 times the event (it was about 7 times before it read events into
// one buffer and decoded them in place).
func TestRelayEventMemory(t *testing.T) {
	if os.Getenv(memChildEnv) != "" {
		relayEventMemoryChild(t)
		return
	}
	if testing.Short() {
		t.Skip("a 50 MB event in a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRelayEventMemory$", "-test.v")
	cmd.Env = append(os.Environ(), memChildEnv+"=1", "GOGC=10")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	var event, peak, base uint64
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "memory:"); ok {
			for _, f := range strings.Fields(rest) {
				k, v, _ := strings.Cut(f, "=")
				n, _ := strconv.ParseUint(v, 10, 64)
				switch k {
				case "event":
					event = n
				case "peak":
					peak = n
				case "base":
					base = n
				}
			}
		}
	}
	if event == 0 || peak == 0 {
		t.Fatalf("no measurement in the child's output:\n%s", out)
	}
	ratio := float64(peak-min(base, peak)) / float64(event)
	t.Logf("event %d MB, relay heap peak %d MB above a base of %d MB: %.2fx the event", event>>20, (peak-base)>>20, base>>20, ratio)
	if ratio > 3 {
		t.Errorf("the relay's peak heap is %.2fx the event, want under 3x", ratio)
	}
}

func relayEventMemoryChild(t *testing.T) {
	const size = 50 << 20
	st := &discardStore{}
	gen := &putReader{size: size}
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		buf := make([]byte, 32<<10)
		for {
			n, err := gen.Read(buf)
			if n > 0 {
				if _, err := w.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				break
			}
		}
		<-r.Context().Done()
	}
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	stop := make(chan struct{})
	peak := heapPeak(stop)
	ctx, cancel := context.WithCancel(context.Background())
	inited := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- relay.Run(ctx, st, relay.Options{
			SDKKey: testSDKKey, Endpoints: relay.ServiceEndpoints{Streaming: "http://relay.test"},
			HTTPClient: &http.Client{Transport: inProcess{h}}, HealInterval: -1,
			OnUpdate: func(u relay.Update) {
				if u.Init {
					close(inited)
				}
			},
		})
	}()
	select {
	case <-inited:
	case err := <-done:
		t.Fatalf("Run returned %v", err)
	case <-time.After(time.Minute):
		t.Fatal("no Init within a minute")
	}
	close(stop)
	p := <-peak
	cancel()
	<-done
	fmt.Printf("memory: event=%d peak=%d base=%d\n", gen.sent, p, base)
}
