package writer_test

import (
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/writer"
)

const wtFourFlags = `{"flags": {"a": {"variations": [1]}, "b": {"variations": [1]}, "c": {"variations": [1]}, "d": {"variations": [1]}}}`

// TestWriteDeletionGuard: a write that would delete every live flag, or
// more than half, is refused with a DeletionError and writes nothing;
// AllowDelete confirms it; deleting half is allowed.
func TestWriteDeletionGuard(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		if _, err := writer.Write(ctx, s, wtParse(t, "a.json", wtFourFlags), writer.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		before := wtSnapshot(t, s)
		for _, tc := range []struct {
			name, content string
			deleting      int
		}{
			{"all", `{"flags": {}}`, 4},
			{"no flags property", `{"segments": {"s": {}}}`, 4},
			{"three of four", `{"flags": {"a": {"variations": [1]}}}`, 3},
		} {
			_, err := writer.Write(ctx, s, wtParse(t, "x.json", tc.content), writer.WriteOptions{})
			var de *writer.DeletionError
			if !errors.As(err, &de) || !errors.Is(err, writer.ErrTooManyDeletions) || de.Deleting != tc.deleting || de.Live != 4 {
				t.Fatalf("%s: Write = %v, want a DeletionError of %d of 4", tc.name, err, tc.deleting)
			}
			if !strings.Contains(err.Error(), "of the store's 4 live flags") {
				t.Errorf("%s: message %q", tc.name, err)
			}
			if after := wtSnapshot(t, s); after != before {
				t.Fatalf("%s: the store changed", tc.name)
			}
		}
		// Half is not more than half.
		sum, err := writer.Write(ctx, s, wtParse(t, "x.json", `{"flags": {"a": {"variations": [1]}, "b": {"variations": [1]}}}`), writer.WriteOptions{})
		if err != nil || sum.Deleted != 2 {
			t.Fatalf("deleting 2 of 4: %+v, %v", sum, err)
		}
		// Confirmed: everything goes.
		sum, err = writer.Write(ctx, s, wtParse(t, "x.json", `{"flags": {}}`), writer.WriteOptions{AllowDelete: true})
		if err != nil || sum.Deleted != 2 {
			t.Fatalf("AllowDelete: %+v, %v", sum, err)
		}
		// An empty store has nothing to lose.
		if _, err := writer.Write(ctx, s, wtParse(t, "x.json", `{"flags": {}}`), writer.WriteOptions{}); err != nil {
			t.Fatalf("empty over empty: %v", err)
		}
	})
}

