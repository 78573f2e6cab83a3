package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/internal/testwait"
)

// These tests build the daemonflag binary and run it as a user would.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds the command once per test process. Under -short the tests
// that run it as a process are skipped (the in-process ones still run).
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the built binary as a process; skipped with -short")
	}
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "daemonflag-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "daemonflag")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// result is one run of the binary.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cliEnv is the environment of the binary: this one, with dummy AWS
// credentials for a local DynamoDB server and no DAEMONFLAG_STORE.
func cliEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, envStore+"=") {
			env = append(env, kv)
		}
	}
	for k, v := range testaddrs.TestAWSEnv() {
		if os.Getenv(k) == "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// cli runs the binary in dir with stdin.
func cli(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	cmd.Dir = dir
	cmd.Env = cliEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

// mustCLI runs the binary and fails t unless it exits 0.
func mustCLI(t *testing.T, dir, stdin string, args ...string) result {
	t.Helper()
	r := cli(t, dir, stdin, args...)
	if r.code != 0 {
		t.Fatalf("daemonflag %s: %s", strings.Join(args, " "), r)
	}
	return r
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(testdata(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// otherAddress returns a fresh address on the same backend as the test.
func otherAddress(t *testing.T) string {
	t.Helper()
	for _, b := range testaddrs.Backends() {
		if strings.HasSuffix(t.Name(), "/"+b.Name) {
			return b.Address(t)
		}
	}
	t.Fatalf("no backend in test name %s", t.Name())
	return ""
}

// TestBinaryWriteEvalInspectExport: write, eval (exact LaunchDarkly
// results), inspect, export, and export | write into another dataset.
func TestBinaryWriteEvalInspectExport(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		r := mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
		if !strings.Contains(r.stdout, "wrote 8 flags and 1 segment to ") || !strings.Contains(r.stdout, "(9 new or changed, 0 deleted)") {
			t.Errorf("write output: %s", r)
		}

		want := readTestdata(t, "eval-expected.jsonl")
		r = mustCLI(t, dir, "", "eval", "--store", addr, "--contexts", testdata(t, "eval-contexts.jsonl"))
		if r.stdout != want {
			t.Fatalf("eval output differs:\n got:\n%s\nwant:\n%s", r.stdout, want)
		}
		// Contexts from standard input, a flag list and a default.
		r = mustCLI(t, dir, `{"kind":"user","key":"bob","address":{"country":"NZ"}}`+"\n",
			"eval", "--store", addr, "--contexts", "-", "--flag", "rule", "--flag", "off", "--default", `"dflt"`)
		wantLines := `{"context":"bob","flag":"rule","value":2,"variationIndex":2,"reason":{"kind":"RULE_MATCH","ruleIndex":1,"ruleId":"nz"}}` + "\n" +
			`{"context":"bob","flag":"off","value":"dflt","reason":{"kind":"OFF"}}` + "\n"
		if r.stdout != wantLines {
			t.Fatalf("eval --flag output:\n%s\nwant:\n%s", r.stdout, wantLines)
		}
		// --context @FILE, and a flag that does not exist: the line is
		// printed and the exit status is 1.
		ctxFile := filepath.Join(dir, "alice.json")
		if err := os.WriteFile(ctxFile, []byte(`{"kind": "user", "key": "alice"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		r = cli(t, dir, "", "eval", "--store", addr, "--context", "@"+ctxFile, "--flag", "targeted", "--flag", "nope")
		wantLines = `{"context":"alice","flag":"targeted","value":"on-value","variationIndex":1,"reason":{"kind":"TARGET_MATCH"}}` + "\n" +
			`{"context":"alice","flag":"nope","value":null,"reason":{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}}` + "\n"
		if r.code != 1 || r.stdout != wantLines || !strings.Contains(r.stderr, `flag "nope": FLAG_NOT_FOUND`) {
			t.Fatalf("eval of a missing flag: %s", r)
		}

		r = mustCLI(t, dir, "", "inspect", "--store", addr)
		for _, s := range []string{"initialized:  yes", "flags:        8 (0 deleted)", "segments:     1 (0 deleted)", "big segments: never synchronized"} {
			if !strings.Contains(r.stdout, s) {
				t.Errorf("inspect output lacks %q:\n%s", s, r.stdout)
			}
		}
		r = mustCLI(t, dir, "", "inspect", "--store", addr, "--json")
		var info map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
			t.Fatalf("inspect --json: %v\n%s", err, r.stdout)
		}
		if info["initialized"] != true || info["flags"] != 8.0 || info["segments"] != 1.0 {
			t.Errorf("inspect --json: %s", r.stdout)
		}

		export := mustCLI(t, dir, "", "export", "--store", addr).stdout
		var doc struct {
			Flags    map[string]json.RawMessage
			Segments map[string]json.RawMessage
		}
		if err := json.Unmarshal([]byte(export), &doc); err != nil || len(doc.Flags) != 8 || len(doc.Segments) != 1 {
			t.Fatalf("export: %v\n%s", err, export)
		}
		// export | write, then the copy evaluates and exports the same.
		addr2 := otherAddress(t)
		mustCLI(t, dir, export, "write", "--store", addr2, "-")
		if got := mustCLI(t, dir, "", "eval", "--store", addr2, "--contexts", testdata(t, "eval-contexts.jsonl")).stdout; got != want {
			t.Fatalf("eval of the copy differs:\n%s", got)
		}
		if got := mustCLI(t, dir, "", "export", "--store", addr2).stdout; got != export {
			t.Fatalf("export of the copy differs:\n%s\n----\n%s", got, export)
		}
		// --output writes a file.
		mustCLI(t, dir, "", "export", "--store", addr, "--output", "out.json")
		if b, err := os.ReadFile(filepath.Join(dir, "out.json")); err != nil || string(b) != export {
			t.Fatalf("export --output: %v", err)
		}
	})
}

// TestBinaryInvalidInput: every kind of invalid input exits 1 with the
// problem on stderr and leaves the store as it was.
func TestBinaryInvalidInput(t *testing.T) {
	cases := []struct {
		name, file, content string
		stderr              string
	}{
		{"json syntax", "bad.json", "{\n  \"flags\": {\"a\": {\"on\": tru}}\n}", "bad.json:2:28: JSON syntax error"},
		{"yaml syntax", "bad.yaml", "flags:\n  a: {on: true\n", "bad.yaml:2: YAML syntax error"},
		{"decode", "bad.json", `{"flags": {"a": {"variations": "x"}}}`, `flag "a": variations: expected an array`},
		{"range", "bad.json", `{"flags": {"a": {"on": true, "variations": [1], "fallthrough": {"variation": 3}}}}`, "variation 3 is out of range"},
		{"cycle", "bad.json", `{"flags": {"a": {"variations": [1], "prerequisites": [{"key": "a", "variation": 0}]}}}`, "prerequisite cycle: a -> a"},
		{"duplicate", "bad.json", `{"flags": {"targeted": {"variations": [1]}}}`, `flag "targeted": defined twice`},
	}
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
		before := mustCLI(t, dir, "", "export", "--store", addr).stdout
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
				r := cli(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"), tc.file)
				if r.code != 1 || !strings.Contains(r.stderr, tc.stderr) || !strings.Contains(r.stderr, "nothing written") || r.stdout != "" {
					t.Fatalf("want exit 1 and %q on stderr: %s", tc.stderr, r)
				}
				if after := mustCLI(t, dir, "", "export", "--store", addr).stdout; after != before {
					t.Fatal("the store changed")
				}
				// validate says the same, without a store.
				if r := cli(t, dir, "", "validate", testdata(t, "eval-flags.json"), tc.file); r.code != 1 || !strings.Contains(r.stderr, tc.stderr) {
					t.Fatalf("validate: %s", r)
				}
			})
		}
	})
}

// TestBinaryBigSegments imports members, evaluates a flag that uses the big
// segment, touches the store and inspects it.
func TestBinaryBigSegments(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		flags := `{"flags": {"vip-only": {"on": true, "variations": ["regular", "vip"],
			"rules": [{"id": "vip", "clauses": [{"op": "segmentMatch", "values": ["vip"]}], "variation": 1}],
			"fallthrough": {"variation": 0}}},
			"segments": {"vip": {"unbounded": true, "generation": 2}}}`
		mustCLI(t, dir, flags, "write", "--store", addr, "-")
		if err := os.WriteFile(filepath.Join(dir, "include.txt"), []byte("u1\n\n  u2  \nu3\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		r := mustCLI(t, dir, "u4\n", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "2",
			"--include", "include.txt", "--exclude", "-")
		if !strings.Contains(r.stdout, `big segment "vip" generation 2 in `) || !strings.Contains(r.stdout, "added 4, removed 0, unchanged 0") {
			t.Fatalf("import: %s", r)
		}
		r = mustCLI(t, dir, `{"key":"u1"}`+"\n"+`{"key":"u4"}`+"\n"+`{"key":"u9"}`+"\n",
			"eval", "--store", addr, "--contexts", "-", "--flag", "vip-only")
		want := `{"context":"u1","flag":"vip-only","value":"vip","variationIndex":1,"reason":{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"vip","bigSegmentsStatus":"HEALTHY"}}` + "\n" +
			`{"context":"u4","flag":"vip-only","value":"regular","variationIndex":0,"reason":{"kind":"FALLTHROUGH","bigSegmentsStatus":"HEALTHY"}}` + "\n" +
			`{"context":"u9","flag":"vip-only","value":"regular","variationIndex":0,"reason":{"kind":"FALLTHROUGH","bigSegmentsStatus":"HEALTHY"}}` + "\n"
		if r.stdout != want {
			t.Fatalf("eval with big segments:\n%s\nwant:\n%s", r.stdout, want)
		}

		// --replace makes the membership exactly the file's: u1 and u2 go.
		r = mustCLI(t, dir, "u3\n", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "2",
			"--include", "-", "--replace", "--progress", "lines")
		if !strings.Contains(r.stdout, "added 0, removed 3, unchanged 1") {
			t.Fatalf("replace: %s", r)
		}
		r = mustCLI(t, dir, `{"key":"u1"}`+"\n", "eval", "--store", addr, "--contexts", "-", "--flag", "vip-only")
		if !strings.Contains(r.stdout, `"value":"regular"`) {
			t.Fatalf("u1 still a member after replace: %s", r)
		}

		// A wrong generation is imported, with a warning.
		r = mustCLI(t, dir, "x\n", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "1", "--include", "-")
		if !strings.Contains(r.stderr, "the stored segment is at generation 2") {
			t.Fatalf("no generation warning: %s", r)
		}

		mustCLI(t, dir, "", "bigsegments", "touch", "--store", addr, "--at", "2024-05-01T12:00:00Z")
		r = mustCLI(t, dir, "", "inspect", "--store", addr)
		if !strings.Contains(r.stdout, "big segments: synchronized on 2024-05-01T12:00:00Z") {
			t.Fatalf("inspect after touch: %s", r)
		}
	})
}

func TestBinaryBadAddress(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		addr, example string
	}{
		{"flags.db", "bolt:./flags.db"},
		{"redis://:hunter2@h:notaport", "redis://localhost:6379/0?prefix=launchdarkly"},
		{"redis+cluster://127.0.0.1:7000", "redis+cluster://10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6379&prefix={launchdarkly}"},
		{"dynamodb://x", "dynamodb://flags?region=eu-west-1&prefix=prod"},
		{"mongodb://h", "bolt:./flags.db"},
	} {
		r := cli(t, dir, "", "inspect", "--store", tc.addr)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 2 || len(lines) != 1 || !strings.Contains(r.stderr, "example: "+tc.example) || r.stdout != "" {
			t.Errorf("--store %q: want exit 2 and one line with an example: %s", tc.addr, r)
		}
		if strings.Contains(r.stderr, "hunter2") {
			t.Errorf("the password is shown: %s", r.stderr)
		}
	}
	// The address can come from the environment.
	cmd := exec.Command(binary(t), "inspect")
	cmd.Dir = dir
	cmd.Env = append(cliEnv(), envStore+"=bolt:"+filepath.Join(dir, "env.db"))
	out, err := cmd.CombinedOutput()
	// The store is missing (or, where bbolt opens a missing file, not
	// initialized): either way inspect, a health check, exits 1 naming it.
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), filepath.Join(dir, "env.db")) {
		t.Fatalf("inspect with %s: %v\n%s", envStore, err, out)
	}
}

func TestBinaryHelp(t *testing.T) {
	dir := t.TempDir()
	r := mustCLI(t, dir, "", "help")
	for _, c := range commands() {
		if !strings.Contains(r.stdout, "  "+c.name+" ") {
			t.Errorf("help does not list %s", c.name)
		}
	}
	for _, args := range [][]string{
		{"write", "--help"}, {"sync", "-h"}, {"validate", "--help"}, {"eval", "--help"}, {"inspect", "--help"},
		{"export", "--help"}, {"bigsegments", "--help"}, {"bigsegments", "import", "--help"},
		{"bigsegments", "touch", "--help"}, {"help", "eval"}, {"help", "bigsegments", "import"},
		{"copy", "--help"}, {"watch", "--help"}, {"version", "--help"},
	} {
		r := mustCLI(t, dir, "", args...)
		if !strings.HasPrefix(r.stdout, "Usage:\n  daemonflag ") || !strings.Contains(r.stdout, "\nExamples:\n  daemonflag ") || r.stderr != "" {
			t.Errorf("%v: %s", args, r)
		}
	}
	for _, args := range [][]string{{}, {"nope"}, {"write", "--bogus"}, {"eval", "--store", "bolt:x.db"}, {"bigsegments"}, {"help", "nope"}} {
		if r := cli(t, dir, "", args...); r.code != 2 || r.stderr == "" || r.stdout != "" {
			t.Errorf("%v: want exit 2 and a message on stderr: %s", args, r)
		}
	}
}

// TestBinarySync runs sync, edits the file, and stops it with SIGTERM.
func TestBinarySync(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		file := filepath.Join(dir, "flags.yaml")
		write := func(value string) {
			t.Helper()
			tmp := file + ".tmp"
			if err := os.WriteFile(tmp, []byte("flagValues:\n  greeting: "+value+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, file); err != nil {
				t.Fatal(err)
			}
		}
		write("hello")
		cmd, logs, done := startDaemon(t, dir, cliEnv(), "sync", "--store", addr, "--interval", "100ms", "--touch-big-segments", "1s", file)
		eventually := func(want string) {
			t.Helper()
			waitForGreeting(t, dir, addr, want, logs)
		}
		eventually(`"value":"hello"`)
		write("bonjour")
		eventually(`"value":"bonjour"`)
		write("[unclosed")
		// Wait for the daemon to have read the broken file, then check
		// the store still serves the last good dataset.
		testwait.Eventually(t, "sync reports the invalid file", func() bool {
			return strings.Contains(logs.String(), "flag data files are invalid")
		})
		eventually(`"value":"bonjour"`)

		log := stopDaemon(t, "sync", cmd, done, logs)
		for _, s := range []string{"flag data files are invalid; the store keeps the last good dataset", "YAML syntax error", "msg=stopped"} {
			if !strings.Contains(log, s) {
				t.Errorf("sync logs lack %q:\n%s", s, log)
			}
		}
		r := mustCLI(t, dir, "", "inspect", "--store", addr)
		if !strings.Contains(r.stdout, "big segments: synchronized on") {
			t.Errorf("--touch-big-segments did not touch: %s", r)
		}
	})
}

// startDaemon starts the binary with args in dir, as a long-running command
// (sync, relay) whose standard error is collected. The process is killed at
// the end of the test unless the test has waited for it; done delivers its
// exit.
func startDaemon(t *testing.T, dir string, env []string, args ...string) (*exec.Cmd, *testlog.Buffer, <-chan error) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	logs := &testlog.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-done
		}
	})
	return cmd, logs, done
}

// waitForGreeting evaluates the flag "greeting" for context "k" until the
// output contains want, failing after 20 seconds with the daemon's logs.
func waitForGreeting(t *testing.T, dir, addr, want string, logs *testlog.Buffer) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last result
	for time.Now().Before(deadline) {
		last = cli(t, dir, "", "eval", "--store", addr, "--context", `{"key":"k"}`, "--flag", "greeting")
		if strings.Contains(last.stdout, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("eval never showed %s: %s\ndaemon logs:\n%s", want, last, logs.String())
}

// stopDaemon stops a command started by startDaemon with SIGTERM, requires
// it to exit with status 0 within 15 seconds, and returns its logs.
func stopDaemon(t *testing.T, name string, cmd *exec.Cmd, done <-chan error, logs *testlog.Buffer) string {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s exited with %v; logs:\n%s", name, err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("%s did not stop on SIGTERM; logs:\n%s", name, logs.String())
	}
	return logs.String()
}
