package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
)

func putFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBinaryRefusesDataLoss: a misspelt top-level property is an error, and
// a write that would delete all (or most) flags is refused with one line
// until --allow-delete confirms it; --dry-run prints the plan and writes
// nothing.
func TestBinaryRefusesDataLoss(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
		before := mustCLI(t, dir, "", "export", "--store", addr).stdout

		putFile(t, dir, "f.json", `{"flagz": {"a": {"on": true}}}`)
		r := cli(t, dir, "", "write", "--store", addr, "f.json")
		if r.code != 1 || !strings.Contains(r.stderr, `f.json:1:2: unknown top-level property "flagz"`) {
			t.Fatalf("write of a misspelt file: %s", r)
		}
		if r := cli(t, dir, "", "validate", "f.json"); r.code != 1 || !strings.Contains(r.stderr, `unknown top-level property "flagz"`) {
			t.Fatalf("validate of a misspelt file: %s", r)
		}

		putFile(t, dir, "empty.json", `{"flags": {}}`)
		r = cli(t, dir, "", "write", "--store", addr, "empty.json")
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 1 || len(lines) != 1 || r.stdout != "" ||
			!strings.Contains(r.stderr, "refusing to delete 8 of the store's 8 live flags (all of them); nothing written: give --allow-delete to confirm") {
			t.Fatalf("write of an empty dataset: want one line and exit 1: %s", r)
		}
		if after := mustCLI(t, dir, "", "export", "--store", addr).stdout; after != before {
			t.Fatal("the refused write changed the store")
		}

		// The plan of a refused write is printed with --dry-run, and the
		// refusal still fails.
		r = cli(t, dir, "", "write", "--store", addr, "--dry-run", "empty.json")
		if r.code != 1 || strings.Count(r.stdout, "deleted flag ") != 8 || !strings.Contains(r.stdout, "dry run: 0 new, 0 changed, 9 deleted; nothing written") {
			t.Fatalf("dry run of the empty dataset: %s", r)
		}

		// A dry run of an edit: one line per new, changed and deleted key.
		edited := strings.Replace(readTestdata(t, "eval-flags.json"), `"off": {`, `"off2": {`, 1)
		edited = strings.Replace(edited, `"on-value"`, `"other-value"`, 1)
		putFile(t, dir, "edited.json", edited)
		r = mustCLI(t, dir, "", "write", "--store", addr, "--dry-run", "edited.json")
		for _, want := range []string{`new     flag "off2" (version 1)`, `changed flag "targeted" (version 1 -> 2)`, `deleted flag "off" (version 1; tombstone at 2)`,
			"dry run: 1 new, 1 changed, 1 deleted; nothing written to "} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("dry run lacks %q: %s", want, r)
			}
		}
		if n := strings.Count(r.stdout, "\n"); n != 4 {
			t.Errorf("dry run prints %d lines, want 4: %s", n, r)
		}
		// sync --dry-run prints the same plan for one pass and exits.
		if rs := mustCLI(t, dir, "", "sync", "--store", addr, "--dry-run", "edited.json"); rs.stdout != r.stdout {
			t.Errorf("sync --dry-run:\n%s\nwrite --dry-run:\n%s", rs.stdout, r.stdout)
		}
		if after := mustCLI(t, dir, "", "export", "--store", addr).stdout; after != before {
			t.Fatal("a dry run changed the store")
		}

		// Confirmed.
		r = mustCLI(t, dir, "", "write", "--store", addr, "--allow-delete", "empty.json")
		if !strings.Contains(r.stdout, "(0 new or changed, 9 deleted)") {
			t.Fatalf("write --allow-delete: %s", r)
		}
	})
}

// TestBinarySyncRefusesDataLoss: sync started on files that would empty the
// store exits 1 with the one-line refusal.
func TestBinarySyncRefusesDataLoss(t *testing.T) {
	dir := t.TempDir()
	addr := "bolt:" + filepath.Join(dir, "s.db")
	mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
	putFile(t, dir, "empty.yaml", "flags: {}\n")
	r := cli(t, dir, "", "sync", "--store", addr, "empty.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "daemonflag sync: refusing to delete 8 of the store's 8 live flags (all of them); nothing written: give --allow-delete to confirm") {
		t.Fatalf("sync of an empty dataset: %s", r)
	}
}

// TestBinaryValidateStrict: warnings fail validate --strict, and unknown
// properties and invalid regular expressions are warnings naming the place.
func TestBinaryValidateStrict(t *testing.T) {
	dir := t.TempDir()
	putFile(t, dir, "w.yaml", `flags:
  f:
    on: true
    variation: [1, 2]
    variations: [1, 2]
    fallthrough: {variation: 0}
    rules:
      - variation: 1
        clauses: [{attribute: email, op: matches, values: ["(unclosed"]}]
`)
	r := mustCLI(t, dir, "", "validate", "w.yaml")
	for _, want := range []string{
		`w.yaml:2:3: warning: flag "f": variation: unknown property (did you mean "variations"?)`,
		`w.yaml:2:3: warning: flag "f": rules[0].clauses[0].values[0]: invalid regular expression "(unclosed"`,
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("validate lacks %q: %s", want, r)
		}
	}
	if !strings.Contains(r.stdout, "valid: 1 flag and 0 segments, 2 warnings") {
		t.Errorf("validate: %s", r)
	}
	r = cli(t, dir, "", "validate", "--strict", "w.yaml")
	if r.code != 1 || !strings.Contains(r.stderr, "2 warnings: invalid (--strict)") || r.stdout != "" {
		t.Fatalf("validate --strict: %s", r)
	}
}

