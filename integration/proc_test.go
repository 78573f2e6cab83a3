package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds on stopping a process: first its stdin is closed (the client
// program stops on that), then SIGTERM, then SIGKILL.
const (
	stdinGrace = 3 * time.Second
	termGrace  = 5 * time.Second
	killWait   = 5 * time.Second
)

// procOptions adjusts startProc.
type procOptions struct {
	// env is added to the test process's environment.
	env []string
	// dir is the working directory; empty means the test's.
	dir string
	// stdin gives the process a pipe as stdin (proc.closeStdin, proc.send);
	// otherwise stdin is empty.
	stdin bool
	// onLine receives each line of stdout, in order, on one goroutine. Nil:
	// stdout goes to the log with stderr.
	onLine func(line []byte)
}

// proc is a child process that the test stops by its PID when it ends.
type proc struct {
	t       testing.TB
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	log     *logBuffer
	exited  chan struct{}
	waitErr error // set before exited is closed
}

// startProc starts path with args and registers its stop with t.Cleanup. The
// kernel kills it if the test process dies first (see sysProcAttr).
func startProc(t testing.TB, name, path string, args []string, o procOptions) *proc {
	t.Helper()
	skipShort(t)
	p := &proc{t: t, name: name, log: &logBuffer{}, exited: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Dir = o.dir
	cmd.Stderr = p.log
	if o.onLine != nil {
		cmd.Stdout = &lineWriter{fn: o.onLine}
	} else {
		cmd.Stdout = p.log
	}
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 3 * time.Second // bounds the wait for the output pipes
	if o.stdin {
		w, err := cmd.StdinPipe()
		if err != nil {
			t.Fatalf("%s: stdin: %v", name, err)
		}
		p.stdin = w
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s (pid %d) output, last lines:\n%s", name, p.pid(), p.log.tail(40))
		}
	})
	return p
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// running reports whether the process has not exited.
func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// wait waits up to d for the process to exit and returns its error (nil
// for exit status 0); ok is false when it still runs.
func (p *proc) wait(d time.Duration) (err error, ok bool) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.exited:
		return p.waitErr, true
	case <-timer.C:
		return nil, false
	}
}

// send writes one line to the process's stdin.
func (p *proc) send(line string) {
	if p.stdin != nil && p.running() {
		_, _ = io.WriteString(p.stdin, line+"\n")
	}
}

// stop ends the process gently if it can, by force if it must: stdin
// closed, then SIGTERM, then SIGKILL, each with a bounded wait. It is safe
// to call more than once.
func (p *proc) stop() {
	if p.stdin != nil {
		_ = p.stdin.Close()
		if _, ok := p.wait(stdinGrace); ok {
			return
		}
	}
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if _, ok := p.wait(termGrace); ok {
		return
	}
	p.t.Logf("%s (pid %d) ignored SIGTERM for %v; killing it", p.name, p.pid(), termGrace)
	p.kill()
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Kill()
	if _, ok := p.wait(killWait); !ok {
		p.t.Errorf("%s (pid %d) still running %v after SIGKILL", p.name, p.pid(), killWait)
	}
}

// runResult is the outcome of runCommand.
type runResult struct {
	stdout, stderr string
	err            error
	elapsed        time.Duration
}

// runCommand runs path with args to completion, killing it after timeout,
// and returns its output. The process is stopped by its PID if the test
// ends first.
func runCommand(t testing.TB, timeout time.Duration, env []string, path string, args ...string) runResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 3 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := runResult{stdout: stdout.String(), stderr: stderr.String(), err: err, elapsed: time.Since(start)}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("%w (killed after %v)", ctx.Err(), timeout)
	}
	return r
}

// mustRun is runCommand that fails the test unless the command succeeds.
func mustRun(t testing.TB, timeout time.Duration, env []string, path string, args ...string) runResult {
	t.Helper()
	r := runCommand(t, timeout, env, path, args...)
	if r.err != nil {
		var ee *exec.ExitError
		if errors.As(r.err, &ee) {
			t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", path, strings.Join(args, " "), r.err, clip(r.stdout), clip(r.stderr))
		}
		t.Fatalf("%s %s: %v\nstderr:\n%s", path, strings.Join(args, " "), r.err, clip(r.stderr))
	}
	return r
}

func clip(s string) string {
	const max = 4000
	if len(s) > max {
		return "..." + s[len(s)-max:]
	}
	return s
}

// lineWriter calls fn with each complete line written to it (without the
// newline). exec.Cmd writes to it from one goroutine.
type lineWriter struct {
	buf []byte
	fn  func([]byte)
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.fn(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	return len(b), nil
}

// logBuffer keeps what a process writes to stderr, up to a bound (the
// oldest half is dropped when it is exceeded).
type logBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const maxLog = 4 << 20

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	if len(l.buf) > maxLog {
		l.buf = append([]byte(nil), l.buf[len(l.buf)-maxLog/2:]...)
	}
	return len(b), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// tail returns the last n lines.
func (l *logBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// lines returns the lines that contain every one of the substrings.
func (l *logBuffer) lines(subs ...string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok && line != "" {
			out = append(out, line)
		}
	}
	return out
}

// waitFor polls cond every interval until it is true or timeout passes; it
// reports whether cond became true.
func waitFor(timeout, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(interval)
	}
}
