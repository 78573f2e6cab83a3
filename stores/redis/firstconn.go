package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/internal/nudge"
)

// The store's first round trip. A new client's first evaluation waits for
// one: the cache's start check with the first item read (StartCheck). Over
// go-redis that round trip costs about twice what the same commands cost
// over a connection written to directly: go-redis dials each connection on
// a goroutine of its own, which the caller waits for, and builds the pool's
// connection state around it (bufio buffers, deadlines, a connection id).
// A new process pays that before its first evaluation, and LaunchDarkly's
// redigo store, which dials on the caller's goroutine, does not.
//
// So a store on a single server, whose connections open with nothing but a
// bare HELLO (see handshake.go, which answers it), makes its first
// StartCheck itself: it dials with the store's own dialer on the caller's
// goroutine, writes the pipeline's commands in RESP2, reads the replies,
// and then hands the connection, idle and fully read, to go-redis: the
// pool's next dial takes it instead of opening a new one, and go-redis's
// handshake on it is answered as on any new connection. The replies are
// taken only when every one is what the commands return (an integer, a bulk
// string or nil, as https://redis.io/docs/latest/develop/reference/protocol-spec/
// specifies for RESP2); on anything else (a failed dial, an error reply, a
// timeout, a malformed reply) the connection is closed and StartCheck makes
// the round trip through go-redis as before, with its retries and errors.

// firstConn makes the store's first StartCheck on a connection it dials
// itself, and keeps that connection for go-redis's next dial.
type firstConn struct {
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	network string
	addr    string
	timeout time.Duration // of the round trip, when ctx has no deadline

	claimed atomic.Bool // the first StartCheck has begun

	mu       sync.Mutex
	spare    net.Conn // the first connection, until go-redis dials
	parkedAt time.Time
	closed   bool
}

// spareLife is how long the first connection waits for go-redis's first
// dial; an older one is closed and go-redis dials anew (as it does when the
// server closed it or sent something unasked meanwhile).
var spareLife = 5 * time.Second

// claim reports whether the caller makes the store's first StartCheck.
func (f *firstConn) claim() bool {
	return f != nil && !f.claimed.Load() && f.claimed.CompareAndSwap(false, true)
}

// dialer returns inner, the store's dialer, with the spare connection
// handed to the first dial of f's address after f parked one.
func (f *firstConn) dialer(inner func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if network == f.network && addr == f.addr {
			if c := f.takeSpare(); c != nil {
				return c, nil
			}
		}
		return inner(ctx, network, addr)
	}
}

func (f *firstConn) takeSpare() net.Conn {
	f.mu.Lock()
	c, at := f.spare, f.parkedAt
	f.spare = nil
	f.mu.Unlock()
	if c != nil && (time.Since(at) > spareLife || !nudge.Quiet(c)) {
		_ = c.Close() // old, or the server closed it (or sent something unasked)
		return nil
	}
	return c
}

// park keeps c for go-redis's next dial.
func (f *firstConn) park(c net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.spare != nil {
		_ = c.Close()
		return
	}
	f.spare, f.parkedAt = c, time.Now()
}

// close closes the spare connection, if any, and parks no other.
func (f *firstConn) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	c := f.spare
	f.spare, f.closed = nil, true
	f.mu.Unlock()
	if c != nil {
		_ = c.Close()
	}
}

// firstCmd is one command of the first round trip and the type of reply
// it takes: an integer, or else a bulk string (or nil).
type firstCmd struct {
	args    []string
	integer bool
}

