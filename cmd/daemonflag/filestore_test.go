package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFileStoreAddress runs the reading commands on a file: store, and a
// writing one, which is refused in one line.
func TestFileStoreAddress(t *testing.T) {
	flags := testdata(t, "eval-flags.json")
	addr := "file:" + flags
	r := runApp(t, nil, "inspect", "--store", addr)
	if r.code != 0 || !strings.Contains(r.stdout, "flags:        8") {
		t.Errorf("inspect: %s", r)
	}
	r = runApp(t, nil, "export", "--store", addr)
	if r.code != 0 || !strings.Contains(r.stdout, `"flags": {`) {
		t.Errorf("export: %s", r)
	}
	r = runApp(t, nil, "eval", "--store", addr, "--context", `{"kind":"user","key":"u"}`)
	if r.code != 0 || !strings.Contains(r.stdout, `"reason"`) {
		t.Errorf("eval: %s", r)
	}
	db := "bolt:" + filepath.Join(t.TempDir(), "copy.db")
	if r := runApp(t, nil, "copy", "--from", addr, "--to", db); r.code != 0 {
		t.Errorf("copy from a file store: %s", r)
	}
	if r := runApp(t, nil, "inspect", "--store", db); r.code != 0 || !strings.Contains(r.stdout, "flags:        8") {
		t.Errorf("inspect of the copy: %s", r)
	}
	r = runApp(t, nil, "write", "--store", addr, flags)
	if r.code == 0 || !strings.Contains(r.stderr, "read-only") {
		t.Errorf("write to a file store: %s", r)
	}
	r = runApp(t, nil, "inspect", "--store", "file:"+filepath.Join(t.TempDir(), "missing.yaml"))
	if r.code == 0 || !strings.Contains(r.stderr, "missing.yaml: cannot read") {
		t.Errorf("inspect of a missing file: %s", r)
	}
}
