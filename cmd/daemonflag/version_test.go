package main

import (
	"os/exec"
	"runtime/debug"
	"strings"
	"testing"
)

// TestBinaryVersion: version and --version print the module and the VCS
// revision recorded in the binary's build information (go version -m), and
// that revision is the checkout's HEAD. (Go records no revision for a build
// in a git worktree, whose .git is a file; then both say so.)
func TestBinaryVersion(t *testing.T) {
	dir := t.TempDir()
	r := mustCLI(t, dir, "", "version")
	if r2 := mustCLI(t, dir, "", "--version"); r2.stdout != r.stdout {
		t.Errorf("--version %q differs from version %q", r2.stdout, r.stdout)
	}
	if !strings.HasPrefix(r.stdout, "daemonflag ") || !strings.Contains(r.stdout, " github.com/daemonflag/daemonflag ") ||
		!strings.Contains(r.stdout, " go1.") || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("version: %s", r)
	}
	m, err := exec.Command("go", "version", "-m", binary(t)).Output()
	if err != nil {
		t.Fatalf("go version -m: %v", err)
	}
	rev := ""
	for _, line := range strings.Split(string(m), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs.revision=") {
			rev = strings.TrimPrefix(f[1], "vcs.revision=")
		}
	}
	if rev == "" {
		if !strings.Contains(r.stdout, " revision unknown ") {
			t.Errorf("no revision recorded, but version says %q", r.stdout)
		}
		return
	}
	if !strings.Contains(r.stdout, " revision "+rev) {
		t.Errorf("version %q does not name the recorded revision %s", r.stdout, rev)
	}
	if head, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && strings.TrimSpace(string(head)) != rev {
		t.Errorf("recorded revision %s is not HEAD %s", rev, head)
	}
}

func TestVersionLine(t *testing.T) {
	info := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/daemonflag/daemonflag", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	want := "daemonflag v1.2.3 github.com/daemonflag/daemonflag revision abc123 (2026-12-01T10:00:00Z, +modified) go1.26.0"
	if got := versionLine(info, true); got != want {
		t.Errorf("versionLine\n got: %s\nwant: %s", got, want)
	}
	if got := versionLine(nil, false); !strings.Contains(got, "no build information") {
		t.Errorf("without build info: %s", got)
	}
}
