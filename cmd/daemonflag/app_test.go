package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/daemonflag/daemonflag/membership"
)

// runApp runs the command in process.
func runApp(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return env[k] }}
	code := a.run(context.Background(), args)
	return result{stdout: out.String(), stderr: errb.String(), code: code}
}

func TestFlagsAfterArguments(t *testing.T) {
	dir := t.TempDir()
	db := "bolt:" + dir + "/f.db"
	flags := testdata(t, "eval-flags.json")
	for _, args := range [][]string{
		{"write", flags, "--store", db},
		{"write", "--store", db, flags},
		{"write", "--store", db, "--", flags},
	} {
		if r := runApp(t, nil, args...); r.code != 0 {
			t.Errorf("%v: %s", args, r)
		}
	}
	// After "--", an argument that looks like a flag is a file name.
	r := runApp(t, nil, "write", "--store", db, "--", "--store")
	if r.code != 1 || !strings.Contains(r.stderr, "--store: cannot read") {
		t.Errorf("write -- --store: %s", r)
	}
	// The same file twice is refused rather than reported key by key.
	r = runApp(t, nil, "write", "--store", db, flags, flags)
	if r.code != 1 || !strings.Contains(r.stderr, "is given twice") {
		t.Errorf("a file given twice: %s", r)
	}
	// DAEMONFLAG_STORE supplies --store.
	r = runApp(t, map[string]string{envStore: db}, "inspect")
	if r.code != 0 || !strings.Contains(r.stdout, "flags:        8") {
		t.Errorf("inspect with %s: %s", envStore, r)
	}
}

func TestUsageErrors(t *testing.T) {
	db := "bolt:" + t.TempDir() + "/f.db"
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"write", "--store", db}, "no flag data files given"},
		{[]string{"write", "x.json"}, "no store: give --store ADDR"},
		{[]string{"sync", "--store", db, "-"}, `"-" (standard input) cannot be watched`},
		{[]string{"eval", "--store", db}, "no context"},
		{[]string{"eval", "--store", db, "--context", "{}", "--default", "{"}, "--default is not JSON"},
		{[]string{"inspect", "--store", db, "extra"}, `unexpected argument "extra"`},
		{[]string{"bigsegments", "import", "--store", db, "--generation", "1", "--include", "x"}, "--segment KEY is required"},
		{[]string{"bigsegments", "import", "--store", db, "--segment", "s", "--include", "x"}, "--generation N"},
		{[]string{"bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1"}, "nothing to import"},
		{[]string{"bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1", "--include", "-", "--exclude", "-"}, "only one input"},
		{[]string{"bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1", "--include", "a", "--remove", "b", "--replace"}, "--replace cannot be combined"},
		{[]string{"bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1", "--include", "a", "--progress", "loud"}, "--progress must be"},
		{[]string{"bigsegments", "touch", "--store", db, "--at", "yesterday"}, "not an RFC 3339 time"},
		{[]string{"bigsegments", "frobnicate"}, `unknown subcommand "frobnicate"`},
	} {
		r := runApp(t, nil, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: want exit 2 and %q: %s", tc.args, tc.msg, r)
		}
	}
}

func TestEvalContextErrors(t *testing.T) {
	dir := t.TempDir()
	db := "bolt:" + dir + "/f.db"
	if r := runApp(t, nil, "write", "--store", db, testdata(t, "eval-flags.json")); r.code != 0 {
		t.Fatal(r)
	}
	bad := dir + "/bad.jsonl"
	if err := writeFile(bad, "{\"key\": \"a\"}\n{\"kind\": \"user\"}\n"); err != nil {
		t.Fatal(err)
	}
	r := runApp(t, nil, "eval", "--store", db, "--contexts", bad)
	if r.code != 1 || !strings.Contains(r.stderr, "bad.jsonl:2: invalid context") || r.stdout != "" {
		t.Errorf("bad contexts file: %s", r)
	}
	r = runApp(t, nil, "eval", "--store", db, "--context", `{"kind": "user"`)
	if r.code != 1 || !strings.Contains(r.stderr, "--context: invalid context") {
		t.Errorf("bad --context: %s", r)
	}
	// An uninitialized store (a wrong prefix, say) is an error, not a
	// page of FLAG_NOT_FOUND.
	r = runApp(t, nil, "eval", "--store", db+"?prefix=other", "--context", `{"key": "a"}`)
	if r.code != 1 || !strings.Contains(r.stderr, "is not initialized") {
		t.Errorf("eval of an uninitialized store: %s", r)
	}
	r = runApp(t, nil, "export", "--store", db+"?prefix=other")
	if r.code != 1 || !strings.Contains(r.stderr, "--allow-uninitialized") {
		t.Errorf("export of an uninitialized store: %s", r)
	}
	r = runApp(t, nil, "export", "--store", db+"?prefix=other", "--allow-uninitialized")
	if r.code != 0 || !strings.Contains(r.stdout, `"flags": {}`) {
		t.Errorf("export --allow-uninitialized: %s", r)
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(progressLines, &b, -1)
	p.interval = 0
	p.update(membership.Progress{Added: 10, Removed: 2, Elapsed: 2 * time.Second})
	p.finish()
	if got := b.String(); got != "import: 12 keys (added 10, removed 2, unchanged 0) in 2.0s, 6 keys/s\n" {
		t.Errorf("progress line %q", got)
	}
	// The bar redraws at most every interval: a fake clock moves past it.
	synctest.Test(t, func(t *testing.T) {
		var b bytes.Buffer
		p := newProgress(progressBar, &b, 100)
		p.update(membership.Progress{Added: 50, Elapsed: time.Second})
		time.Sleep(p.interval + time.Millisecond)
		p.update(membership.Progress{Added: 100, Elapsed: 2 * time.Second})
		p.finish()
		if !strings.Contains(b.String(), "importing") {
			t.Errorf("progress bar output %q", b.String())
		}
	})
	for name, want := range map[string]progressMode{"auto": progressBar, "bar": progressBar, "lines": progressLines, "none": progressNone} {
		if got, err := progressFor(name, true); err != nil || got != want {
			t.Errorf("progressFor(%q) = %v, %v", name, got, err)
		}
	}
	if got, _ := progressFor("auto", false); got != progressLines {
		t.Errorf("auto without a terminal = %v", got)
	}
}

func writeFile(path, content string) error {
	return writeFileBytes(path, []byte(content))
}

func writeFileBytes(path string, b []byte) error { return os.WriteFile(path, b, 0o644) }

func TestImportCSV(t *testing.T) {
	dir := t.TempDir()
	db := "bolt:" + dir + "/f.db"
	csv := dir + "/users.csv"
	if err := writeFile(csv, "name,user_id\nAnn,u1\nBo,u2\n,\n"); err != nil {
		t.Fatal(err)
	}
	r := runApp(t, nil, "bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1",
		"--include", csv, "--column", "user_id", "--progress", "none")
	if r.code != 0 || !strings.Contains(r.stdout, "added 2, removed 0") {
		t.Fatalf("CSV import: %s", r)
	}
	if !strings.Contains(r.stderr, `warning: segment "s": not in this store's flag data (yet)`) {
		t.Errorf("no warning about the missing segment: %s", r)
	}
	r = runApp(t, nil, "bigsegments", "import", "--store", db, "--segment", "s", "--generation", "1",
		"--include", csv, "--column", "id", "--progress", "none")
	if r.code != 1 || !strings.Contains(r.stderr, `no column "id"`) {
		t.Fatalf("CSV import with a wrong column: %s", r)
	}
}