// TestWriteDryRun: the plan lists every new, changed and deleted item and
// the store is left as it was.
func TestWriteDryRun(t *testing.T) {
	ctx := wtCtx(t)
	s := wtOpen(t, testaddrs.Bolt(t))
	if _, err := writer.Write(ctx, s, wtParse(t, "a.json", wtFourFlags), writer.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	before := wtSnapshot(t, s)
	next := `{"flags": {"a": {"variations": [1]}, "b": {"variations": [2]}, "c": {"variations": [1]}, "e": {"variations": [1]}}}`
	sum, err := writer.Write(ctx, s, wtParse(t, "b.json", next), writer.WriteOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []writer.Change{
		{Action: writer.ChangeChanged, Kind: store.Features, Key: "b", OldVersion: 1, NewVersion: 2},
		{Action: writer.ChangeNew, Kind: store.Features, Key: "e", NewVersion: 1},
		{Action: writer.ChangeDeleted, Kind: store.Features, Key: "d", OldVersion: 1, NewVersion: 2},
	}
	if !sum.DryRun || !reflect.DeepEqual(sum.Changes, want) {
		t.Fatalf("plan %+v, want %+v", sum.Changes, want)
	}
	var lines []string
	for _, c := range sum.Changes {
		lines = append(lines, c.String())
	}
	wantLines := `changed flag "b" (version 1 -> 2)|new     flag "e" (version 1)|deleted flag "d" (version 1; tombstone at 2)`
	if got := strings.Join(lines, "|"); got != wantLines {
		t.Errorf("lines\n got: %s\nwant: %s", got, wantLines)
	}
	if after := wtSnapshot(t, s); after != before {
		t.Fatal("a dry run changed the store")
	}
	// A dry run of a refused write says so, with the plan.
	sum, err = writer.Write(ctx, s, wtParse(t, "c.json", `{"flags": {}}`), writer.WriteOptions{DryRun: true})
	if !errors.Is(err, writer.ErrTooManyDeletions) || len(sum.Changes) != 4 {
		t.Fatalf("dry run of a mass deletion: %+v, %v", sum, err)
	}
}

// TestWriteAllowMalformed: items that decode but that the evaluator calls
// malformed are errors, or with AllowMalformed warnings, and are then
// written as they are; items that do not decode stay errors.
func TestWriteAllowMalformed(t *testing.T) {
	ctx := wtCtx(t)
	s := wtOpen(t, testaddrs.Bolt(t))
	malformed := `{"flags": {"range": {"on": true, "variations": [1], "fallthrough": {"variation": 5}},
		"ok": {"variations": [1]}},
		"segments": {"self": {"rules": [{"clauses": [{"op": "segmentMatch", "values": ["self"]}]}]}}}`
	d := wtParse(t, "m.json", malformed)
	if _, err := writer.Write(ctx, s, d, writer.WriteOptions{}); err == nil {
		t.Fatal("malformed items written without AllowMalformed")
	}
	sum, err := writer.Write(ctx, s, d, writer.WriteOptions{AllowMalformed: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range sum.Warnings {
		if strings.Contains(w.Message, "malformed, written anyway") {
			got = append(got, w.Kind+"/"+w.Key)
		}
	}
	if strings.Join(got, ",") != "flag/range,segment/self" || sum.Flags != 2 || sum.Segments != 1 {
		t.Fatalf("warnings %v, summary %+v", sum.Warnings, sum)
	}
	if _, found, err := s.Get(ctx, store.Features, "range"); err != nil || !found {
		t.Fatalf("the malformed flag is not stored: %v", err)
	}
	// A decoding error is not "malformed": it stays fatal.
	bad := wtParse(t, "bad.json", `{"flags": {"a": {"on": "yes"}}}`)
	if _, err := writer.Write(ctx, s, bad, writer.WriteOptions{AllowMalformed: true}); err == nil {
		t.Fatal("an item that does not decode was written")
	}
}

// TestValidateWarnsUnknownPropertiesAndRegexps: a property LaunchDarkly's
// schema does not have, anywhere in a flag or segment, and an invalid
// "matches" regular expression are warnings naming the place.
func TestValidateWarnsUnknownPropertiesAndRegexps(t *testing.T) {
	d := wtParse(t, "w.json", `{"flags": {"f": {"on": true, "variation": [1, 2], "variations": [1, 2], "fallthrough": {"variation": 0},
		"rules": [{"variaton": 1, "variation": 0, "clauses": [{"attribute": "email", "op": "matches", "values": ["ok.*", "(unclosed"]}]}]}},
		"segments": {"s": {"includd": ["u"]}}}`)
	ws, err := writer.Validate(d)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range ws {
		got = append(got, w.Kind+" "+w.Key+": "+w.Message)
	}
	for _, want := range []string{
		`flag f: variation: unknown property (did you mean "variations"?); it is kept but has no effect`,
		`flag f: rules[0].variaton: unknown property (did you mean "variation"?)`,
		`flag f: rules[0].clauses[0].values[1]: invalid regular expression "(unclosed" (it never matches)`,
		`segment s: includd: unknown property (did you mean "included"?)`,
	} {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, want)
		}
		if !found {
			t.Errorf("no warning %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(got) != 4 {
		t.Errorf("want 4 warnings, got:\n%s", strings.Join(got, "\n"))
	}
}

// TestSyncDeletionGuard: a sync pass that would delete most flags writes
// nothing and is logged; at the start Sync refuses at once; AllowDelete
// confirms.
func TestSyncDeletionGuard(t *testing.T) {
	ctx := wtCtx(t)
	s := wtOpen(t, testaddrs.Bolt(t))
	dir := t.TempDir()
	flags := wtFile(t, dir, "flags.json", wtFourFlags)
	r := wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}})
	if p := r.next(t); p.Err != nil || p.Written != 4 {
		t.Fatalf("first pass %+v", p)
	}
	before := wtSnapshot(t, s)
	wtReplace(t, flags, `{"flags": {}}`)
	p := r.next(t)
	var de *writer.DeletionError
	if !errors.As(p.Err, &de) || de.Deleting != 4 || de.Live != 4 {
		t.Fatalf("emptying pass %+v; want a DeletionError", p)
	}
	if after := wtSnapshot(t, s); after != before {
		t.Fatal("the store changed")
	}
	if log := r.log.String(); !strings.Contains(log, "refusing to delete most flags; the store keeps its dataset") ||
		!strings.Contains(log, "deleting=4 live=4") {
		t.Fatalf("the refusal is not logged:\n%s", log)
	}
	r.stop(t)

	// Started on files that would empty the store: Sync returns the error.
	err := writer.Sync(ctx, s, writer.SyncOptions{Files: []string{flags}, Logger: slog.New(slog.DiscardHandler)})
	if !errors.Is(err, writer.ErrTooManyDeletions) {
		t.Fatalf("Sync = %v, want ErrTooManyDeletions", err)
	}
	// Confirmed.
	r = wtStartSync(t, s, writer.SyncOptions{Files: []string{flags}, AllowDelete: true})
	if p := r.next(t); p.Err != nil || p.Deleted != 4 {
		t.Fatalf("confirmed pass %+v", p)
	}
	r.stop(t)
}

// TestExportInspectSkipBadItems: Export and Inspect decode stored items one
// by one; a bad one is named and the rest served.
func TestExportInspectSkipBadItems(t *testing.T) {
	ctx := wtCtx(t)
	s := wtOpen(t, testaddrs.Bolt(t))
	if _, err := writer.Write(ctx, s, wtParse(t, "a.json", wtFourFlags), writer.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	for key, data := range map[string]string{"junk": "not json", "typed": `{"key": "typed", "on": "yes"}`, "moved": `{"key": "elsewhere"}`} {
		if _, err := s.Upsert(ctx, store.Features, key, store.Item{Version: 9, Data: []byte(data)}); err != nil {
			t.Fatal(err)
		}
	}
	d, err := writer.Export(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(d.FlagKeys(), ","); got != "a,b,c,d" {
		t.Errorf("exported %s", got)
	}
	var skipped []string
	for _, w := range d.Warnings {
		if strings.HasPrefix(w.Message, "not exported: ") {
			skipped = append(skipped, w.Key)
		}
	}
	if strings.Join(skipped, ",") != "junk,moved,typed" {
		t.Errorf("skipped %v (%v)", skipped, d.Warnings)
	}
	info, err := writer.Inspect(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	for _, m := range info.Malformed {
		bad = append(bad, m.Kind+"/"+m.Key)
	}
	if info.Flags != 7 || strings.Join(bad, ",") != "flag/junk,flag/moved,flag/typed" {
		t.Fatalf("inspect %+v", info)
	}
}
