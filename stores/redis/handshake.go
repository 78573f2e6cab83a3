package redis

import (
	"bytes"
	"context"
	"net"
	"syscall"

	goredis "github.com/redis/go-redis/v9"
)

// The connection handshake. go-redis opens every connection with HELLO,
// carrying the protocol version and, when configured, the credentials and
// the client name: one round trip before the first command. A bare
// "HELLO 2" (RESP2, no credentials, no name) changes nothing on the server:
// a new connection speaks RESP2 already, and a server without HELLO (Redis
// before 6) answers with an error that go-redis ignores. Its reply is not
// used either (go-redis reads it and drops it). So when the store's
// connections would send exactly that, the dialer's connection answers it
// itself (an empty map) without sending it: a new connection's first
// command goes out at once, as with LaunchDarkly's redigo client, which
// sends no handshake. A HELLO that carries anything else (an ACL user or
// password, a client name, RESP3), or any other first write, goes to the
// server unchanged.

// bareHello is the RESP encoding of the HELLO go-redis sends for RESP2
// without credentials or a client name.
var bareHello = []byte("*2\r\n$5\r\nhello\r\n$1\r\n2\r\n")

// emptyHelloReply is what the connection answers to a bare HELLO: a RESP2
// map of no fields.
var emptyHelloReply = []byte("*0\r\n")

// answersBareHello reports whether u's connections open with a bare HELLO
// that the dialer may answer: RESP2, no credentials, no client name, and no
// hook that sends a command of the caller's first.
func answersBareHello(u *goredis.UniversalOptions) bool {
	return u.Protocol == 2 && u.Username == "" && u.Password == "" && u.ClientName == "" &&
		u.CredentialsProvider == nil && u.CredentialsProviderContext == nil &&
		u.StreamingCredentialsProvider == nil && u.OnConnect == nil
}

// helloDialer wraps dial (the store's own dialer, never one of the
// caller's) so that its connections answer a bare HELLO themselves. It
// wraps the connection go-redis writes to (above TLS, which encrypts the
// HELLO like any command).
func helloDialer(dial func(context.Context, string, string) (net.Conn, error)) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		h := helloConn{Conn: c}
		if sc, ok := c.(syscall.Conn); ok {
			// go-redis checks an idle connection's socket before reusing
			// it (a peek at the file descriptor): keep it possible.
			return &helloSysConn{helloConn: h, sc: sc}, nil
		}
		return &h, nil
	}
}

// helloConn is a connection whose first write, when it is a bare HELLO, is
// answered by the connection itself. go-redis uses a connection from one
// goroutine at a time.
type helloConn struct {
	net.Conn
	started bool   // the first write was seen
	reply   []byte // the rest of the answer to a bare HELLO, read before the socket
}

func (c *helloConn) Write(p []byte) (int, error) {
	if !c.started {
		c.started = true
		if bytes.Equal(p, bareHello) {
			c.reply = emptyHelloReply
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

func (c *helloConn) Read(p []byte) (int, error) {
	if len(c.reply) > 0 {
		n := copy(p, c.reply)
		c.reply = c.reply[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// helloSysConn is a helloConn on a connection with a file descriptor.
type helloSysConn struct {
	helloConn
	sc syscall.Conn
}

func (c *helloSysConn) SyscallConn() (syscall.RawConn, error) { return c.sc.SyscallConn() }
