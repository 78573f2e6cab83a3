package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis logs through one process-wide logger (redis.SetLogger) in plain
// text: a failed dial, for instance, once per attempt, about twenty lines per
// outage. The first Store a process opens installs libLog in its place, which
// turns each line into a structured slog record on the Logger of the most
// recently opened Store still open, rate-limited per store and kind of line.

// Rate limits of go-redis's lines, per format string: the first line of an
// episode is logged at once, the next after libLogFirstGap, and then at
// intervals that double up to libLogMaxGap, each with the number of lines
// suppressed since the last one. A format quiet for longer than
// libLogQuietReset starts a new episode.
const (
	libLogFirstGap   = time.Minute
	libLogMaxGap     = time.Hour
	libLogQuietReset = time.Minute
	libLogMaxFormats = 64 // formats tracked one by one; the rest share a limit
)

// libLogMessage is the message of every record made from a go-redis line;
// the line itself is its "message" attribute.
const libLogMessage = "redis client library"

var libLog = newLibLogger(time.Now)

// libLogger is the go-redis logger this package installs.
type libLogger struct {
	now func() time.Time

	mu        sync.Mutex
	installed bool
	sinks     []*libLogSink // open stores' loggers, in opening order
}

// libLogSink is one store's logger with its own rate limits, so that a
// store opened after another one's outage still sees its first line.
type libLogSink struct {
	log    *slog.Logger
	limits map[string]*libLogLimit
}

func newLibLogger(now func() time.Time) *libLogger {
	return &libLogger{now: now}
}

// attach installs l as go-redis's logger (once per process) and makes log
// the destination of its lines until detach is called.
func (l *libLogger) attach(log *slog.Logger) (detach func()) {
	s := &libLogSink{log: log, limits: map[string]*libLogLimit{}}
	l.mu.Lock()
	if !l.installed {
		l.installed = true
		goredis.SetLogger(l)
	}
	l.sinks = append(l.sinks, s)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, x := range l.sinks {
			if x == s {
				l.sinks = append(l.sinks[:i], l.sinks[i+1:]...)
				return
			}
		}
	}
}

// fallback is where lines go while no store is open.
var fallback = &libLogSink{limits: map[string]*libLogLimit{}}

// Printf implements go-redis's logging interface. Lines that report a
// failure are warnings; the others (a Sentinel naming the master) are
// informational.
func (l *libLogger) Printf(ctx context.Context, format string, args ...any) {
	l.mu.Lock()
	sink := fallback
	if n := len(l.sinks); n > 0 {
		sink = l.sinks[n-1]
	}
	key := format
	if _, ok := sink.limits[key]; !ok && len(sink.limits) >= libLogMaxFormats {
		key = "" // go-redis builds some formats from connection IDs
	}
	lim := sink.limits[key]
	if lim == nil {
		lim = &libLogLimit{}
		sink.limits[key] = lim
	}
	ok, suppressed := lim.allow(l.now())
	log := sink.log
	l.mu.Unlock()
	if !ok {
		return
	}
	if log == nil {
		log = slog.Default()
	}
	text := format
	if len(args) > 0 {
		text = fmt.Sprintf(format, args...)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelInfo
	if lower := strings.ToLower(text); strings.Contains(lower, "fail") || strings.Contains(lower, "error") ||
		strings.Contains(lower, "panic") || strings.Contains(lower, "unexpected") {
		level = slog.LevelWarn
	}
	if suppressed > 0 {
		log.Log(ctx, level, libLogMessage, "message", text, "suppressed", suppressed)
		return
	}
	log.Log(ctx, level, libLogMessage, "message", text)
}

// libLogLimit is the rate limit of one kind of line.
type libLogLimit struct {
	lastSeen, lastEmit time.Time
	gap                time.Duration
	suppressed         int
}

// allow reports whether a line seen at now is logged, and how many lines
// were suppressed before it.
func (s *libLogLimit) allow(now time.Time) (bool, int) {
	quiet := s.lastSeen.IsZero() || now.Sub(s.lastSeen) > libLogQuietReset
	s.lastSeen = now
	switch {
	case quiet:
		s.gap = libLogFirstGap
	case now.Sub(s.lastEmit) >= s.gap:
		s.gap = min(2*s.gap, libLogMaxGap)
	default:
		s.suppressed++
		return false, 0
	}
	s.lastEmit = now
	n := s.suppressed
	s.suppressed = 0
	return true, n
}