// TestBinaryAllowMalformed: a dataset with items LaunchDarkly stores but
// calls malformed (as a Relay Proxy may write them) moves with
// export | write --allow-malformed; without it write refuses.
func TestBinaryAllowMalformed(t *testing.T) {
	dir := t.TempDir()
	src := "bolt:" + filepath.Join(dir, "src.db")
	dst := "bolt:" + filepath.Join(dir, "dst.db")
	data := `{"flags": {"range": {"on": true, "variations": [1], "fallthrough": {"variation": 5}, "version": 7},
		"fine": {"on": true, "variations": ["x"], "fallthrough": {"variation": 0}, "version": 3}},
		"segments": {"self": {"rules": [{"clauses": [{"op": "segmentMatch", "values": ["self"]}]}], "version": 2}}}`
	mustCLI(t, dir, data, "write", "--store", src, "--allow-malformed", "-")
	export := mustCLI(t, dir, "", "export", "--store", src).stdout
	r := cli(t, dir, export, "write", "--store", dst, "-")
	if r.code != 1 || !strings.Contains(r.stderr, "2 errors: nothing written") {
		t.Fatalf("write of malformed items without --allow-malformed: %s", r)
	}
	r = mustCLI(t, dir, export, "write", "--store", dst, "--allow-malformed", "-")
	if strings.Count(r.stderr, "malformed, written anyway") != 2 || !strings.Contains(r.stdout, "wrote 2 flags and 1 segment") {
		t.Fatalf("write --allow-malformed: %s", r)
	}
	if got := mustCLI(t, dir, "", "export", "--store", dst).stdout; got != export {
		t.Fatalf("the copy differs:\n%s\n----\n%s", got, export)
	}
	r = cli(t, dir, "", "eval", "--store", dst, "--context", `{"key":"k"}`, "--flag", "range", "--flag", "fine")
	if r.code != 1 || !strings.Contains(r.stdout, `"flag":"range","value":null,"reason":{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}`) ||
		!strings.Contains(r.stdout, `"flag":"fine","value":"x"`) {
		t.Fatalf("eval of the copy: %s", r)
	}
}

// TestBinaryBigSegmentImportTruth: a re-import of members counts them as
// unchanged, and a CSV file without --column is refused, listing its
// columns; --batch-size's help gives the real default.
func TestBinaryBigSegmentImportTruth(t *testing.T) {
	dir := t.TempDir()
	addr := "bolt:" + filepath.Join(dir, "s.db")
	r := mustCLI(t, dir, "a\nb\nc\n", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "1", "--include", "-")
	if !strings.Contains(r.stdout, "added 3, removed 0, unchanged 0") {
		t.Fatalf("first import: %s", r)
	}
	r = mustCLI(t, dir, "a\nb\nc\nd\n", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "1", "--include", "-")
	if !strings.Contains(r.stdout, "added 1, removed 0, unchanged 3") {
		t.Fatalf("re-import: %s", r)
	}
	putFile(t, dir, "users.csv", "name,user_id\nAnn,ann-1\nBob,bob-2\n")
	r = cli(t, dir, "", "bigsegments", "import", "--store", addr, "--segment", "vip", "--generation", "1", "--include", "users.csv")
	if r.code != 1 || !strings.Contains(r.stderr, `the columns "name", "user_id"; name the column of context keys`) {
		t.Fatalf("CSV without --column: %s", r)
	}
	r = mustCLI(t, dir, "", "bigsegments", "import", "--help")
	if !strings.Contains(r.stdout, "membership changes per store write (0: 5000)") {
		t.Errorf("--batch-size help: %s", r.stdout)
	}
}

// TestBinaryRejectsTooDeepChain: a prerequisite chain deeper than the
// evaluator follows is refused by validate and write, naming the chain.
func TestBinaryRejectsTooDeepChain(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString(`{"flags": {`)
	const n = 1500
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		pre := ""
		if i+1 < n {
			pre = fmt.Sprintf(`, "prerequisites": [{"key": "f%d", "variation": 0}]`, i+1)
		}
		fmt.Fprintf(&b, `"f%d": {"on": true, "variations": [true], "fallthrough": {"variation": 0}%s}`, i, pre)
	}
	b.WriteString("}}")
	putFile(t, dir, "chain.json", b.String())
	want := `flag "f0": prerequisite chain of 1500 flags needs 1499 levels, more than the evaluator follows (1000): f0 -> f1 -> f2 -> ... (1494 more) ... -> f1497 -> f1498 -> f1499`
	for _, args := range [][]string{{"validate", "chain.json"}, {"write", "--store", "bolt:" + filepath.Join(dir, "s.db"), "chain.json"}} {
		if r := cli(t, dir, "", args...); r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("%v: %s", args, r)
		}
	}
}
