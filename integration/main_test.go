package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testservers"
)

// binDir holds the binaries the tests build, for the whole test run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "daemonflag-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration:", err)
		os.Exit(1)
	}
	binDir = dir
	// The test process opens DynamoDB stores too; local servers accept
	// any credentials.
	for k, v := range testaddrs.TestAWSEnv() {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
		}
	}
	code := m.Run()
	// Containers that internal/testservers may have started (when no
	// endpoints are given and a Docker engine answers) go at once.
	_ = testservers.TerminateContainers()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// EnvChildRace, when set to 1, builds the child processes with -race too.
// They are built without it by default: the packages they run are
// race-tested on their own, and race-enabled children would slow this
// package down several times on a small machine.
const EnvChildRace = "DAEMONFLAG_INTEGRATION_RACE"

type builtBinary struct {
	once sync.Once
	path string
	err  error
}

var binaries sync.Map // package path -> *builtBinary

// binary builds the main package at pkg (relative to the module root) once
// per test run and returns the path of the executable.
func binary(t testing.TB, pkg string) string {
	t.Helper()
	skipShort(t)
	v, _ := binaries.LoadOrStore(pkg, &builtBinary{})
	b := v.(*builtBinary)
	b.once.Do(func() {
		start := time.Now()
		b.path = filepath.Join(binDir, filepath.Base(pkg))
		if runtime.GOOS == "windows" {
			b.path += ".exe"
		}
		args := []string{"build", "-o", b.path}
		if os.Getenv(EnvChildRace) == "1" {
			args = append(args, "-race")
		}
		args = append(args, "./"+pkg)
		cmd := exec.Command(goTool(), args...)
		cmd.Dir = moduleRoot(t)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
			return
		}
		t.Logf("built %s in %v", pkg, time.Since(start).Round(time.Millisecond))
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// skipShort skips t under -short: the scenarios of this package run
// several processes (and build them), which -short leaves out so that
// "go test -short ./..." stays fast; ./scripts/test.sh runs them all.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("multi-process scenario; skipped with -short")
	}
}

// EnvCLI names a daemonflag executable to test instead of building
// cmd/daemonflag (a release build, say).
const EnvCLI = "DAEMONFLAG_INTEGRATION_CLI"

// daemonflagBin returns the daemonflag command: built from cmd/daemonflag,
// or the one EnvCLI names.
func daemonflagBin(t testing.TB) string {
	if p := os.Getenv(EnvCLI); p != "" {
		return p
	}
	return binary(t, "cmd/daemonflag")
}

// evalclientBin and upserterBin are the test programs under internal/.
func evalclientBin(t testing.TB) string { return binary(t, "integration/internal/evalclient") }
func upserterBin(t testing.TB) string   { return binary(t, "integration/internal/upserter") }

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// moduleRoot returns the directory of go.mod: the tests run in the
// package's directory, one level below it.
func moduleRoot(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatalf("no go.mod above %s", wd)
		}
	}
}
