package integration

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScriptStopsAtFailingBackend runs scripts/test.sh with a Redis start
// that fails: the script must stop there, with the backend's own error,
// instead of running tests against no server. The script runs in a copy of
// scripts/ whose redis.sh and dynalite.sh are stand-ins (no server is
// started and nothing is installed).
func TestScriptStopsAtFailingBackend(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	root := moduleRoot(t)
	repo := t.TempDir()
	scripts := filepath.Join(repo, "scripts")
	if err := os.MkdirAll(scripts, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "scripts", "test.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"test.sh":     string(data),
		"redis.sh":    "#!/usr/bin/env bash\nif [[ $1 == start ]]; then echo 'redis.sh: redis-server failed to start: port in use (the backend error)' >&2; echo 'export DAEMONFLAG_REDIS_URL=redis://127.0.0.1:1'; exit 1; fi\n",
		"dynalite.sh": "#!/usr/bin/env bash\nif [[ $1 == start ]]; then echo 'dynalite.sh start was reached' >&2; fi\n",
	} {
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(scripts, "test.sh"), "./nothing/")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "DAEMONFLAG_RUN_DIR="+filepath.Join(repo, ".run"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("test.sh did not stop at the failed backend:\n%s", out.String())
	}
	log := out.String()
	if err == nil {
		t.Fatalf("test.sh exited 0 after a failed backend start:\n%s", log)
	}
	for _, want := range []string{"redis-server failed to start: port in use (the backend error)", "test.sh: redis.sh start failed"} {
		if !strings.Contains(log, want) {
			t.Errorf("output lacks %q:\n%s", want, log)
		}
	}
	for _, notWant := range []string{"dynalite.sh start was reached", "==> gofmt", "==> go vet"} {
		if strings.Contains(log, notWant) {
			t.Errorf("test.sh went on after the failure (%q):\n%s", notWant, log)
		}
	}
}