// roundTrip dials, sends cmds in one write and reads one reply per command,
// each of the type the command takes. On success the connection is parked
// for go-redis; on any failure it is closed and the error returned.
func (f *firstConn) roundTrip(ctx context.Context, cmds []firstCmd) ([]reply, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(f.timeout)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	c, err := f.dial(dctx, f.network, f.addr)
	if err == nil {
		var replies []reply
		if replies, err = exchange(dctx, c, deadline, cmds); err == nil {
			f.park(c)
			return replies, nil
		}
		_ = c.Close()
	}
	cerr := ctx.Err()
	if cerr == nil && ok && !time.Now().Before(deadline) {
		cerr = context.DeadlineExceeded // as the connection's: ctx's timer fires next
	}
	if cerr != nil {
		return nil, fmt.Errorf("%w (%w)", cerr, err)
	}
	return nil, err
}

// exchange writes cmds to c and reads their replies, within deadline and
// while ctx lasts, then clears c's deadlines.
func exchange(ctx context.Context, c net.Conn, deadline time.Time, cmds []firstCmd) ([]reply, error) {
	if err := c.SetDeadline(deadline); err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	var buf []byte
	for _, cmd := range cmds {
		buf = appendCommand(buf, cmd.args)
	}
	if _, err := c.Write(buf); err != nil {
		stop()
		return nil, err
	}
	r := bufio.NewReaderSize(c, 4096)
	replies := make([]reply, len(cmds))
	for i := range replies {
		rep, err := readReply(r)
		if err == nil && rep.isInt != cmds[i].integer {
			err = fmt.Errorf("%w: the wrong type for %s", errReply, cmds[i].args[0])
		}
		if err != nil {
			stop()
			return nil, err
		}
		replies[i] = rep
	}
	if !stop() {
		return nil, context.Cause(ctx) // the deadline was moved: the connection is unusable
	}
	if r.Buffered() > 0 {
		return nil, fmt.Errorf("%w: %d bytes after the last reply", errReply, r.Buffered())
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return replies, nil
}

// appendCommand appends args to buf as a RESP2 array of bulk strings.
func appendCommand(buf []byte, args []string) []byte {
	buf = append(buf, '*')
	buf = strconv.AppendInt(buf, int64(len(args)), 10)
	buf = append(buf, '\r', '\n')
	for _, a := range args {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, '\r', '\n')
		buf = append(buf, a...)
		buf = append(buf, '\r', '\n')
	}
	return buf
}

// reply is one RESP2 reply to a command of the first round trip: an
// integer (EXISTS), or a bulk string, nil when null (GET, HGET).
type reply struct {
	isInt bool
	n     int64
	bulk  []byte
	null  bool
}

// errReply is the error of a reply the first round trip does not take.
var errReply = errors.New("redis: unexpected reply")

// maxBulk is the longest bulk string taken: Redis's own limit
// (proto-max-bulk-len) by default.
const maxBulk = 512 << 20

// readReply reads one reply: an integer, a bulk string or a null bulk
// string. Anything else (an error reply, an array, a malformed or
// truncated reply) is an error.
func readReply(r *bufio.Reader) (reply, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return reply{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return reply{}, fmt.Errorf("%w: a line without CRLF", errReply)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case ':':
		n, err := strconv.ParseInt(string(body), 10, 64)
		if err != nil {
			return reply{}, fmt.Errorf("%w: integer %q", errReply, body)
		}
		return reply{isInt: true, n: n}, nil
	case '$':
		n, err := strconv.ParseInt(string(body), 10, 64)
		switch {
		case err != nil || n < -1 || n > maxBulk:
			return reply{}, fmt.Errorf("%w: bulk length %q", errReply, body)
		case n == -1:
			return reply{null: true}, nil
		}
		data := make([]byte, n+2)
		if _, err := io.ReadFull(r, data); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return reply{}, err
		}
		if data[n] != '\r' || data[n+1] != '\n' {
			return reply{}, fmt.Errorf("%w: a bulk string without CRLF", errReply)
		}
		return reply{bulk: data[:n:n]}, nil
	case '-':
		return reply{}, fmt.Errorf("%w: %q", errReply, body)
	default:
		return reply{}, fmt.Errorf("%w: type %q", errReply, line[0])
	}
}
