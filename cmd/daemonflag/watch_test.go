package main

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestBinaryWatch runs watch on a bbolt store while write changes a flag:
// one JSON line per change, with the versions and the new value for the
// context; unwatched flags print nothing; SIGTERM ends it with status 0.
func TestBinaryWatch(t *testing.T) {
	dir := t.TempDir()
	addr := "bolt:" + filepath.Join(dir, "flags.db")
	flags := func(greeting, other string) string {
		return `{"flagValues": {"greeting": "` + greeting + `", "other": "` + other + `"}}`
	}
	mustCLI(t, dir, flags("hello", "x"), "write", "--store", addr, "-")

	cmd := exec.Command(binary(t), "watch", "--store", addr, "--flag", "greeting", "--context", `{"key":"k"}`, "--ttl", "100ms")
	cmd.Dir, cmd.Env = dir, cliEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	lines := make(chan string, 100)
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			select {
			case started <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case l := <-started:
		if !strings.Contains(l, "watching 1 flag in bolt:") {
			t.Fatalf("first stderr line %q", l)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("watch did not start")
	}

	// A change of "other" only, then of "greeting": one line, for greeting.
	// (The client reads its first snapshot when it starts; a write that
	// races with it is repeated with the next value.)
	var got struct {
		Time                   time.Time
		Flag                   string
		OldVersion, NewVersion int
		Value                  any
		VariationIndex         *int
		Reason                 struct{ Kind string }
	}
	mustCLI(t, dir, flags("hello", "y"), "write", "--store", addr, "-")
	value := ""
	for attempt := 0; attempt < 3 && got.Flag == ""; attempt++ {
		value = []string{"bonjour", "hola", "ciao"}[attempt]
		before := time.Now()
		mustCLI(t, dir, flags(value, "y"), "write", "--store", addr, "-")
		select {
		case l := <-lines:
			if err := json.Unmarshal([]byte(l), &got); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if got.Time.Before(before.Add(-time.Second)) {
				t.Errorf("line time %v is before the write at %v", got.Time, before)
			}
		case <-time.After(10 * time.Second):
		}
	}
	if got.Flag != "greeting" || got.NewVersion != got.OldVersion+1 || got.Value != value ||
		got.VariationIndex == nil || *got.VariationIndex != 0 || got.Reason.Kind != "FALLTHROUGH" {
		t.Fatalf("watch line %+v, want greeting's change to %q", got, value)
	}
	select {
	case l := <-lines:
		t.Fatalf("an extra line: %s", l)
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("watch exited with %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("watch did not stop on SIGTERM")
	}
}
