package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testservers"
)

// This file starts servers of the tests' own, for the tests that stop
// them (the store outage): the shared servers that scripts/test.sh started
// stay up for every other test. Each listens on 127.0.0.1 only, on a free
// port, and is stopped by its PID.

// freePort returns a TCP port on 127.0.0.1 that nothing listened on a
// moment ago. The caller checks that its server really bound it.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// missingTool skips the test (or fails it, when backends are required)
// because a program it needs is not installed.
func missingTool(t testing.TB, what string) {
	t.Helper()
	msg := what + " is not installed; ./scripts/test.sh installs it"
	if testservers.Required() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// server is one server process the test can stop and start again on the
// same port, keeping its data directory.
type server struct {
	t     testing.TB
	name  string
	port  int
	path  string
	args  []string // without the port
	ready func(ctx context.Context) error
	p     *proc
}

// start starts the server (again) and waits until it answers.
func (s *server) start() {
	s.t.Helper()
	args := append([]string{}, s.args...)
	args = append(args, strconv.Itoa(s.port))
	s.p = startProc(s.t, s.name, s.path, args, procOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		err := s.ready(ctx)
		if err == nil {
			return
		}
		if !s.p.running() || ctx.Err() != nil {
			s.t.Fatalf("%s on 127.0.0.1:%d did not start: %v\n%s", s.name, s.port, err, s.p.log.tail(20))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stopServer stops the server by its PID (SIGTERM, then SIGKILL).
func (s *server) stopServer() {
	s.p.stop()
}

// addr is the server's host:port.
func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// ownRedis starts a redis-server of the test's own, without persistence (as
// the shared ones run), with extra arguments.
func ownRedis(t testing.TB, name string, extra ...string) *server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		missingTool(t, "redis-server")
	}
	dir := t.TempDir()
	s := &server{t: t, name: name, port: freePort(t), path: path}
	s.args = append([]string{"--bind", "127.0.0.1", "--protected-mode", "yes",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"}, extra...)
	s.args = append(s.args, "--port")
	s.ready = func(ctx context.Context) error {
		c := goredis.NewClient(&goredis.Options{Addr: s.addr(), MaxRetries: -1, DialTimeout: time.Second})
		defer c.Close()
		return c.Ping(ctx).Err()
	}
	s.start()
	return s
}

// ownRedisCluster starts a three-master Redis Cluster of the test's own
// and returns its nodes.
func ownRedisCluster(t testing.TB) []*server {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		missingTool(t, "redis-cli")
	}
	var nodes []*server
	var addrs []string
	for i := 1; i <= 3; i++ {
		dir := t.TempDir()
		n := ownRedis(t, fmt.Sprintf("cluster-node-%d", i),
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "2000",
			"--cluster-port", strconv.Itoa(freePort(t)))
		nodes = append(nodes, n)
		addrs = append(addrs, n.addr())
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	mustRun(t, 30*time.Second, nil, cli, args...)
	if !waitFor(20*time.Second, 100*time.Millisecond, func() bool { return clusterOK(nodes) }) {
		t.Fatalf("own Redis Cluster %v did not reach cluster_state:ok", addrs)
	}
	return nodes
}

// clusterOK reports whether every node says the cluster is up and covers
// every slot.
func clusterOK(nodes []*server) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, n := range nodes {
		c := goredis.NewClient(&goredis.Options{Addr: n.addr(), MaxRetries: -1})
		info, err := c.ClusterInfo(ctx).Result()
		c.Close()
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_slots_ok:16384") {
			return false
		}
	}
	return true
}

// slotOwner returns the node that serves key's hash slot.
func slotOwner(t testing.TB, nodes []*server, key string) *server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c := goredis.NewClient(&goredis.Options{Addr: nodes[0].addr()})
	defer c.Close()
	slot, err := c.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	slots, err := c.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			for _, n := range nodes {
				if n.addr() == s.Nodes[0].Addr {
					return n
				}
			}
		}
	}
	t.Fatalf("no node of %d serves slot %d", len(nodes), slot)
	return nil
}

// dynaliteCLI returns dynalite's cli.js as scripts/dynalite.sh installs it.
func dynaliteCLI(t testing.TB) string {
	t.Helper()
	cli := filepath.Join(moduleRoot(t), ".tools", "dynalite", "node_modules", "dynalite", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		missingTool(t, "dynalite (in .tools/dynalite)")
	}
	return cli
}

// dynaliteGuard is preloaded into dynalite (node --require): dynalite
// rethrows the error of a request whose client went away before the answer,
// which would end the server; the guard keeps it up through exactly those
// and still ends it on any other uncaught error. scripts/dynalite.sh does
// the same.
const dynaliteGuard = `'use strict'
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.message === 'aborted')) {
    console.error('integration guard: a client aborted a request')
    return
  }
  console.error(err)
  process.exit(1)
})
`

// ownDynalite starts a dynalite of the test's own that keeps its data on
// disk (LevelDB), so that it has its tables again after a restart, as
// DynamoDB would after an outage.
func ownDynalite(t testing.TB) *server {
	t.Helper()
	cli := dynaliteCLI(t)
	node, err := exec.LookPath("node")
	if err != nil {
		missingTool(t, "node")
	}
	dir := t.TempDir()
	guard := filepath.Join(dir, "guard.cjs")
	if err := os.WriteFile(guard, []byte(dynaliteGuard), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, name: "dynalite", port: freePort(t), path: node}
	s.args = []string{"--require", guard, cli, "--host", "127.0.0.1",
		"--path", filepath.Join(dir, "data"),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0", "--port"}
	s.ready = func(ctx context.Context) error {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", s.addr())
		if err != nil {
			return err
		}
		defer c.Close()
		// Any HTTP answer means the server is up.
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", s.addr())
		_, err = bufio.NewReader(c).ReadString('\n')
		return err
	}
	s.start()
	return s
}

// redisAddress, redisClusterAddress and dynamoAddress make store
// addresses on the test's own servers, with a new prefix.
func redisAddress(s *server) string {
	return "redis://" + s.addr() + "?prefix=integ-" + testaddrs.Token()
}

func redisClusterAddress(nodes []*server, tag string) string {
	var b strings.Builder
	b.WriteString("redis+cluster://" + nodes[0].addr() + "?prefix=" + tag)
	for _, n := range nodes[1:] {
		b.WriteString("&addr=" + n.addr())
	}
	return b.String()
}

func dynamoAddress(s *server) string {
	return "dynamodb://integ-" + testaddrs.Token() + "?endpoint=http://" + s.addr() +
		"&region=us-east-1&create=true&prefix=integ-" + testaddrs.Token()
}

// tokenForTest returns a new random token for names.
func tokenForTest() string { return testaddrs.Token() }
