package redis

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// serverStat returns field of INFO section on the server raw talks to.
func serverStat(t *testing.T, raw *goredis.Client, section, field string) int {
	t.Helper()
	info, err := raw.Info(context.Background(), section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("INFO %s line %q: %v", section, line, err)
			}
			return n
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return 0
}

// privateServer starts a redis-server of the test's own (so that connection
// counts are the test's) and a raw client on it, connected.
func privateServer(t *testing.T) (*server, *goredis.Client) {
	t.Helper()
	srv := startServer(t, plainArgs)
	raw := goredis.NewClient(&goredis.Options{Addr: srv.addr(), Protocol: 2})
	t.Cleanup(func() { _ = raw.Close() })
	if err := raw.Ping(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	return srv, raw
}

// writeDataset stores an initialized dataset with flag "f" at prefix.
func writeDataset(t *testing.T, addr, prefix string) {
	t.Helper()
	w := mustOpen(t, Options{Addrs: []string{addr}, Prefix: prefix})
	if err := w.Init(ctxT(t), []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: markFlag(t, 1, true)}}}}); err != nil {
		t.Fatal(err)
	}
}

// checkAnswers fails unless sc is what the store's separate calls answer
// for item "f" (or key).
func checkAnswers(t *testing.T, s *Store, sc store.StartCheck, key string) {
	t.Helper()
	ctx := ctxT(t)
	inited, ierr := s.Initialized(ctx)
	mark, merr := s.WriteMark(ctx)
	last, ok, lerr := s.LastWrite(ctx)
	data, found, gerr := s.GetUnparsed(ctx, store.Features, key)
	if sc.InitErr != nil || ierr != nil || sc.Inited != inited {
		t.Errorf("StartCheck inited %v, %v; Initialized %v, %v", sc.Inited, sc.InitErr, inited, ierr)
	}
	if errors.Is(merr, errors.ErrUnsupported) != errors.Is(sc.MarkErr, errors.ErrUnsupported) || sc.Mark != mark {
		t.Errorf("StartCheck mark %q, %v; WriteMark %q, %v", sc.Mark, sc.MarkErr, mark, merr)
	}
	if sc.LastWriteErr != nil || lerr != nil || sc.LastWriteOK != ok || !sc.LastWrite.Equal(last) {
		t.Errorf("StartCheck last write %v, %v, %v; LastWrite %v, %v, %v", sc.LastWrite, sc.LastWriteOK, sc.LastWriteErr, last, ok, lerr)
	}
	keyspace := s.notify == NotifyKeyspace
	if sc.ItemRead == keyspace || !keyspace && (sc.ItemErr != nil || gerr != nil || sc.ItemFound != found || !bytes.Equal(sc.ItemData, data)) {
		t.Errorf("StartCheck item read %v: %q, %v, %v; GetUnparsed %q, %v, %v (keyspace %v: no item)", sc.ItemRead, sc.ItemData, sc.ItemFound, sc.ItemErr, data, found, gerr, keyspace)
	}
}

// A new store's first StartCheck is made on a connection the store dials
// itself, and that connection is the one go-redis then uses: the check, the
// store's later calls and all their answers, on one connection.
func TestFirstStartCheckIsDirectAndKeepsItsConnection(t *testing.T) {
	srv, raw := privateServer(t)
	for _, tc := range []struct {
		name   string
		notify string
		key    string
	}{
		{"item found", "", "f"},
		{"item missing", "", "nope"},
		{"keyspace", NotifyKeyspace, "f"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix("first")
			writeDataset(t, srv.addr(), prefix) // each store drops its prefix at the end
			before := serverStat(t, raw, "stats", "total_connections_received")
			s := mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: prefix, Notify: tc.notify})
			if s.first == nil {
				t.Fatal("a single-server store without credentials has no direct first round trip")
			}
			sc := s.StartCheck(ctxT(t), store.Features, tc.key)
			if !sc.Inited || sc.LastWriteErr != nil || !sc.LastWriteOK {
				t.Fatalf("StartCheck = %+v; want initialized with a last write", sc)
			}
			checkAnswers(t, s, sc, tc.key)
			if got := serverStat(t, raw, "stats", "total_connections_received") - before; got != 1 {
				t.Errorf("connections opened for the check and four more calls = %d; want 1", got)
			}
		})
	}
}

