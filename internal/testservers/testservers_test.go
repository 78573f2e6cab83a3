package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	goredis "github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := TerminateContainers(); err != nil {
		fmt.Fprintln(os.Stderr, "testservers:", err)
	}
	os.Exit(code)
}

// fakeBackend is a backend whose container start is counted and canned.
func fakeBackend(addr string, err error, calls *int) *backend {
	return &backend{
		what: "Thing", env: "THING_ENV",
		container: func() (string, error) { *calls++; return addr, err },
	}
}

func TestDecide(t *testing.T) {
	dockerUp := func() (bool, string) { return true, "" }
	dockerDown := func() (bool, string) { return false, "no engine here" }
	dockerUnasked := func(t *testing.T) func() (bool, string) {
		return func() (bool, string) { t.Error("the Docker probe ran but should not have"); return true, "" }
	}

	cases := []struct {
		name      string
		value     string
		required  bool
		useTC     bool
		docker    func(t *testing.T) func() (bool, string)
		noCtr     bool // the backend has no container fallback
		startErr  error
		wantAddr  string
		wantFail  bool
		wantSkip  bool
		wantMsg   []string
		wantStart int
	}{
		{name: "env set", value: "redis://127.0.0.1:1", useTC: true, docker: dockerUnasked,
			wantAddr: "redis://127.0.0.1:1"},
		{name: "env set, required", value: "x", required: true, useTC: true, docker: dockerUnasked,
			wantAddr: "x"},
		{name: "no env, no docker", useTC: true, docker: func(*testing.T) func() (bool, string) { return dockerDown },
			wantSkip: true, wantMsg: []string{"THING_ENV", "scripts/test.sh", "Docker", "no engine here"}},
		{name: "no env, no docker, required", required: true, useTC: true,
			docker:   func(*testing.T) func() (bool, string) { return dockerDown },
			wantFail: true, wantMsg: []string{"THING_ENV", "scripts/test.sh", "no engine here"}},
		{name: "no env, docker", useTC: true, docker: func(*testing.T) func() (bool, string) { return dockerUp },
			wantAddr: "tc://addr", wantStart: 1},
		{name: "no env, docker, required", required: true, useTC: true,
			docker:   func(*testing.T) func() (bool, string) { return dockerUp },
			wantAddr: "tc://addr", wantStart: 1},
		{name: "no env, docker, start fails", useTC: true, startErr: errors.New("pull refused"),
			docker:   func(*testing.T) func() (bool, string) { return dockerUp },
			wantFail: true, wantStart: 1, wantMsg: []string{"pull refused", "THING_ENV", EnvTestcontainers}},
		{name: "no env, testcontainers off", docker: dockerUnasked,
			wantSkip: true, wantMsg: []string{"THING_ENV", EnvTestcontainers}},
		{name: "no env, testcontainers off, required", required: true, docker: dockerUnasked,
			wantFail: true, wantMsg: []string{"THING_ENV", EnvTestcontainers}},
		{name: "no container fallback", noCtr: true, useTC: true, docker: dockerUnasked,
			wantSkip: true, wantMsg: []string{"THING_ENV", "no cluster module here"}},
		{name: "no container fallback, required", noCtr: true, required: true, useTC: true, docker: dockerUnasked,
			wantFail: true, wantMsg: []string{"THING_ENV", "no cluster module here"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			b := fakeBackend("tc://addr", c.startErr, &calls)
			if c.noCtr {
				b.container, b.noContainer = nil, "no cluster module here"
			}
			out := decide(b, inputs{value: c.value, required: c.required, useTC: c.useTC, docker: c.docker(t)})
			if out.addr != c.wantAddr {
				t.Errorf("addr = %q, want %q", out.addr, c.wantAddr)
			}
			if out.fail != c.wantFail {
				t.Errorf("fail = %v, want %v (msg %q)", out.fail, c.wantFail, out.msg)
			}
			if skip := !out.fail && out.msg != ""; skip != c.wantSkip {
				t.Errorf("skip = %v, want %v (msg %q)", skip, c.wantSkip, out.msg)
			}
			if out.addr != "" && out.msg != "" {
				t.Errorf("both an address and a message: %+v", out)
			}
			for _, w := range c.wantMsg {
				if !strings.Contains(out.msg, w) {
					t.Errorf("message %q does not mention %q", out.msg, w)
				}
			}
			if calls != c.wantStart {
				t.Errorf("container started %d times, want %d", calls, c.wantStart)
			}
		})
	}
}

// recorder is a testing.TB that records Skip and Fatal instead of acting on
// the real test, so the exported functions can be checked end to end.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skip(args ...any) {
	r.skipped, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}

