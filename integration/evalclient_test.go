package integration

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// event is one line of the client program's output (see
// internal/evalclient).
type event struct {
	Type string `json:"type"`
	Time int64  `json:"time"` // Unix nanoseconds

	PID int `json:"pid"`

	// status, bigstatus
	State     string `json:"state"`
	Stale     bool   `json:"stale"`
	Available bool   `json:"available"`
	Err       string `json:"err"`

	// obs
	Flag      string          `json:"flag"`
	Ctx       string          `json:"ctx"`
	Value     json.RawMessage `json:"value"`
	Variation int             `json:"variation"`
	Reason    json.RawMessage `json:"reason"`
	Prev      int64           `json:"prev"`

	// tick, end
	Rounds int64       `json:"rounds"`
	Evals  int64       `json:"evals"`
	Errors int64       `json:"errors"`
	Counts []pairCount `json:"counts"`
}

type pairCount struct {
	Flag  string `json:"flag"`
	Ctx   string `json:"ctx"`
	Count int64  `json:"count"`
}

func (e event) at() time.Time { return time.Unix(0, e.Time) }

// reason is the part of an evaluation reason the tests look at.
type reason struct {
	Kind              string `json:"kind"`
	RuleID            string `json:"ruleId"`
	PrerequisiteKey   string `json:"prerequisiteKey"`
	ErrorKind         string `json:"errorKind"`
	BigSegmentsStatus string `json:"bigSegmentsStatus"`
}

// observation is one evaluation result, as compared by the tests.
type observation struct {
	Value     string // compact JSON
	Variation int
	Reason    reason
	Err       string
}

func (o observation) String() string {
	s := fmt.Sprintf("%s (variation %d, %s", o.Value, o.Variation, o.Reason.Kind)
	for _, f := range []struct{ name, v string }{
		{"rule", o.Reason.RuleID}, {"prerequisite", o.Reason.PrerequisiteKey},
		{"error", o.Reason.ErrorKind}, {"bigSegments", o.Reason.BigSegmentsStatus},
	} {
		if f.v != "" {
			s += " " + f.name + "=" + f.v
		}
	}
	if o.Err != "" {
		s += `, err "` + o.Err + `"`
	}
	return s + ")"
}

func (e event) observation() observation {
	var r reason
	_ = json.Unmarshal(e.Reason, &r)
	return observation{Value: compactJSON(e.Value), Variation: e.Variation, Reason: r, Err: e.Err}
}

func compactJSON(b []byte) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// pairKey names one flag evaluated for one context.
type pairKey struct{ flag, ctx string }

// clientProc is a running client program and everything it has reported.
type clientProc struct {
	*proc
	t    testing.TB
	name string

	mu      sync.Mutex
	events  []event
	current map[pairKey]observation
	status  event // last status line
	big     event // last bigstatus line
	end     *event
	bad     []string // lines that are not JSON
	changed chan struct{}
}

// clientArgs configures startClient.
type clientArgs struct {
	store    string
	flags    []string
	contexts []string
	ttl      time.Duration // cache TTL; zero: 300 ms
	extra    []string      // more command-line arguments
}

// startClient starts one client program.
func startClient(t testing.TB, name string, a clientArgs) *clientProc {
	t.Helper()
	if a.ttl == 0 {
		a.ttl = 300 * time.Millisecond
	}
	if len(a.contexts) == 0 {
		a.contexts = []string{"ctx-1"}
	}
	c := &clientProc{t: t, name: name, current: map[pairKey]observation{}, changed: make(chan struct{}, 1)}
	args := []string{
		"-store", a.store,
		"-flags", strings.Join(a.flags, ","),
		"-contexts", strings.Join(a.contexts, ","),
		"-ttl", a.ttl.String(),
		"-probe", "100ms",
		"-max-run", "4m",
	}
	args = append(args, a.extra...)
	c.proc = startProc(t, name, evalclientBin(t), args, procOptions{env: childEnv(), stdin: true, onLine: c.line})
	return c
}