// Only a single server's store whose connections need no handshake makes
// its first round trip itself; the others leave it to go-redis.
func TestFirstStartCheckOnlyWithoutHandshake(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		want bool
	}{
		{"plain", Options{Addrs: []string{"127.0.0.1:1"}}, true},
		{"password", Options{Addrs: []string{"127.0.0.1:1"}, Redis: goredis.UniversalOptions{Password: "p"}}, false},
		{"client name", Options{Addrs: []string{"127.0.0.1:1"}, Redis: goredis.UniversalOptions{ClientName: "n"}}, false},
		{"database 2", Options{Addrs: []string{"127.0.0.1:1"}, Redis: goredis.UniversalOptions{DB: 2}}, false},
		{"RESP3", Options{Addrs: []string{"127.0.0.1:1"}, Redis: goredis.UniversalOptions{Protocol: 3}}, false},
		{"own dialer", Options{Addrs: []string{"127.0.0.1:1"}, Redis: goredis.UniversalOptions{Dialer: (&net.Dialer{}).DialContext}}, false},
		{"cluster", Options{Addrs: []string{"127.0.0.1:1"}, Cluster: true, AllowUnhashedClusterPrefix: true}, false},
		{"sentinel", Options{Addrs: []string{"127.0.0.1:1"}, MasterName: "m"}, false},
		{"unix socket", Options{Addrs: []string{"/tmp/redis.sock"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.first != nil; got != tc.want {
				t.Errorf("direct first round trip = %v; want %v", got, tc.want)
			}
		})
	}
}

// hostileFirst is a TCP proxy to a real server whose first connection gets
// reply instead of the server's answer (then, when hang, stays open
// without a word; otherwise it is closed); later connections are proxied.
type hostileFirst struct {
	ln       net.Listener
	reply    string
	hang     bool
	accepted atomic.Int32
	wg       sync.WaitGroup
}

func startHostileFirst(t *testing.T, upstream, reply string, hang bool) *hostileFirst {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &hostileFirst{ln: ln, reply: reply, hang: hang}
	var mu sync.Mutex
	var conns []net.Conn
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			n := h.accepted.Add(1)
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				if n == 1 {
					h.first(c)
					return
				}
				up, err := net.Dial("tcp", upstream)
				if err != nil {
					_ = c.Close()
					return
				}
				mu.Lock()
				conns = append(conns, up)
				mu.Unlock()
				go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
				_, _ = io.Copy(c, up)
				_ = c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		h.wg.Wait()
	})
	return h
}

// first reads the first write of the pipeline (one read: it is one write)
// and answers it with h.reply.
func (h *hostileFirst) first(c net.Conn) {
	buf := make([]byte, 4096)
	if _, err := c.Read(buf); err != nil {
		_ = c.Close()
		return
	}
	_, _ = c.Write([]byte(h.reply))
	if h.hang {
		_, _ = io.Copy(io.Discard, c) // until the client or the test closes it
	}
	_ = c.Close()
}

func (h *hostileFirst) addr() string { return h.ln.Addr().String() }

