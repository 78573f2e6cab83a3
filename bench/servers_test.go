package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Backends, as the main module's tests find them (internal/testservers, which
// this module cannot import): addresses from environment variables; without
// one a test is skipped, unless DAEMONFLAG_REQUIRE_BACKENDS is set.

const (
	envRedisURL         = "DAEMONFLAG_REDIS_URL"
	envDynamoDBEndpoint = "DAEMONFLAG_DYNAMODB_ENDPOINT"
	envRequireBackends  = "DAEMONFLAG_REQUIRE_BACKENDS"
)

func backendsRequired() bool {
	v := os.Getenv(envRequireBackends)
	return v != "" && v != "0" && v != "false"
}

func missingBackend(tb testing.TB, what, env string) {
	tb.Helper()
	msg := what + " is not configured: set " + env + " (../scripts/test.sh and `go run ./cmd/compare` start one)"
	if backendsRequired() {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// redisURL returns the shared Redis server's URL.
func redisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(envRedisURL)
	if u == "" {
		missingBackend(tb, "Redis", envRedisURL)
	}
	return u
}

// dynamoEndpoint returns the DynamoDB-compatible server's endpoint.
func dynamoEndpoint(tb testing.TB) string {
	tb.Helper()
	e := os.Getenv(envDynamoDBEndpoint)
	if e == "" {
		missingBackend(tb, "DynamoDB", envDynamoDBEndpoint)
	}
	return e
}

// randomPrefix returns a fresh dataset prefix, so runs never see each
// other's data on the shared servers.
func randomPrefix(what string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "dfbench-" + what + "-" + hex.EncodeToString(b[:])
}

// Prefixes written to the shared Redis server are deleted when the test
// binary ends (see TestMain).
var (
	cleanupMu    sync.Mutex
	redisCleanup = map[string]map[string]bool{} // URL -> prefixes
)

func registerRedisPrefix(url, prefix string) {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	if redisCleanup[url] == nil {
		redisCleanup[url] = map[string]bool{}
	}
	redisCleanup[url][prefix] = true
}

// deleteRedisPrefixes deletes every key of the registered prefixes.
func deleteRedisPrefixes() {
	cleanupMu.Lock()
	defer cleanupMu.Unlock()
	for url, prefixes := range redisCleanup {
		opts, err := goredis.ParseURL(url)
		if err != nil {
			continue
		}
		c := goredis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		for p := range prefixes {
			iter := c.Scan(ctx, 0, p+":*", 1000).Iterator()
			var keys []string
			for iter.Next(ctx) {
				keys = append(keys, iter.Val())
				if len(keys) == 1000 {
					c.Del(ctx, keys...)
					keys = keys[:0]
				}
			}
			if len(keys) > 0 {
				c.Del(ctx, keys...)
			}
		}
		cancel()
		_ = c.Close()
	}
	redisCleanup = map[string]map[string]bool{}
}

// ownRedis is a redis-server this process starts and stops (by PID), on a
// free loopback port, with its data in a temporary directory, for the
// outage benchmark, which must stop and restart the server.
type ownRedis struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	done     chan struct{}
}

// startOwnRedis starts a redis-server from PATH, or skips (fails when
// backends are required) when there is none.
func startOwnRedis(tb testing.TB) *ownRedis {
	tb.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if backendsRequired() {
			tb.Fatal("redis-server is not in PATH; the outage benchmark starts its own")
		}
		tb.Skip("redis-server is not in PATH; the outage benchmark starts its own")
	}
	r := &ownRedis{bin: bin, dir: tb.TempDir()}
	var lastErr error
	for range 3 {
		r.port, err = freePort()
		if err != nil {
			tb.Fatal(err)
		}
		if lastErr = r.start(); lastErr == nil {
			tb.Cleanup(r.stop)
			return r
		}
	}
	tb.Fatalf("starting redis-server: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the server's redis:// URL.
func (r *ownRedis) URL() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) }

// start runs redis-server on r.port and waits until it answers. The server
// keeps its data in r.dir/dump.rdb, which save writes, so a restart finds
// the dataset again (as a Redis with persistence would).
func (r *ownRedis) start() error {
	cmd := exec.Command(r.bin, "--bind", "127.0.0.1", "--port", strconv.Itoa(r.port),
		"--dir", r.dir, "--dbfilename", "dump.rdb", "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--loglevel", "warning")
	logf, err := os.Create(filepath.Join(r.dir, fmt.Sprintf("redis-%d.log", time.Now().UnixNano())))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		logf.Close()
		close(done)
	}(r.done)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return fmt.Errorf("redis-server exited at start; log: %s", readTail(logf.Name()))
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), 100*time.Millisecond); err == nil {
			_, _ = c.Write([]byte("PING\r\n"))
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "+PONG") {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.kill()
	return fmt.Errorf("redis-server did not answer on port %d", r.port)
}

func readTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// save writes the dataset to disk, so that it survives a restart.
func (r *ownRedis) save(tb testing.TB) {
	tb.Helper()
	c := goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer c.Close()
	if err := c.Save(context.Background()).Err(); err != nil {
		tb.Fatalf("redis SAVE: %v", err)
	}
}

// kill stops the server with SIGTERM (SIGKILL after 5 s) and waits for it.
func (r *ownRedis) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
	r.cmd = nil
}

func (r *ownRedis) stop() { r.kill() }