func (c *clientProc) line(b []byte) {
	var e event
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := json.Unmarshal(b, &e); err != nil || e.Type == "" {
		c.bad = append(c.bad, string(b))
		return
	}
	c.events = append(c.events, e)
	switch e.Type {
	case "obs":
		c.current[pairKey{e.Flag, e.Ctx}] = e.observation()
	case "status":
		c.status = e
	case "bigstatus":
		c.big = e
	case "end":
		c.end = &e
	}
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// view is what a wait condition sees of a client, under its lock.
type view struct{ c *clientProc }

// obs returns the latest observation of flag for ctx.
func (v view) obs(flag, ctx string) (observation, bool) {
	o, ok := v.c.current[pairKey{flag, ctx}]
	return o, ok
}

// status returns the last status line (zero before the first).
func (v view) status() event { return v.c.status }

// bigStatus returns the last big-segment status line.
func (v view) bigStatus() event { return v.c.big }

// waitUntil waits until cond holds or timeout passes; on timeout it fails
// the test, describing the client's current state.
func (c *clientProc) waitUntil(timeout time.Duration, what string, cond func(v view) bool) {
	c.t.Helper()
	if !c.tryWaitUntil(timeout, cond) {
		c.t.Fatalf("%s: not within %v: %s; state: %s", c.name, timeout, what, c.describe())
	}
}

// tryWaitUntil is waitUntil that reports the outcome instead of failing.
func (c *clientProc) tryWaitUntil(timeout time.Duration, cond func(v view) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		c.mu.Lock()
		ok := cond(view{c})
		c.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-c.changed:
		case <-poll.C:
		case <-deadline.C:
			return false
		case <-c.exited:
			c.mu.Lock()
			ok := cond(view{c})
			c.mu.Unlock()
			return ok
		}
	}
}

// describe summarizes the client's state for a failure message.
func (c *clientProc) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "status %q stale=%v err=%q", c.status.State, c.status.Stale, c.status.Err)
	keys := make([]pairKey, 0, len(c.current))
	for k := range c.current {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].flag != keys[j].flag {
			return keys[i].flag < keys[j].flag
		}
		return keys[i].ctx < keys[j].ctx
	})
	for _, k := range keys {
		fmt.Fprintf(&b, "; %s/%s = %s", k.flag, k.ctx, c.current[k])
	}
	if !c.running() {
		fmt.Fprintf(&b, "; exited: %v", c.waitErr)
	}
	return b.String()
}

// finish stops the client (a "stop" line, then stdin closed) and returns
// everything it reported, end line included. It fails the test if the
// client does not end cleanly.
func (c *clientProc) finish() []event {
	c.t.Helper()
	c.send("stop")
	if err, ok := c.wait(10 * time.Second); !ok {
		c.t.Errorf("%s did not stop within 10s of being asked", c.name)
		c.stop()
	} else if err != nil {
		c.t.Errorf("%s exited with %v", c.name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end == nil {
		c.t.Errorf("%s: no end line", c.name)
	}
	if len(c.bad) > 0 {
		c.t.Errorf("%s wrote %d lines that are not JSON events, first: %q", c.name, len(c.bad), c.bad[0])
	}
	return append([]event(nil), c.events...)
}

// run is a stretch of identical evaluations of one flag for one context.
type run struct {
	pairKey
	obs   observation
	first time.Time // when the client first saw it
	count int64     // evaluations that gave it
}

// runs turns a finished client's events into runs, in order per pair.
func runs(events []event) []run {
	var out []run
	last := map[pairKey]int{} // index into out
	for _, e := range events {
		switch e.Type {
		case "obs":
			k := pairKey{e.Flag, e.Ctx}
			if i, ok := last[k]; ok {
				out[i].count = e.Prev
			}
			out = append(out, run{pairKey: k, obs: e.observation(), first: e.at()})
			last[k] = len(out) - 1
		case "end":
			for _, pc := range e.Counts {
				if i, ok := last[pairKey{pc.Flag, pc.Ctx}]; ok {
					out[i].count = pc.Count
				}
			}
		}
	}
	return out
}

// totals returns the evaluations and errors a finished client counted.
func totals(events []event) (evals, errs int64) {
	for _, e := range events {
		if e.Type == "end" {
			return e.Evals, e.Errors
		}
	}
	return 0, 0
}

// firstObsAfter returns when the client first saw an observation of flag
// for ctx that satisfies match, at or after t0.
func firstObsAfter(events []event, flag, ctx string, t0 time.Time, match func(observation) bool) (time.Time, bool) {
	for _, e := range events {
		if e.Type == "obs" && e.Flag == flag && e.Ctx == ctx && !e.at().Before(t0) && match(e.observation()) {
			return e.at(), true
		}
	}
	return time.Time{}, false
}
