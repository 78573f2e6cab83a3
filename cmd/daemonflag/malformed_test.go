package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
)

// putRaw stores data under key as it is, as a foreign writer could.
func putRaw(t *testing.T, addr string, kind store.Kind, key string, version int, data string) {
	t.Helper()
	s, err := stores.Open(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Upsert(context.Background(), kind, key, store.Item{Version: version, Data: []byte(data)}); err != nil {
		t.Fatalf("raw upsert: %v", err)
	}
}

// TestBinaryOneBadItem: a stored item that is not a flag does not blind the
// tools: inspect names it and exits 1, export exports the rest and names
// what it skipped, eval without --flag evaluates every other flag.
func TestBinaryOneBadItem(t *testing.T) {
	testaddrs.ForEach(t, testOneBadItem)
}

func testOneBadItem(t *testing.T, addr string) {
	dir := t.TempDir()
	mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
	want := mustCLI(t, dir, "", "export", "--store", addr).stdout
	if strings.HasPrefix(addr, "redis://") {
		// As in the issue: redis-cli hset launchdarkly:features f1 'not json'.
		a, err := stores.Parse(addr)
		if err != nil {
			t.Fatal(err)
		}
		opts, err := goredis.ParseURL(strings.SplitN(addr, "?", 2)[0])
		if err != nil {
			t.Fatal(err)
		}
		c := goredis.NewClient(opts)
		defer c.Close()
		if err := c.HSet(context.Background(), a.Prefix+":features", "f1", "not json").Err(); err != nil {
			t.Fatal(err)
		}
	} else {
		putRaw(t, addr, store.Features, "f1", 3, "not json")
	}

	r := cli(t, dir, "", "inspect", "--store", addr)
	if r.code != 1 || !strings.Contains(r.stdout, "flags:        9 (0 deleted)") || !strings.Contains(r.stdout, `malformed:    flag "f1": `) ||
		!strings.Contains(r.stderr, "holds 1 malformed item that clients evaluate as MALFORMED_FLAG") {
		t.Fatalf("inspect: %s", r)
	}
	r = cli(t, dir, "", "inspect", "--store", addr, "--json")
	var info struct {
		Flags     int
		Malformed []struct{ Kind, Key, Error string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil || r.code != 1 || info.Flags != 9 ||
		len(info.Malformed) != 1 || info.Malformed[0].Key != "f1" || info.Malformed[0].Kind != "flag" {
		t.Fatalf("inspect --json: %v %s", err, r)
	}

	r = mustCLI(t, dir, "", "export", "--store", addr)
	if r.stdout != want || !strings.Contains(r.stderr, `store features/f1: warning: flag "f1": not exported: the stored item is malformed`) {
		t.Fatalf("export: %s", r)
	}

	r = cli(t, dir, "", "eval", "--store", addr, "--context", `{"key":"alice"}`)
	if strings.Count(r.stdout, "\n") != 9 || !strings.Contains(r.stdout, `"flag":"f1","value":null,"reason":{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}`) ||
		!strings.Contains(r.stdout, `"flag":"targeted","value":"on-value"`) {
		t.Fatalf("eval without --flag: %s", r)
	}
}

// TestBinaryInspectUninitialized: inspect is a health check; a store with no
// dataset under the prefix exits 1 (the report is still printed).
func TestBinaryInspectUninitialized(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		dir := t.TempDir()
		mustCLI(t, dir, "", "write", "--store", addr, testdata(t, "eval-flags.json"))
		other := withOtherPrefix(t, addr) // the same store (file), another dataset
		r := cli(t, dir, "", "inspect", "--store", other)
		if r.code != 1 || !strings.Contains(r.stdout, "initialized:  no") || !strings.Contains(r.stderr, "is not initialized") {
			t.Fatalf("inspect of another prefix: %s", r)
		}
		if r := cli(t, dir, "", "inspect", "--store", other, "--json"); r.code != 1 || !strings.Contains(r.stdout, `"initialized":false`) {
			t.Fatalf("inspect --json of another prefix: %s", r)
		}
	})
}

// withOtherPrefix returns addr with another prefix (a hash tag kept for a
// Cluster).
func withOtherPrefix(t *testing.T, addr string) string {
	t.Helper()
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := "other-" + testaddrs.Token()
	if strings.Contains(a.Prefix, "{") {
		p = "{" + p + "}"
	}
	i := strings.Index(addr, "prefix=")
	if i < 0 {
		sep := "?"
		if strings.Contains(addr, "?") {
			sep = "&"
		}
		return addr + sep + "prefix=" + p
	}
	rest := ""
	if j := strings.IndexByte(addr[i:], '&'); j >= 0 {
		rest = addr[i+j:]
	}
	return addr[:i] + "prefix=" + p + rest
}

// TestBinaryMissingBoltPaths: a bbolt file that does not exist is reported
// as such, with its absolute path, and inspect exits 1; a writer refuses a
// missing directory unless ?mkdir=true asks for it.
func TestBinaryMissingBoltPaths(t *testing.T) {
	dir := t.TempDir()
	r := cli(t, dir, "", "inspect", "--store", "bolt:./nothing.db")
	if r.code != 1 || !strings.Contains(r.stderr, filepath.Join(dir, "nothing.db")) || !strings.Contains(r.stderr, "does not exist") {
		t.Fatalf("inspect of a missing file: %s", r)
	}
	r = cli(t, dir, "", "write", "--store", "bolt:./nodir/x.db", testdata(t, "eval-flags.json"))
	if r.code != 1 || !strings.Contains(r.stderr, "nodir") || !strings.Contains(r.stderr, "mkdir=true") {
		t.Fatalf("write into a missing directory: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "nodir")); !os.IsNotExist(err) {
		t.Fatalf("the refused write created the directory: %v", err)
	}
	// A dry run on a file that does not exist yet: everything is new.
	r = mustCLI(t, dir, "", "write", "--store", "bolt:./new.db", "--dry-run", testdata(t, "eval-flags.json"))
	if !strings.Contains(r.stdout, "dry run: 9 new, 0 changed, 0 deleted; nothing written to bolt:./new.db (prefix \"launchdarkly\") (which does not exist yet)") {
		t.Fatalf("dry run on a new file: %s", r)
	}
	if _, err := os.Stat(filepath.Join(dir, "new.db")); !os.IsNotExist(err) {
		t.Fatalf("the dry run created the file: %v", err)
	}
	mustCLI(t, dir, "", "write", "--store", "bolt:./nodir/x.db?mkdir=true", testdata(t, "eval-flags.json"))
	if r := mustCLI(t, dir, "", "inspect", "--store", "bolt:./nodir/x.db"); !strings.Contains(r.stdout, "flags:        8") {
		t.Fatalf("inspect of the new store: %s", r)
	}
}