// record calls f with a recorder, on its own goroutine as the testing
// package does, so Skip and Fatal can end it.
func record(t *testing.T, f func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

func TestExportedFromEnv(t *testing.T) {
	t.Setenv(EnvRedisURL, "redis://127.0.0.1:7001")
	t.Setenv(EnvRedisClusterAddrs, "127.0.0.1:7002,127.0.0.1:7003")
	t.Setenv(EnvDynamoDBEndpoint, "http://127.0.0.1:7004")
	t.Setenv(EnvRequireBackends, "1")
	var u, e string
	var a []string
	r := record(t, func(tb testing.TB) {
		u, a, e = RedisURL(tb), RedisClusterAddrs(tb), DynamoDBEndpoint(tb)
	})
	if r.skipped || r.failed {
		t.Fatalf("skipped=%v failed=%v: %s", r.skipped, r.failed, r.msg)
	}
	if u != "redis://127.0.0.1:7001" || e != "http://127.0.0.1:7004" ||
		len(a) != 2 || a[0] != "127.0.0.1:7002" || a[1] != "127.0.0.1:7003" {
		t.Errorf("got %q %q %q", u, a, e)
	}
}

// TestExportedMissing runs with the Docker fallback off, so it behaves the
// same on machines with and without Docker.
func TestExportedMissing(t *testing.T) {
	funcs := map[string]func(testing.TB){
		EnvRedisURL:          func(tb testing.TB) { RedisURL(tb) },
		EnvRedisClusterAddrs: func(tb testing.TB) { RedisClusterAddrs(tb) },
		EnvDynamoDBEndpoint:  func(tb testing.TB) { DynamoDBEndpoint(tb) },
	}
	for _, required := range []string{"", "0", "1"} {
		for env, f := range funcs {
			t.Run(env+"/required="+required, func(t *testing.T) {
				t.Setenv(env, "")
				t.Setenv(EnvTestcontainers, "0")
				t.Setenv(EnvRequireBackends, required)
				r := record(t, f)
				wantFail := required == "1"
				if r.failed != wantFail || r.skipped == wantFail {
					t.Fatalf("failed=%v skipped=%v, want failed=%v: %s", r.failed, r.skipped, wantFail, r.msg)
				}
				if !strings.Contains(r.msg, env) || !strings.Contains(r.msg, "scripts/test.sh") {
					t.Errorf("message does not say how to run the test: %q", r.msg)
				}
			})
		}
	}
}

func TestRequired(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "1": true, "true": true, "yes": true} {
		t.Setenv(EnvRequireBackends, v)
		if got := Required(); got != want {
			t.Errorf("Required() with %q = %v, want %v", v, got, want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "127.0.0.1": true, "127.1.2.3": true, "::1": true,
		"": false, "192.0.2.1": false, "docker.example": false, "0.0.0.0": false, "::": false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestPublishHost(t *testing.T) {
	t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "")
	os.Unsetenv("TESTCONTAINERS_HOST_OVERRIDE")
	inContainer := fileExists("/.dockerenv")
	cases := []struct {
		daemon   string
		loopback bool
	}{
		{"tcp://127.0.0.1:2375", true},
		{"tcp://localhost:2375", true},
		{"https://[::1]:2376", true},
		{"tcp://192.0.2.1:2375", false},
		{"tcp://docker.example:2375", false},
		{"unix:///var/run/docker.sock", !inContainer},
		{"ssh://user@host", false},
		{"::not a url", false},
	}
	for _, c := range cases {
		host, where := publishHost(c.daemon)
		if got := isLoopback(host); got != c.loopback {
			t.Errorf("publishHost(%q) = %q (%s): loopback %v, want %v", c.daemon, host, where, got, c.loopback)
		}
	}
	t.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	if host, _ := publishHost("tcp://192.0.2.1:2375"); host != "127.0.0.1" {
		t.Errorf("override ignored: %q", host)
	}
}

// TestProbeRefusesRemoteEngine checks that a non-loopback DOCKER_HOST is
// refused from the environment alone; probeDocker returns before any
// testcontainers call, so nothing is dialled.
func TestProbeRefusesRemoteEngine(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://192.0.2.1:2375")
	os.Unsetenv("TESTCONTAINERS_HOST_OVERRIDE")
	start := time.Now()
	ok, reason := probeDocker(probeTimeout)
	if ok || !strings.Contains(reason, "192.0.2.1") {
		t.Errorf("probe = %v, %q", ok, reason)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Errorf("refusing took %s", d)
	}
}

// TestDockerAvailableHere probes the real environment: it must answer well
// within the timeout, and at once when there is no sign of an engine.
func TestDockerAvailableHere(t *testing.T) {
	start := time.Now()
	ok, reason := DockerAvailable()
	d := time.Since(start)
	t.Logf("DockerAvailable() = %v, %q in %s (hint %q)", ok, reason, d, dockerHint())
	if d > probeTimeout+time.Second {
		t.Errorf("probe took %s, timeout is %s", d, probeTimeout)
	}
	if dockerHint() == "" && (ok || d > 50*time.Millisecond) {
		t.Errorf("with no sign of Docker the probe answered %v in %s", ok, d)
	}
	if ok2, reason2 := DockerAvailable(); ok2 != ok || reason2 != reason {
		t.Error("second probe differs from the cached first one")
	}
}

// The probe cases below run in a child process each, because
// testcontainers caches the engine it finds for the life of a process.

const probeChildEnv = "DAEMONFLAG_TESTSERVERS_PROBE_CHILD"

// TestProbeChild is the child's side; it does nothing in a normal run.
func TestProbeChild(t *testing.T) {
	if os.Getenv(probeChildEnv) != "1" {
		t.Skip("helper for the probe tests")
	}
	start := time.Now()
	ok, reason := probeDocker(probeTimeout)
	fmt.Printf("PROBE ok=%v ms=%d reason=%s\n", ok, time.Since(start).Milliseconds(), reason)
}

type probeResult struct {
	ok      bool
	elapsed time.Duration
	reason  string
}

func probeInChild(t *testing.T, dockerHost string) probeResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProbeChild$", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESTCONTAINERS_HOST_OVERRIDE=") && !strings.HasPrefix(kv, "DOCKER_HOST=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, probeChildEnv+"=1", "DOCKER_HOST="+dockerHost, "TESTCONTAINERS_RYUK_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		rest, found := strings.CutPrefix(line, "PROBE ")
		if !found {
			continue
		}
		var r probeResult
		var ms int64
		if _, err := fmt.Sscanf(rest, "ok=%t ms=%d", &r.ok, &ms); err != nil {
			t.Fatalf("child output %q: %v", line, err)
		}
		r.elapsed = time.Duration(ms) * time.Millisecond
		_, r.reason, _ = strings.Cut(rest, "reason=")
		t.Logf("DOCKER_HOST=%s: ok=%v in %s: %s", dockerHost, r.ok, r.elapsed, r.reason)
		return r
	}
	t.Fatalf("child printed no result:\n%s", out)
	return probeResult{}
}

func TestProbeNoSocket(t *testing.T) {
	r := probeInChild(t, "unix://"+t.TempDir()+"/no-docker.sock")
	if r.ok || r.elapsed > probeTimeout {
		t.Errorf("missing socket: ok=%v after %s", r.ok, r.elapsed)
	}
}

func TestProbeClosedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	r := probeInChild(t, "tcp://"+addr)
	if r.ok || r.elapsed > probeTimeout {
		t.Errorf("closed port: ok=%v after %s", r.ok, r.elapsed)
	}
}

