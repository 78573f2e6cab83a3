package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
)

// TestBinaryCopy copies a store with flags, a tombstone, a big segment's
// memberships and its synchronized-on time from every backend to bbolt and
// back to a fresh dataset on the same backend (whose stale content goes),
// checking the summary and both sides with inspect and eval.
func TestBinaryCopy(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process scenario; skipped with -short")
	}
	const flags = `{"flags": {"vip-only": {"on": true, "variations": ["regular", "vip"],
		"rules": [{"id": "vip", "clauses": [{"op": "segmentMatch", "values": ["vip"]}], "variation": 1}],
		"fallthrough": {"variation": 0}}, "gone": {"variations": [1]}, "kept": {"variations": [1]}, "also": {"variations": [2]}},
		"segments": {"vip": {"unbounded": true, "generation": 2}}}`
	const contexts = `{"key":"u1"}` + "\n" + `{"key":"u4"}` + "\n" + `{"key":"u9"}` + "\n"
	testaddrs.ForEach(t, func(t *testing.T, src string) {
		dir := t.TempDir()
		mustCLI(t, dir, flags, "write", "--store", src, "-")
		// "gone" becomes a tombstone (1 of 4 flags deleted).
		mustCLI(t, dir, strings.Replace(flags, `"gone": {"variations": [1]}, `, "", 1), "write", "--store", src, "-")
		mustCLI(t, dir, "u1\nu2\nu3\n", "bigsegments", "import", "--store", src, "--segment", "vip", "--generation", "2", "--include", "-")
		mustCLI(t, dir, "u4\n", "bigsegments", "import", "--store", src, "--segment", "vip", "--generation", "2", "--exclude", "-")
		mustCLI(t, dir, "", "bigsegments", "touch", "--store", src, "--at", "2024-05-01T12:00:00Z")
		wantEval := mustCLI(t, dir, contexts, "eval", "--store", src, "--contexts", "-", "--flag", "vip-only").stdout
		if !strings.Contains(wantEval, `"context":"u1","flag":"vip-only","value":"vip"`) {
			t.Fatalf("source eval: %s", wantEval)
		}
		wantInspect := inspectBody(mustCLI(t, dir, "", "inspect", "--store", src).stdout)

		check := func(dst string, removed, membershipsRemoved int) {
			t.Helper()
			r := mustCLI(t, dir, "", "copy", "--from", src, "--to", dst, "--allow-delete")
			for _, want := range []string{
				"flags:        3 (1 deleted)\n", "segments:     1 (0 deleted)\n",
				"removed:      " + strconv.Itoa(removed) + "\n",
				"big segments: 4 contexts, 4 memberships (" + strconv.Itoa(membershipsRemoved) + " removed), synchronized on 2024-05-01T12:00:00Z\n",
			} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("copy to %s: summary lacks %q: %s", dst, want, r)
				}
			}
			// The destination also keeps a tombstone of each item removed.
			want := strings.Replace(wantInspect, "(1 deleted)", "("+strconv.Itoa(1+removed)+" deleted)", 1)
			if got := inspectBody(mustCLI(t, dir, "", "inspect", "--store", dst).stdout); got != want {
				t.Errorf("inspect of the copy:\n%s\nwant:\n%s", got, want)
			}
			if got := mustCLI(t, dir, contexts, "eval", "--store", dst, "--contexts", "-", "--flag", "vip-only").stdout; got != wantEval {
				t.Errorf("eval of the copy:\n%s\nwant:\n%s", got, wantEval)
			}
		}
		bolt := testaddrs.Bolt(t)
		check(bolt, 0, 0)

		// Back to a fresh dataset on the source's backend that holds other
		// things: a live flag (whose deletion needs --allow-delete) and a
		// membership of another segment, both removed.
		back := otherAddress(t)
		mustCLI(t, dir, `{"flags": {"stale": {"variations": [1]}}}`, "write", "--store", back, "-")
		mustCLI(t, dir, "x\n", "bigsegments", "import", "--store", back, "--segment", "old", "--generation", "1", "--include", "-")
		r := cli(t, dir, "", "copy", "--from", bolt, "--to", back)
		if r.code != 1 || !strings.Contains(r.stderr, "refusing to delete 1 of the store's 1 live flag (all of them)") {
			t.Fatalf("copy over a live flag without --allow-delete: %s", r)
		}
		src = bolt
		check(back, 1, 1)
	})
}

// TestBinaryCopyRefusesUninitialized: copying a store no writer has filled
// (a wrong prefix) would empty the destination; it is refused.
func TestBinaryCopyRefusesUninitialized(t *testing.T) {
	dir := t.TempDir()
	dst := "bolt:" + dir + "/dst.db"
	mustCLI(t, dir, "", "write", "--store", dst, testdata(t, "eval-flags.json"))
	mustCLI(t, dir, `{"flags": {}}`, "write", "--store", "bolt:"+dir+"/src.db", "-")
	r := cli(t, dir, "", "copy", "--from", "bolt:"+dir+"/src.db?prefix=typo", "--to", dst)
	if r.code != 1 || !strings.Contains(r.stderr, "is not initialized") {
		t.Fatalf("copy from an uninitialized prefix: %s", r)
	}
}

// inspectBody drops inspect's first two lines (store address and prefix),
// the last-write time (each store's own) and the age of the
// synchronized-on time.
func inspectBody(out string) string {
	lines := strings.Split(out, "\n")
	if len(lines) > 2 {
		lines = lines[2:]
	}
	var kept []string
	for _, l := range lines {
		if strings.HasPrefix(l, "last write:") {
			continue // the destination's own write time
		}
		if j := strings.Index(l, " ("); strings.HasPrefix(l, "big segments:") && j > 0 {
			l = l[:j]
		}
		kept = append(kept, l)
	}
	return strings.Join(kept, "\n")
}
