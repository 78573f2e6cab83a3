package testservers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tcdynamodb "github.com/testcontainers/testcontainers-go/modules/dynamodb"
	tcredis "github.com/testcontainers/testcontainers-go/modules/redis"
)

// Container images. DynamoDB Local 2.2.1 is the version testcontainers-go's
// own DynamoDB module is tested with.
const (
	redisImage    = "redis:7"
	dynamoDBImage = "amazon/dynamodb-local:2.2.1"
)

const (
	// probeTimeout bounds the Docker probe. A local engine answers in
	// milliseconds; anything slower is treated as absent rather than
	// stalling every test that asks for a backend.
	probeTimeout = 3 * time.Second
	// startTimeout bounds starting one container, image pull included.
	startTimeout = 5 * time.Minute
)

var (
	probeOnce   sync.Once
	probeOK     bool
	probeReason string
)

// DockerAvailable reports whether a Docker engine usable by testcontainers-go
// answers, and if not, why. The probe runs once per process and is cached.
//
// It is cheap when there is no engine: without DOCKER_HOST, a
// ~/.testcontainers.properties file or a Docker socket at one of the usual
// paths it answers false without any I/O beyond a few stat calls. Otherwise
// it asks the engine through testcontainers' provider health check (the
// Docker info call) and gives up after a few seconds. An engine that would
// publish container ports anywhere but this machine's loopback interface
// counts as absent, since tests only ever target 127.0.0.1.
func DockerAvailable() (ok bool, reason string) {
	return dockerProbe()
}

func dockerProbe() (bool, string) {
	probeOnce.Do(func() {
		probeOK, probeReason = probeDocker(probeTimeout)
	})
	return probeOK, probeReason
}

// probeDocker looks for a Docker engine, uncached.
func probeDocker(timeout time.Duration) (bool, string) {
	where := dockerHint()
	if where == "" {
		return false, "DOCKER_HOST is unset and no Docker socket was found"
	}
	// A remote engine is refused before anything talks to it.
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		if host, desc := publishHost(h); host != "" && !isLoopback(host) {
			return false, notLoopback(desc)
		}
	}
	type result struct {
		ok     bool
		reason string
	}
	done := make(chan result, 1)
	go func() {
		// testcontainers panics in a few places when Docker is missing;
		// a probe must only ever answer.
		defer func() {
			if r := recover(); r != nil {
				done <- result{false, fmt.Sprintf("testcontainers panicked: %v", r)}
			}
		}()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		ok, reason := askDocker(ctx)
		done <- result{ok, reason}
	}()
	// testcontainers finds the engine with a context of its own, without a
	// deadline, so the timer here is what bounds the probe. A probe that
	// times out leaves its goroutine behind until the engine answers or
	// the connection fails; the process keeps the "absent" answer.
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.ok, r.reason
	case <-timer.C:
		return false, fmt.Sprintf("the Docker engine did not answer within %s", timeout)
	}
}

// dockerHint returns where a Docker engine might be, or "" when there is
// no sign of one. It only reads the environment and stats files.
func dockerHint() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	if runtime.GOOS == "windows" {
		return "npipe" // named pipes cannot be stat'ed cheaply; ask testcontainers
	}
	home, _ := os.UserHomeDir()
	if home != "" {
		// tc.host or docker.host may name an engine.
		if fileExists(filepath.Join(home, ".testcontainers.properties")) {
			return "~/.testcontainers.properties"
		}
	}
	candidates := []string{"/var/run/docker.sock"}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, filepath.Join(d, "docker.sock"))
	}
	if home != "" {
		candidates = append(candidates,
			filepath.Join(home, ".docker", "run", "docker.sock"),
			filepath.Join(home, ".docker", "desktop", "docker.sock"))
	}
	candidates = append(candidates, filepath.Join("/run/user", strconv.Itoa(os.Getuid()), "docker.sock"))
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return c
		}
	}
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// askDocker runs testcontainers' health check and checks that published
// ports would be reachable on loopback.
func askDocker(ctx context.Context) (bool, string) {
	p, err := testcontainers.NewDockerProvider()
	if err != nil {
		return false, "testcontainers found no Docker engine: " + err.Error()
	}
	daemon := p.Client().DaemonHost()
	// DaemonHost's own logic creates a Docker network when run inside a
	// container, so the loopback check reads the engine address instead.
	if host, where := publishHost(daemon); !isLoopback(host) {
		_ = p.Close()
		return false, notLoopback(where)
	}
	if err := p.Health(ctx); err != nil { // Health closes the provider
		return false, "the Docker engine at " + daemon + " did not answer: " + err.Error()
	}
	return true, ""
}

