package redis

import (
	"errors"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// countingConn counts the deadlines applied to a connection.
type countingConn struct {
	net.Conn
	reads, writes atomic.Int64
}

func (c *countingConn) SetReadDeadline(t time.Time) error {
	c.reads.Add(1)
	return c.Conn.SetReadDeadline(t)
}

func (c *countingConn) SetWriteDeadline(t time.Time) error {
	c.writes.Add(1)
	return c.Conn.SetWriteDeadline(t)
}

// lazyPipe is a lazyConn over one end of a net.Pipe (whose deadlines run on
// synctest's fake clock), the other end, and the counts of deadlines
// applied.
func lazyPipe(t *testing.T) (*lazyConn, net.Conn, *countingConn) {
	a, b := net.Pipe()
	cc := &countingConn{Conn: a}
	t.Cleanup(func() { a.Close(); b.Close() })
	return newLazyConn(cc), b, cc
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// Deadlines: a read or write deadline fires no earlier than asked and at
// most deadlineSlack later; the deadlines of commands that follow each
// other (as go-redis sets them: cleared, then now plus the timeout, each
// command) are applied once per deadlineSlack, not per command; an earlier
// deadline set while a read waits ends it at once; a cleared deadline no
// longer ends a read.
func TestLazyDeadlines(t *testing.T) {
	t.Run("read fires on time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, _, _ := lazyPipe(t)
			start := time.Now()
			if err := c.SetReadDeadline(start.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Read(make([]byte, 1))
			if d := time.Since(start); !isTimeout(err) || d < time.Second || d > time.Second+deadlineSlack {
				t.Errorf("Read with a 1s deadline: %v after %v; want a timeout within [1s, 1s+%v]", err, d, deadlineSlack)
			}
		})
	})
	t.Run("write fires on time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, _, _ := lazyPipe(t)
			start := time.Now()
			if err := c.SetWriteDeadline(start.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			_, err := c.Write([]byte("x")) // nobody reads the other end
			if d := time.Since(start); !isTimeout(err) || d < time.Second || d > time.Second+deadlineSlack {
				t.Errorf("Write with a 1s deadline: %v after %v; want a timeout within [1s, 1s+%v]", err, d, deadlineSlack)
			}
		})
	})
	t.Run("commands share deadlines", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, peer, cc := lazyPipe(t)
			go func() { // a server answering each byte with one
				buf := make([]byte, 1)
				for {
					if _, err := peer.Read(buf); err != nil {
						return
					}
					if _, err := peer.Write(buf); err != nil {
						return
					}
				}
			}()
			const commands = 100
			buf := make([]byte, 1)
			for range commands {
				now := time.Now()
				if err := c.SetDeadline(time.Time{}); err != nil { // the pool's health check
					t.Fatal(err)
				}
				if err := c.SetWriteDeadline(now.Add(3 * time.Second)); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Write(buf); err != nil {
					t.Fatal(err)
				}
				if err := c.SetReadDeadline(now.Add(3 * time.Second)); err != nil {
					t.Fatal(err)
				}
				if _, err := c.Read(buf); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Millisecond)
			}
			// 100 ms of commands: one deadline per 10 ms each way.
			want := int64(commands*time.Millisecond/deadlineSlack) + 1
			if r, w := cc.reads.Load(), cc.writes.Load(); r > want || w > want || r == 0 || w == 0 {
				t.Errorf("%d commands applied %d read and %d write deadlines; want 1 to %d each", commands, r, w, want)
			}
		})
	})
	t.Run("earlier deadline ends a waiting read", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, _, _ := lazyPipe(t)
			start := time.Now()
			if err := c.SetReadDeadline(start.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				_, err := c.Read(make([]byte, 1))
				done <- err
			}()
			synctest.Wait()
			if err := c.SetReadDeadline(start); err != nil {
				t.Fatal(err)
			}
			if err := <-done; !isTimeout(err) || time.Since(start) != 0 {
				t.Errorf("Read after its deadline moved to now: %v after %v; want a timeout at once", err, time.Since(start))
			}
		})
	})
	t.Run("cleared deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c, peer, _ := lazyPipe(t)
			start := time.Now()
			if err := c.SetReadDeadline(start.Add(time.Second)); err != nil {
				t.Fatal(err)
			}
			if err := c.SetReadDeadline(time.Time{}); err != nil {
				t.Fatal(err)
			}
			go func() {
				time.Sleep(2 * time.Second)
				_, _ = peer.Write([]byte("x"))
			}()
			n, err := c.Read(make([]byte, 1))
			if n != 1 || err != nil || time.Since(start) != 2*time.Second {
				t.Errorf("Read after its deadline was cleared: %d, %v after %v; want the byte written at 2s", n, err, time.Since(start))
			}
		})
	})
	t.Run("no raw connection", func(t *testing.T) {
		c, _, _ := lazyPipe(t) // net.Pipe has no file descriptor
		raw, err := c.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		called := false
		if err := raw.Read(func(uintptr) bool { called = true; return true }); err != nil || called {
			t.Errorf("health check of a connection without a raw connection: %v, called %v; want healthy, as go-redis takes it", err, called)
		}
	})
}

// The pool's health check still finds a connection the server closed while
// it sat idle (healthCheckAfter after its last reply), so a read on a store
// without retries succeeds; while a connection is in use (its last reply
// within healthCheckAfter) the check is skipped, and a closed connection
// costs the command one retry (with none, the read fails). On a server the
// test owns, whose connections it kills with CLIENT KILL.
func TestLazyConnHealthCheck(t *testing.T) {
	srv := startServer(t, plainArgs)
	ctx := ctxT(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.addr()})
	t.Cleanup(func() { _ = admin.Close() })
	open := func(t *testing.T, retries int) *Store {
		p := testPrefix("health")
		if err := admin.HSet(ctx, p+":features", "f", `{"key":"f","version":1}`).Err(); err != nil {
			t.Fatal(err)
		}
		return mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: p,
			Redis: goredis.UniversalOptions{MaxRetries: retries, PoolSize: 1}})
	}
	kill := func(t *testing.T) {
		t.Helper()
		if err := admin.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
			t.Fatal(err)
		}
	}
	get := func(s *Store) error {
		_, found, err := s.Get(ctx, store.Features, "f")
		if err == nil && !found {
			err = errors.New("not found")
		}
		return err
	}
	for _, tc := range []struct {
		name    string
		after   time.Duration // healthCheckAfter
		retries int
		ok      bool
	}{
		{"idle, checked, no retries", 0, -1, true},
		{"in use, not checked, no retries", time.Hour, -1, false},
		{"in use, not checked, one retry", time.Hour, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := healthCheckAfter
			healthCheckAfter = tc.after
			t.Cleanup(func() { healthCheckAfter = old })
			s := open(t, tc.retries)
			if err := get(s); err != nil {
				t.Fatal(err)
			}
			kill(t)
			if err := get(s); (err == nil) != tc.ok {
				t.Errorf("Get after the server closed the pooled connection: %v; want success %v", err, tc.ok)
			}
			if err := get(s); err != nil {
				t.Errorf("Get on a new connection: %v", err)
			}
		})
	}
}