// When the first connection answers anything but the replies the commands
// give (an error, a reply of the wrong type, a malformed or truncated one,
// more than was asked for, nothing at all), the store drops it, and
// StartCheck makes the round trip through go-redis as before: the answers
// are the server's, from a second connection.
func TestFirstStartCheckFallsBackOnABadReply(t *testing.T) {
	srv, _ := privateServer(t)
	for _, tc := range []struct{ name, reply string }{
		{"error reply", "-ERR not today\r\n"},
		{"array", "*1\r\n:1\r\n"},
		{"bulk for EXISTS", "$1\r\n1\r\n$-1\r\n$-1\r\n$-1\r\n"},
		{"integer for GET", ":1\r\n:2\r\n:3\r\n:4\r\n"},
		{"bad integer", ":one\r\n"},
		{"huge bulk length", ":1\r\n$99999999999\r\n"},
		{"negative bulk length", ":1\r\n$-2\r\n"},
		{"truncated bulk", ":1\r\n$10\r\nabc"},
		{"bulk without CRLF", ":1\r\n$3\r\nabcde\r\n"},
		{"line without CR", ":1\n"},
		{"extra bytes", ":1\r\n$-1\r\n$-1\r\n$-1\r\n:5\r\n"},
		{"no reply", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := testPrefix("hostile")
			writeDataset(t, srv.addr(), prefix) // each store drops its prefix at the end
			h := startHostileFirst(t, srv.addr(), tc.reply, false)
			s := mustOpen(t, Options{Addrs: []string{h.addr()}, Prefix: prefix, DialAttempts: 1})
			sc := s.StartCheck(ctxT(t), store.Features, "f")
			if !sc.Inited || !sc.ItemFound {
				t.Fatalf("StartCheck = %+v; want the server's answers (initialized, f found)", sc)
			}
			checkAnswers(t, s, sc, "f")
			if n := h.accepted.Load(); n != 2 {
				t.Errorf("connections = %d; want 2 (the dropped first one, then go-redis's)", n)
			}
		})
	}
}

// A first connection that never answers holds StartCheck until its
// context ends, then each answer fails with that error: no panic, no
// second wait.
func TestFirstStartCheckSilentServer(t *testing.T) {
	srv, _ := privateServer(t)
	h := startHostileFirst(t, srv.addr(), "", true)
	s := mustOpen(t, Options{Addrs: []string{h.addr()}, Prefix: testPrefix("silent"), DialAttempts: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sc := s.StartCheck(ctx, store.Features, "f")
	for _, err := range []error{sc.InitErr, sc.MarkErr, sc.LastWriteErr} {
		if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("answer error %v; want the context's deadline, as store.ErrUnavailable", err)
		}
	}
	if sc.ItemFound {
		t.Errorf("StartCheck found the item: %+v", sc)
	}
}

// The first StartCheck leaves its connection to go-redis, which takes it
// unless it is older than spareLife or the server closed it meanwhile;
// Close closes it when it is still waiting.
func TestFirstConnSpare(t *testing.T) {
	srv, raw := privateServer(t)
	prefix := testPrefix("spare")
	writeDataset(t, srv.addr(), prefix)
	ctx := ctxT(t)
	clients := func() int { return serverStat(t, raw, "clients", "connected_clients") }
	received := func() int { return serverStat(t, raw, "stats", "total_connections_received") }
	base := clients() // raw's connection, and the writer's
	open := func() *Store {
		return mustOpen(t, Options{Addrs: []string{srv.addr()}, Prefix: prefix, Redis: goredis.UniversalOptions{MaxRetries: -1}})
	}
	startCheck := func(s *Store) {
		t.Helper()
		if sc := s.StartCheck(ctx, store.Features, "f"); !sc.ItemFound {
			t.Fatalf("StartCheck = %+v", sc)
		}
	}
	get := func(s *Store) {
		t.Helper()
		if _, found, err := s.GetUnparsed(ctx, store.Features, "f"); err != nil || !found {
			t.Fatalf("GetUnparsed = %v, %v", found, err)
		}
	}

	s := open()
	startCheck(s)
	if n := clients(); n != base+1 {
		t.Fatalf("connected clients after the first StartCheck = %d; want %d", n, base+1)
	}
	_ = s.Close()
	waitFor(t, ctx, "Close to close the waiting first connection", func() bool { return clients() == base })

	// The server closes it while it waits: go-redis dials its own (and,
	// with no retries, its first call succeeds).
	s = open()
	startCheck(s)
	if err := raw.Do(ctx, "CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the kill", func() bool { return clients() == 1 })
	get(s)
	_ = s.Close()

	old := spareLife
	spareLife = 0
	t.Cleanup(func() { spareLife = old })
	base = clients()
	before := received()
	s = open()
	startCheck(s)
	get(s)
	if n := received() - before; n != 2 {
		t.Errorf("connections opened with a spareLife of 0 = %d; want 2 (the first StartCheck's, go-redis's)", n)
	}
	waitFor(t, ctx, "the expired connections to be closed", func() bool { return clients() == base+1 })
}

// readReply takes integers, bulk strings and nil, and refuses anything
// else with errReply or a read error.
func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want reply
		ok   bool
	}{
		{":1\r\n", reply{isInt: true, n: 1}, true},
		{":-7\r\n", reply{isInt: true, n: -7}, true},
		{"$3\r\nabc\r\n", reply{bulk: []byte("abc")}, true},
		{"$0\r\n\r\n", reply{bulk: []byte{}}, true},
		{"$-1\r\n", reply{null: true}, true},
		{"$5\r\na\r\nbc\r\n", reply{bulk: []byte("a\r\nbc")}, true},
		{"-ERR x\r\n", reply{}, false},
		{"+OK\r\n", reply{}, false},
		{"*0\r\n", reply{}, false},
		{":\r\n", reply{}, false},
		{":1\n", reply{}, false},
		{"$-2\r\n", reply{}, false},
		{"$536870913\r\n", reply{}, false},
		{"$3\r\nab", reply{}, false},
		{"$3\r\nabcd\r\n", reply{}, false},
		{"", reply{}, false},
		{":1", reply{}, false},
	} {
		got, err := readReply(bufio.NewReader(strings.NewReader(tc.in)))
		if (err == nil) != tc.ok {
			t.Errorf("readReply(%q) error %v; want ok %v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (got.isInt != tc.want.isInt || got.n != tc.want.n || got.null != tc.want.null || !bytes.Equal(got.bulk, tc.want.bulk)) {
			t.Errorf("readReply(%q) = %+v; want %+v", tc.in, got, tc.want)
		}
	}
}

