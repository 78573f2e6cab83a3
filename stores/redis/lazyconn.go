package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// go-redis spends, on every command, more than a microsecond of CPU on
// work that changes nothing for a connection in steady use:
//
//   - it moves the connection's write and read deadlines (a runtime timer
//     modified twice, each after its own clock read), having cleared both
//     when it took the connection from the pool;
//   - it checks the connection's health when taking it from the pool: a
//     non-blocking recv(MSG_PEEK) system call (and three allocations), to
//     find a connection the server closed while it sat idle.
//
// A lazyConn, which wraps every connection the store's client dials, keeps
// both guarantees at a fraction of the cost:
//
//   - a deadline is applied only when the one in force is earlier than the
//     one asked for, or later by more than deadlineSlack: it then moves to
//     deadlineSlack past the one asked for, so the commands of the next
//     deadlineSlack need no change. A deadline fires at most deadlineSlack
//     late, never early; an earlier one (a caller cutting a wait short) is
//     applied at once, exactly; a cleared one is cleared before the next
//     read or write.
//   - the health check runs as before on a connection that has not read a
//     reply for healthCheckAfter or more; one that read one more recently
//     is taken as healthy, as go-redis takes a TLS connection (which it
//     cannot check) always. A server that closes connections in use within
//     healthCheckAfter of their last reply costs the command on such a
//     connection one of its retries (MaxRetries, see Options.Redis).
const deadlineSlack = 10 * time.Millisecond

// healthCheckAfter is a variable for tests only.
var healthCheckAfter = 10 * time.Millisecond

// lazyDialer returns the dialer of the store's client: inner (the user's
// Options.Redis.Dialer, or when nil go-redis's own: TCP with a 5-minute
// keep-alive, then TLS when tlsConfig is set), each connection wrapped in a
// lazyConn.
func lazyDialer(inner func(ctx context.Context, network, addr string) (net.Conn, error), dialTimeout time.Duration,
	tlsConfig *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if inner == nil {
		if dialTimeout <= 0 {
			dialTimeout = DefaultDialTimeout
		}
		inner = goredis.NewDialer(&goredis.Options{DialTimeout: dialTimeout, TLSConfig: tlsConfig})
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := inner(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return newLazyConn(c), nil
	}
}

// lazyConn is a net.Conn whose deadlines move lazily and whose health check
// is skipped while it is in use (see above). It is safe for concurrent use
// as net.Conn is.
type lazyConn struct {
	net.Conn
	raw    syscall.RawConn // the wrapped connection's, nil when it has none
	rd, wd lazyDeadline
	// replied is monoNow when a Read last returned data.
	replied atomic.Int64
	check   healthRaw
}

func newLazyConn(c net.Conn) *lazyConn {
	l := &lazyConn{Conn: c}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			l.raw = raw
		}
	}
	l.check.c = l
	return l
}

// monoBase and monoNow are a monotonic clock for lazyConn's bookkeeping.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

func (c *lazyConn) Read(p []byte) (int, error) {
	if err := c.rd.sync(c.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.replied.Store(monoNow())
	}
	return n, err
}

func (c *lazyConn) Write(p []byte) (int, error) {
	if err := c.wd.sync(c.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

func (c *lazyConn) SetReadDeadline(t time.Time) error { return c.rd.set(t, c.Conn.SetReadDeadline) }

func (c *lazyConn) SetWriteDeadline(t time.Time) error { return c.wd.set(t, c.Conn.SetWriteDeadline) }

func (c *lazyConn) SetDeadline(t time.Time) error {
	return errors.Join(c.rd.set(t, c.Conn.SetReadDeadline), c.wd.set(t, c.Conn.SetWriteDeadline))
}

// SyscallConn returns the raw connection go-redis's pool checks an idle
// connection's health with (see healthRaw). It makes no allocation.
func (c *lazyConn) SyscallConn() (syscall.RawConn, error) { return &c.check, nil }

// healthRaw is the syscall.RawConn of a lazyConn. Read, the pool's health
// check, runs the check on the wrapped connection only when the connection
// has not read a reply for healthCheckAfter (its deadlines brought up to
// date first, so that one left over from its last command does not fail
// the check); otherwise, and when the wrapped connection has no raw
// connection (as go-redis treats it), it reports a healthy connection.
type healthRaw struct{ c *lazyConn }

func (h *healthRaw) Read(f func(fd uintptr) bool) error {
	c := h.c
	if c.raw == nil || monoNow()-c.replied.Load() < int64(healthCheckAfter) && c.replied.Load() != 0 {
		return nil
	}
	if err := c.rd.sync(c.Conn.SetReadDeadline); err != nil {
		return err
	}
	return c.raw.Read(f)
}

func (h *healthRaw) Control(f func(fd uintptr)) error {
	if h.c.raw == nil {
		return errNoRawConn
	}
	return h.c.raw.Control(f)
}

func (h *healthRaw) Write(f func(fd uintptr) bool) error {
	if h.c.raw == nil {
		return errNoRawConn
	}
	if err := h.c.wd.sync(h.c.Conn.SetWriteDeadline); err != nil {
		return err
	}
	return h.c.raw.Write(f)
}

var errNoRawConn = errors.New("redis: connection has no raw connection")

// lazyDeadline is one direction's deadline of a lazyConn: want is the one
// asked for, armed the one in force, both Unix nanoseconds, 0 for none.
type lazyDeadline struct {
	mu          sync.Mutex
	want, armed int64
}

// set records t as the deadline asked for and applies it with apply when
// the one in force does not honour it (see the top of this file).
func (d *lazyDeadline) set(t time.Time, apply func(time.Time) error) error {
	var w int64
	if !t.IsZero() {
		if w = t.UnixNano(); w == 0 {
			w = 1 // the Unix epoch itself: still a deadline, long past
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.want = w
	if w == 0 || d.armed != 0 && d.armed >= w && d.armed <= w+int64(deadlineSlack) {
		return nil // none: cleared by sync before the next I/O; or honoured
	}
	a := w
	if d.armed == 0 || d.armed < w {
		a = w + int64(deadlineSlack) // later than the one in force: leave room for the next ones
	}
	if err := apply(time.Unix(0, a)); err != nil {
		d.armed = -1 // unknown: applied again next time
		return err
	}
	d.armed = a
	return nil
}

// sync clears the deadline in force when none is asked for, before an I/O.
func (d *lazyDeadline) sync(apply func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.want != 0 || d.armed == 0 {
		return nil
	}
	if err := apply(time.Time{}); err != nil {
		return err
	}
	d.armed = 0
	return nil
}