func notLoopback(where string) string {
	return "the Docker engine would publish container ports on " + where + ", not on 127.0.0.1, " +
		"and tests only target loopback; set TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 if ports it " +
		"publishes are reachable on this machine's loopback (for example with host networking)"
}

// publishHost returns the host name testcontainers will use to reach ports
// published by the engine at daemonURL, and a description of it.
func publishHost(daemonURL string) (host, where string) {
	if h, ok := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); ok {
		return h, h + " (TESTCONTAINERS_HOST_OVERRIDE)"
	}
	u, err := url.Parse(daemonURL)
	if err != nil {
		return "", "an unknown host (engine address " + daemonURL + ")"
	}
	switch u.Scheme {
	case "tcp", "http", "https":
		return u.Hostname(), u.Hostname() + " (the engine's address)"
	case "unix", "npipe":
		if fileExists("/.dockerenv") {
			return "", "the container gateway (these tests run inside a container)"
		}
		return "localhost", "localhost"
	}
	return "", "an unknown host (engine address " + daemonURL + ")"
}

// isLoopback reports whether host names this machine's loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// managed is one container this package starts on demand.
type managed struct {
	what  string
	port  string // the container port, "6379/tcp"
	proto string // URL scheme of the endpoint
	run   func(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (testcontainers.Container, error)

	once sync.Once
	addr string
	err  error
	ctr  testcontainers.Container
}

var (
	redisContainer = &managed{
		what: "Redis", port: "6379/tcp", proto: "redis",
		run: func(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (testcontainers.Container, error) {
			c, err := tcredis.Run(ctx, redisImage, opts...)
			if c == nil {
				return nil, err
			}
			return c, err
		},
	}
	dynamoDBContainer = &managed{
		what: "DynamoDB Local", port: "8000/tcp", proto: "http",
		run: func(ctx context.Context, opts ...testcontainers.ContainerCustomizer) (testcontainers.Container, error) {
			// In memory with one shared database: tables do not depend on
			// the credentials or region a test uses, and nothing is
			// written to disk.
			opts = append(opts, testcontainers.WithCmdArgs("-inMemory", "-sharedDb"), tcdynamodb.WithDisableTelemetry())
			c, err := tcdynamodb.Run(ctx, dynamoDBImage, opts...)
			if c == nil {
				return nil, err
			}
			return c, err
		},
	}
	allContainers = []*managed{redisContainer, dynamoDBContainer}
	containersMu  sync.Mutex // guards managed.ctr against TerminateContainers
)

// endpoint starts the container on first use and returns its address.
func (m *managed) endpoint() (string, error) {
	m.once.Do(func() { m.addr, m.err = m.start() })
	return m.addr, m.err
}

func (m *managed) start() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	port, err := network.ParsePort(m.port)
	if err != nil {
		return "", err
	}
	loopbackOnly := testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		hc.PortBindings = network.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}}
	})
	ctr, err := m.run(ctx, loopbackOnly)
	if ctr != nil {
		containersMu.Lock()
		m.ctr = ctr
		containersMu.Unlock()
	}
	if err != nil {
		return "", fmt.Errorf("start %s container: %w", m.what, err)
	}
	host, err := ctr.Host(ctx)
	if err != nil {
		return "", fmt.Errorf("%s container host: %w", m.what, err)
	}
	if !isLoopback(host) {
		return "", fmt.Errorf("%s container is published on %s, not on loopback", m.what, host)
	}
	mapped, err := ctr.MappedPort(ctx, m.port)
	if err != nil {
		return "", fmt.Errorf("%s container port: %w", m.what, err)
	}
	return m.proto + "://" + net.JoinHostPort("127.0.0.1", mapped.Port()), nil
}

// TerminateContainers stops and removes the containers this package
// started in this process, if any. Testcontainers' reaper removes them
// anyway shortly after the process exits; calling this from TestMain after
// m.Run removes them at once, and is needed when the reaper is disabled:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		_ = testservers.TerminateContainers()
//		os.Exit(code)
//	}
//
// Tests that ask for a backend afterwards get the error of a stopped
// server; call it only when all tests are done.
func TerminateContainers() error {
	containersMu.Lock()
	defer containersMu.Unlock()
	var errs []error
	for _, m := range allContainers {
		if m.ctr == nil {
			continue
		}
		if err := testcontainers.TerminateContainer(m.ctr); err != nil {
			errs = append(errs, fmt.Errorf("%s container: %w", m.what, err))
		}
		m.ctr = nil
	}
	return errors.Join(errs...)
}