// appendCommand writes RESP2 arrays of bulk strings.
func TestAppendCommand(t *testing.T) {
	got := string(appendCommand(appendCommand(nil, []string{"get", "k"}), []string{"hget", "h", ""}))
	if want := "*2\r\n$3\r\nget\r\n$1\r\nk\r\n*3\r\n$4\r\nhget\r\n$1\r\nh\r\n$0\r\n\r\n"; got != want {
		t.Errorf("appendCommand = %q; want %q", got, want)
	}
}

// FuzzReadReply: any input gives a reply or an error, never a panic, and a
// reply taken is what its bytes say: re-encoded, it reads back the same.
func FuzzReadReply(f *testing.F) {
	for _, s := range []string{":1\r\n", "$3\r\nabc\r\n", "$-1\r\n", "-ERR x\r\n", "$99999999999\r\n", "$2\r\nab", "*1\r\n:1\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		for range 4 {
			rep, err := readReply(r)
			if err != nil {
				return
			}
			var enc []byte
			switch {
			case rep.isInt:
				enc = strconv.AppendInt([]byte(":"), rep.n, 10)
				enc = append(enc, "\r\n"...)
			case rep.null:
				enc = []byte("$-1\r\n")
			default:
				enc = appendCommand(nil, []string{string(rep.bulk)})[4:] // drop "*1\r\n"
			}
			back, err := readReply(bufio.NewReader(bytes.NewReader(enc)))
			if err != nil || back.isInt != rep.isInt || back.n != rep.n || back.null != rep.null || !bytes.Equal(back.bulk, rep.bulk) {
				t.Fatalf("reply %+v re-encoded as %q reads back %+v, %v", rep, enc, back, err)
			}
		}
	})
}
