package redis

import (
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testservers"
	"github.com/daemonflag/daemonflag/store"
)

// runToken makes this test process's prefixes unique, so reruns against the
// same servers never see old data.
var runToken = func() string {
	var b [4]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}()

// prefixSeq makes every prefix of this process distinct, also across
// repeated runs of a test (-count).
var prefixSeq atomic.Int64

// testPrefix returns a fresh plain prefix for name.
func testPrefix(name string) string {
	return fmt.Sprintf("dft-%s-%d-%s", runToken, prefixSeq.Add(1), name)
}

// taggedPrefix returns a fresh prefix with a hash tag, for a Cluster.
func taggedPrefix(name string) string { return "{" + testPrefix(name) + "}" }

func ctxT(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// singleURL is the URL of the shared single-node server (or a skip).
func singleURL(t testing.TB) string {
	t.Helper()
	return testservers.RedisURL(t)
}

// clusterAddrs are the shared Cluster's seeds (or a skip).
func clusterAddrs(t testing.TB) []string {
	t.Helper()
	return testservers.RedisClusterAddrs(t)
}

// openSingle opens a store on the shared single-node server.
func openSingle(t testing.TB, prefix string) *Store {
	t.Helper()
	return mustOpen(t, Options{URL: singleURL(t), Prefix: prefix})
}

// openCluster opens a store on the shared Cluster.
func openCluster(t testing.TB, prefix string, allowUnhashed bool) *Store {
	t.Helper()
	return mustOpen(t, Options{Addrs: clusterAddrs(t), Prefix: prefix, AllowUnhashedClusterPrefix: allowUnhashed})
}

func mustOpen(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	// Runs before Close: the shared servers keep no test data.
	t.Cleanup(func() { dropPrefix(s.client, s.Prefix()) })
	return s
}

// dropPrefix deletes, best effort, every key of the dataset with prefix
// (temporary Init keys included) from the servers of c.
func dropPrefix(c goredis.UniversalClient, prefix string) {
	dropPattern(c, globEscape(prefix)+"*")
	dropPattern(c, "{"+globEscape(prefix)+"*")
}

// dropPattern deletes, best effort, the keys matching a SCAN pattern.
func dropPattern(c goredis.UniversalClient, pattern string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := &Store{client: c}
	nodes, err := s.scanNodes(ctx)
	if err != nil {
		return
	}
	for _, n := range nodes {
		iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		flush := func() {
			p := c.Pipeline()
			for _, k := range batch {
				p.Unlink(ctx, k)
			}
			_, _ = p.Exec(ctx)
			batch = batch[:0]
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 1000 {
				flush()
			}
		}
		flush()
	}
}

// rawSingle is a plain go-redis client on the shared single-node server.
func rawSingle(t testing.TB) *goredis.Client {
	t.Helper()
	o, err := goredis.ParseURL(singleURL(t))
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// rawCluster is a plain go-redis Cluster client on the shared Cluster.
func rawCluster(t testing.TB) *goredis.ClusterClient {
	t.Helper()
	c := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: clusterAddrs(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// contextHash is the big-segment hash of a context key: base64 (standard,
// padded) of its SHA-256.
func contextHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func mustItem(t testing.TB, data string) store.Item {
	t.Helper()
	it, err := store.ItemFromJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

// redisServerBin finds redis-server, or skips (fails when backends are
// required).
func redisServerBin(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not in PATH: install it (scripts/redis.sh start does) to run this test"
		if testservers.Required() {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// freePort returns a loopback port nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// server is a redis-server process a test owns, on 127.0.0.1.
type server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// args builds the command line for a port.
	args func(port int) []string
	cmd  *exec.Cmd
	done chan struct{}
}

// startServer starts a redis-server on a free loopback port with the
// arguments args(port) returns (a configuration file first, if any) and
// stops it when the test ends. It is ready when the port accepts TCP
// connections.
func startServer(t testing.TB, args func(port int) []string) *server {
	t.Helper()
	s := &server{t: t, bin: redisServerBin(t), dir: t.TempDir(), args: args}
	var lastErr error
	for range 5 {
		s.port = freePort(t)
		if lastErr = s.start(); lastErr == nil {
			t.Cleanup(s.stop)
			return s
		}
	}
	t.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

// plainArgs runs a plain server without persistence.
func plainArgs(port int) []string {
	return []string{"--port", strconv.Itoa(port), "--save", "", "--appendonly", "no"}
}

func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

func (s *server) start() error {
	extra := s.args(s.port)
	var argv []string
	if len(extra) > 0 && !strings.HasPrefix(extra[0], "--") {
		// A configuration file must come first.
		argv, extra = append(argv, extra[0]), extra[1:]
	}
	argv = append(argv, "--bind", "127.0.0.1", "--daemonize", "no", "--dir", s.dir, "--logfile", "")
	argv = append(argv, extra...)
	logPath := filepath.Join(s.dir, fmt.Sprintf("redis-%d.log", s.port))
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(s.bin, argv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("redis-server exited at startup: %s", tail(string(log)))
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr(), 100*time.Millisecond); err == nil {
			_ = c.Close()
			s.cmd, s.done = cmd, done
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	<-done
	return fmt.Errorf("redis-server did not listen on %s within 10s", s.addr())
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// stop stops the server by PID: TERM, then KILL after 5 s.
func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // in case a test paused it
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// restart starts the server again on the same port.
func (s *server) restart() {
	s.t.Helper()
	var err error
	for range 20 {
		if err = s.start(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("restarting redis-server on %s: %v", s.addr(), err)
}

// pause and resume stop and continue the process (SIGSTOP/SIGCONT): it keeps
// its connections but answers nothing, like a hung server.
func (s *server) pause()  { _ = s.cmd.Process.Signal(syscall.SIGSTOP) }
func (s *server) resume() { _ = s.cmd.Process.Signal(syscall.SIGCONT) }
