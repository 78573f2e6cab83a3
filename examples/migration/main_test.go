package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testservers"
)

var want = []string{
	"bbolt holds user:1..3; Redis holds nothing",
	"== stage off\nwrite user:off -> old (authoritative first), err <nil>\nread user:1 from old = \"v1\"",
	"== stage dualwrite\nwrite user:dualwrite -> old, new (authoritative first)",
	"== stage shadow\nwrite user:shadow -> old, new (authoritative first), err <nil>\nread user:1 from old",
	"== stage live\nwrite user:live -> new, old (authoritative first), err <nil>\nread user:1 from new",
	"== stage rampdown\nwrite user:rampdown -> new, old (authoritative first), err <nil>\nread user:1 from new",
	"== stage complete\nwrite user:complete -> new (authoritative first), err <nil>\nread user:1 from new = \"v1\"",
	"Redis holds 8 keys",
	"12 migration_op events written to events.jsonl, 0 inconsistent reads",
}

// TestRun runs the example against the test Redis and checks every stage.
func TestRun(t *testing.T) {
	url := testservers.RedisURL(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, url); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

// TestGoRun runs the command as the README says.
func TestGoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command; skipped with -short")
	}
	url := testservers.RedisURL(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command in PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "run", "./examples/migration")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "DAEMONFLAG_REDIS_URL="+url)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/migration: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), want[len(want)-1]) {
		t.Errorf("unexpected output:\n%s", out)
	}
}
