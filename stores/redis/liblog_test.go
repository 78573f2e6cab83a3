package redis

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/store"
)

// TestLibLogLimit checks the rate limit of one kind of go-redis line on a
// fake clock: an episode logs its first line at once, the next after a
// minute, then at doubling gaps capped at an hour, and a quiet minute starts
// a new episode.
func TestLibLogLimit(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var lim libLogLimit
	type emit struct {
		at         time.Duration
		suppressed int
	}
	var got []emit
	// One line a second for three hours.
	for s := 0; s <= 3*3600; s++ {
		at := time.Duration(s) * time.Second
		if ok, n := lim.allow(start.Add(at)); ok {
			got = append(got, emit{at, n})
		}
	}
	want := []emit{
		{0, 0},
		{time.Minute, 59},
		{3 * time.Minute, 119},
		{7 * time.Minute, 239},
		{15 * time.Minute, 479},
		{31 * time.Minute, 959},
		{63 * time.Minute, 1919},
		{123 * time.Minute, 3599},
	}
	if len(got) != len(want) {
		t.Fatalf("emitted %v; want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("emission %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	// After a quiet spell the next line is logged at once, with the count
	// of lines suppressed since the last record: the 3,420 after minute 123
	// and one more at 3 h 5 s.
	next := start.Add(3*time.Hour + 5*time.Second)
	lim.allow(next)
	if ok, n := lim.allow(next.Add(2 * time.Minute)); !ok || n != 3421 {
		t.Errorf("first line after a quiet spell: logged %v, suppressed %d; want true, 3421", ok, n)
	}
}

// TestLibLogRouting sends go-redis-style lines through the router: they
// reach the most recently opened logger as structured records, fall back
// to the previous one when it is detached, and unknown formats beyond the
// tracked number share one limit.
func TestLibLogRouting(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLibLogger(func() time.Time { return now })
	l.installed = true // do not touch go-redis's global logger here
	var a, b testlog.Buffer
	detachA := l.attach(slog.New(slog.NewJSONHandler(&a, nil)))
	defer detachA()
	detachB := l.attach(slog.New(slog.NewJSONHandler(&b, nil)))
	l.Printf(t.Context(), "redis: connection pool: failed to dial after %d attempts: %v", 1, errors.New("connection refused"))
	l.Printf(t.Context(), "redis: connection pool: failed to dial after %d attempts: %v", 1, errors.New("connection refused"))
	detachB()
	// go-redis passes some preformatted lines as the format.
	var lib func(ctx context.Context, format string, v ...any) = l.Printf
	lib(t.Context(), "100% literal line without arguments")
	for i := 1; i <= 200; i++ {
		lib(t.Context(), strings.Repeat("x", i)) // distinct formats
	}
	recs := records(t, b.String())
	if len(recs) != 1 || recs[0]["msg"] != libLogMessage || recs[0]["level"] != "WARN" ||
		recs[0]["message"] != "redis: connection pool: failed to dial after 1 attempts: connection refused" {
		t.Errorf("records of the newest logger: %v; want one structured dial failure", recs)
	}
	recs = records(t, a.String())
	if len(recs) < 2 || recs[0]["message"] != "100% literal line without arguments" {
		t.Fatalf("records of the older logger: %v", recs)
	}
	// Each logger has its own limits: the literal line and 63 more formats
	// are tracked, then the first of the rest, which share one limit.
	if n := len(recs) - 1; n != libLogMaxFormats {
		t.Errorf("%d records of distinct formats; want %d, the rest sharing one limit", n, libLogMaxFormats)
	}
}

func records(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		recs = append(recs, m)
	}
	return recs
}

// TestOutageLogsAFewStructuredLines stops a real Redis server under a store
// that keeps being read, as a cache probing for the store would, and counts
// what reaches the store's Logger: go-redis's failed dials arrive as a
// handful of structured records, not one plain line each.
func TestOutageLogsAFewStructuredLines(t *testing.T) {
	srv := startServer(t, plainArgs)
	var buf testlog.Buffer
	s := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: testPrefix("liblog"),
		Logger: slog.New(slog.NewJSONHandler(&buf, nil))})
	ctx := ctxT(t)
	if err := s.Init(ctx, nil); err != nil {
		t.Fatal(err)
	}
	srv.stop()
	const calls = 20
	for range calls {
		if _, err := s.Initialized(ctx); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Initialized during the outage: %v; want ErrUnavailable", err)
		}
	}
	recs := records(t, buf.String())
	t.Logf("%d failed calls, %d log records: %v", calls, len(recs), recs)
	dials := 0
	for _, r := range recs {
		if r["msg"] != libLogMessage {
			t.Errorf("record %v: want message %q", r, libLogMessage)
		}
		if m, _ := r["message"].(string); strings.Contains(m, "failed to dial") {
			dials++
		}
	}
	if dials != 1 {
		t.Errorf("%d records of failed dials; want 1 (the rest rate-limited)", dials)
	}
	if len(recs) > 5 {
		t.Errorf("%d records for one outage; want a handful", len(recs))
	}
}