// TestProbeSilentEngine: an engine that accepts connections but never
// answers must not hold the probe past its timeout.
func TestProbeSilentEngine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	r := probeInChild(t, "tcp://"+l.Addr().String())
	if r.ok || r.elapsed < probeTimeout-100*time.Millisecond || r.elapsed > probeTimeout+time.Second {
		t.Errorf("silent engine: ok=%v after %s, want false after about %s", r.ok, r.elapsed, probeTimeout)
	}
}

// TestProbeAnsweringEngine: an HTTP server on loopback that answers the
// Docker API's ping and info calls counts as an engine. This checks the
// probe's "yes" path; it starts no containers.
func TestProbeAnsweringEngine(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Api-Version", "1.44")
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/_ping") {
			_, _ = w.Write([]byte("OK"))
			return
		}
		_, _ = w.Write([]byte(`{"ID":"fake","OperatingSystem":"fake","ServerVersion":"27.0.0"}`))
	}))
	defer srv.Close()
	r := probeInChild(t, "tcp://"+srv.Listener.Addr().String())
	if !r.ok {
		t.Errorf("answering engine on loopback: ok=false: %s", r.reason)
	}
}

// TestContainers starts the real containers when a Docker engine answers
// and no address is configured; elsewhere it skips.
func TestContainers(t *testing.T) {
	if os.Getenv(EnvRedisURL) != "" || os.Getenv(EnvDynamoDBEndpoint) != "" {
		t.Skip("addresses come from the environment; nothing to start")
	}
	if ok, reason := DockerAvailable(); !ok || !testcontainersEnabled() {
		t.Skip("no Docker engine: " + reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	u := RedisURL(t)
	if u2 := RedisURL(t); u2 != u {
		t.Errorf("second RedisURL %q differs from %q: container started twice?", u2, u)
	}
	opts, err := goredis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	rc := goredis.NewClient(opts)
	defer rc.Close()
	if err := rc.Ping(ctx).Err(); err != nil {
		t.Errorf("redis at %s: %v", u, err)
	}

	e := DynamoDBEndpoint(t)
	dc := ddb.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("daemonflag", "test", ""),
	}, func(o *ddb.Options) { o.BaseEndpoint = aws.String(e) })
	if _, err := dc.ListTables(ctx, &ddb.ListTablesInput{}); err != nil {
		t.Errorf("dynamodb at %s: %v", e, err)
	}
}
