// Command evalclient is the client process of the integration tests: it opens
// a store by its address, evaluates a few flags for a few contexts through
// the real client package over and over, and reports what it sees on stdout,
// one JSON object per line. It is built by the tests (go build) and never
// installed.
//
// # Output
//
// Every line is an object with "type" and "time" (Unix nanoseconds):
//
//	{"type":"start","pid":N}                       once, first
//	{"type":"status","state":S,"stale":B,"err":E}  the flag store's status: once
//	                                               after the first check, then on
//	                                               every change
//	{"type":"bigstatus","available":B,"stale":B}   the big-segment status, likewise
//	                                               (only with -big-segments)
//	{"type":"obs","flag":K,"ctx":C,"value":V,"variation":N,"reason":R,"err":E,"prev":N}
//	                                               the first evaluation of flag K for
//	                                               context C that differs from the
//	                                               one before (value, variation,
//	                                               reason or error); prev counts the
//	                                               evaluations that gave the
//	                                               previous observation
//	{"type":"tick","rounds":N,"evals":N,"errors":N} every -tick
//	{"type":"end","rounds":N,"evals":N,"errors":N,"counts":[{"flag":K,"ctx":C,"count":N}]}
//	                                               last: counts of each pair's
//	                                               current observation
//
// # Stopping
//
// The process stops by itself, writing the end line, when stdin reaches end
// of file or receives a line "stop", on SIGTERM or SIGINT, after -max-run,
// or after -max-rounds rounds. The tests close stdin when they are done, so
// a client never outlives the test that started it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores"
)

type config struct {
	store     string
	flags     []string
	contexts  []string
	def       string
	ttl       time.Duration
	probe     time.Duration
	refreshTO time.Duration
	interval  time.Duration
	tick      time.Duration
	maxRun    time.Duration
	maxRounds int

	bigSegments bool
	bsTTL       time.Duration
	bsPoll      time.Duration
	bsStale     time.Duration
}

