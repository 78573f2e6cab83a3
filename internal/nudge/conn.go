package nudge

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Conn is a net.Conn whose waiting reader [Nudge] can wake (see the package
// documentation). Its methods are those of the connection it wraps; Read
// never returns the early timeouts of a wake-up.
type Conn struct {
	net.Conn
	raw syscall.RawConn

	mu       sync.Mutex
	deadline time.Time // the read deadline the user set
	reading  bool      // a Read waits on the wrapped connection
	nudged   bool      // the deadline was moved to wake the reader, not yet restored
	peek     peeker

	idx int           // in waiting.conns while reading; guarded by waiting.mu
	ack chan struct{} // the reader took a wake-up
}

// past is a read deadline that has passed: setting it wakes a waiting reader.
var past = time.Unix(1, 0)

// Wrap returns c wrapped so that Nudge can wake its reader, or c itself
// when its readiness cannot be checked without blocking (c is not a
// syscall.Conn, or the system has no such check). Wrap the plain
// connection, under any TLS layer: the check looks at the kernel's buffer.
func Wrap(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok || !canPeek {
		return c
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	w := &Conn{Conn: c, raw: raw, ack: make(chan struct{}, 1)}
	w.peek.init()
	return w
}

// SyscallConn returns the wrapped connection's raw connection, so that a
// user checking an idle connection's health (go-redis) still can.
func (c *Conn) SyscallConn() (syscall.RawConn, error) { return c.raw, nil }

// Read reads as the wrapped connection does. Reads must not overlap (a
// stream's do not: go-redis and crypto/tls read from one goroutine at a
// time); a Read that overlaps another is made as the wrapped connection
// makes it, but a wake-up meant for the other may end it with a timeout.
func (c *Conn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		if c.reading {
			c.mu.Unlock()
			return c.Conn.Read(p)
		}
		c.reading = true
		c.mu.Unlock()
		register(c)
		n, err := c.Conn.Read(p)
		unregister(c)
		c.mu.Lock()
		c.reading = false
		nudged := c.nudged
		var rerr error
		if nudged {
			c.nudged = false
			rerr = c.Conn.SetReadDeadline(c.deadline)
		}
		deadline := c.deadline
		c.mu.Unlock()
		if !nudged {
			return n, err
		}
		c.ack <- struct{}{} // the waker runs when this goroutine blocks again
		if rerr != nil {
			return n, rerr
		}
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && (deadline.IsZero() || time.Now().Before(deadline)) {
			// The wake-up's timeout, not the user's.
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// SetDeadline sets the read and write deadlines as the wrapped connection
// does.
func (c *Conn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetDeadline(t)
}

// SetReadDeadline sets the read deadline as the wrapped connection does.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deadline = t
	return c.Conn.SetReadDeadline(t)
}

// nudge wakes c's reader if it waits and its reply has arrived, and waits
// until the reader has taken the wake-up (it runs next on this processor),
// reporting whether it did.
func (c *Conn) nudge() bool {
	c.mu.Lock()
	if !c.reading || c.nudged || !c.peek.readable(c.raw) {
		c.mu.Unlock()
		return false
	}
	if err := c.Conn.SetReadDeadline(past); err != nil {
		c.mu.Unlock()
		return false // closed
	}
	c.nudged = true
	c.mu.Unlock()
	<-c.ack
	return true
}

// Quiet reports whether a read of c would block: no byte has arrived and
// the peer has not closed it, what an idle connection of a
// request-response protocol looks like. c is a connection Wrap returned,
// or a TLS connection over one (whose idle socket may also hold a
// message the server sent unasked, such as a TLS 1.3 session ticket: not
// quiet). Quiet is true when it cannot tell (any other connection). It
// makes one non-blocking system call.
func Quiet(c net.Conn) bool {
	if t, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = t.NetConn()
	}
	w, ok := c.(*Conn)
	if !ok {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.peek.readable(w.raw)
}