func main() {
	var cfg config
	var flags, contexts string
	flag.StringVar(&cfg.store, "store", "", "store address (required)")
	flag.StringVar(&flags, "flags", "", "comma-separated flag keys to evaluate (required)")
	flag.StringVar(&contexts, "contexts", "user-1", "comma-separated context keys (kind user)")
	flag.StringVar(&cfg.def, "default", `"DEFAULT"`, "default value, as JSON")
	flag.DurationVar(&cfg.ttl, "ttl", 300*time.Millisecond, "cache TTL")
	flag.DurationVar(&cfg.probe, "probe", 100*time.Millisecond, "cache probe interval")
	flag.DurationVar(&cfg.refreshTO, "refresh-timeout", time.Second, "cache refresh timeout")
	flag.DurationVar(&cfg.interval, "interval", 2*time.Millisecond, "pause between rounds")
	flag.DurationVar(&cfg.tick, "tick", 200*time.Millisecond, "interval of tick lines")
	flag.DurationVar(&cfg.maxRun, "max-run", 3*time.Minute, "stop after this long")
	flag.IntVar(&cfg.maxRounds, "max-rounds", 5_000_000, "stop after this many rounds")
	flag.BoolVar(&cfg.bigSegments, "big-segments", false, "read big segments from the same store")
	flag.DurationVar(&cfg.bsTTL, "bs-ttl", 300*time.Millisecond, "big-segment membership cache TTL")
	flag.DurationVar(&cfg.bsPoll, "bs-poll", 100*time.Millisecond, "big-segment status poll interval")
	flag.DurationVar(&cfg.bsStale, "bs-stale", 2*time.Minute, "big-segment stale-after")
	flag.Parse()
	cfg.flags = splitList(flags)
	cfg.contexts = splitList(contexts)
	if cfg.store == "" || len(cfg.flags) == 0 || len(cfg.contexts) == 0 {
		fmt.Fprintln(os.Stderr, "evalclient: -store, -flags and -contexts are required")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "evalclient:", err)
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// out writes JSON lines to stdout, one at a time.
type out struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (o *out) emit(typ string, fields map[string]any) {
	fields["type"] = typ
	fields["time"] = time.Now().UnixNano()
	b, err := json.Marshal(fields)
	if err != nil {
		b = fmt.Appendf(nil, `{"type":"error","err":%q}`, err.Error())
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.w.Write(b)
	_ = o.w.WriteByte('\n')
	_ = o.w.Flush()
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// pair is the running state of one flag and context.
type pair struct {
	flag, ctxKey string
	ec           evalctx.Context
	sig          string // the current observation
	count        int64  // evaluations that gave it
}

func run(cfg config) error {
	o := &out{w: bufio.NewWriter(os.Stdout)}
	o.emit("start", map[string]any{"pid": os.Getpid()})

	def, err := jsonvalue.Parse([]byte(cfg.def))
	if err != nil {
		return fmt.Errorf("-default: %w", err)
	}
	addr, err := stores.Parse(cfg.store)
	if err != nil {
		return err
	}
	openCtx, cancelOpen := context.WithTimeout(context.Background(), 10*time.Second)
	st, err := addr.Open(openCtx, &stores.OpenOptions{ReadOnly: true})
	cancelOpen()
	if err != nil {
		return err
	}
	defer st.Close()

	// The log names the store (address with any password hidden), as a
	// service would, so that a line about the store says which one.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).
		With("store", addr.String())
	cc := client.Config{
		Store:  st,
		Logger: logger,
		Cache: cache.Options{
			TTL:            cfg.ttl,
			ProbeInterval:  cfg.probe,
			RefreshTimeout: cfg.refreshTO,
		},
	}
	if cfg.bigSegments {
		bs, ok := st.(store.BigSegmentReader)
		if !ok {
			return fmt.Errorf("store %s has no big segments", addr)
		}
		cc.BigSegments = client.BigSegmentsConfig{
			Store:              bs,
			CacheTTL:           cfg.bsTTL,
			StatusPollInterval: cfg.bsPoll,
			StaleAfter:         cfg.bsStale,
		}
	}
	c, err := client.New(cc)
	if err != nil {
		return err
	}
	defer c.Close()

	// statusMu orders the status snapshot below against the listeners, so
	// that the last status line is always the current status (listeners
	// are told of every change in order, after it happened).
	var statusMu sync.Mutex
	emitStatus := func(s cache.Status) {
		o.emit("status", map[string]any{"state": s.State.String(), "stale": s.Stale, "err": errString(s.Err)})
	}
	emitBig := func(s bigsegments.Status) {
		o.emit("bigstatus", map[string]any{"available": s.Available, "stale": s.Stale})
	}
	c.AddDataStoreStatusListener(func(s cache.Status) {
		statusMu.Lock()
		defer statusMu.Unlock()
		emitStatus(s)
	})
	if cfg.bigSegments {
		c.AddBigSegmentStoreStatusListener(func(s bigsegments.Status) {
			statusMu.Lock()
			defer statusMu.Unlock()
			emitBig(s)
		})
	}
	// WaitForInitialization returns once the cache's first check of the
	// store has finished and found a dataset, or at the timeout; either way
	// the status is then the store's real one.
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_ = c.WaitForInitialization(waitCtx)
	cancelWait()
	if cfg.bigSegments {
		// Waits for the first poll, which may call the listener: not under
		// statusMu. The second call below answers at once.
		c.BigSegmentStoreStatus()
	}
	statusMu.Lock()
	emitStatus(c.DataStoreStatus())
	if cfg.bigSegments {
		emitBig(c.BigSegmentStoreStatus())
	}
	statusMu.Unlock()

	stop := make(chan struct{})
	var stopOnce sync.Once
	stopNow := func() { stopOnce.Do(func() { close(stop) }) }
	go func() { // stdin: "stop" or end of file
		r := bufio.NewScanner(os.Stdin)
		for r.Scan() {
			if strings.TrimSpace(r.Text()) == "stop" {
				break
			}
		}
		stopNow()
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		stopNow()
	}()

	var pairs []*pair
	for _, f := range cfg.flags {
		for _, k := range cfg.contexts {
			pairs = append(pairs, &pair{flag: f, ctxKey: k, ec: evalctx.New(k)})
		}
	}
	deadline := time.Now().Add(cfg.maxRun)
	tick := time.NewTicker(cfg.tick)
	defer tick.Stop()
	var rounds, evals, errs int64
	pause := time.NewTimer(0)
	defer pause.Stop()
loop:
	for rounds < int64(cfg.maxRounds) && time.Now().Before(deadline) {
		select {
		case <-stop:
			break loop
		case <-tick.C:
			o.emit("tick", map[string]any{"rounds": rounds, "evals": evals, "errors": errs})
		case <-pause.C:
		}
		rounds++
		for _, p := range pairs {
			evals++
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			v, d, err := c.JSONVariationDetailCtx(ctx, p.flag, p.ec, def)
			cancel()
			if err != nil {
				errs++
			}
			reason, _ := d.Reason.MarshalJSON()
			sig := fmt.Sprintf("%s|%d|%s|%v", v.JSON(), d.VariationIndex, reason, errorClass(err))
			if sig == p.sig {
				p.count++
				continue
			}
			o.emit("obs", map[string]any{
				"flag": p.flag, "ctx": p.ctxKey, "value": json.RawMessage(v.JSON()),
				"variation": d.VariationIndex, "reason": json.RawMessage(reason),
				"err": errString(err), "prev": p.count,
			})
			p.sig, p.count = sig, 1
		}
		pause.Reset(cfg.interval)
	}
	counts := make([]map[string]any, 0, len(pairs))
	for _, p := range pairs {
		counts = append(counts, map[string]any{"flag": p.flag, "ctx": p.ctxKey, "count": p.count})
	}
	o.emit("end", map[string]any{"rounds": rounds, "evals": evals, "errors": errs, "counts": counts})
	return nil
}

// errorClass is what part of an evaluation error counts as a different
// observation: whether there is one, and which sentinel it matches.
func errorClass(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, store.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, client.ErrFlagNotFound):
		return "not-found"
	}
	return "error"
}
