package writer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/membership"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// wtOpen opens the store at addr for the test.
func wtOpen(t testing.TB, addr string) store.Store {
	t.Helper()
	s, err := stores.Open(context.Background(), addr)
	if err != nil {
		t.Fatalf("open %s: %v", addr, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func wtCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// wtSnapshot describes everything a store holds, for "nothing changed"
// checks: the marker and every item's version, deleted flag and JSON.
func wtSnapshot(t testing.TB, s store.Reader) string {
	t.Helper()
	ctx := wtCtx(t)
	var b strings.Builder
	inited, err := s.Initialized(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "initialized=%v\n", inited)
	for _, kind := range []store.Kind{store.Features, store.Segments} {
		all, err := s.GetAll(ctx, kind)
		if err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(all, func(a, b store.KeyedItem) int { return strings.Compare(a.Key, b.Key) })
		for _, ki := range all {
			fmt.Fprintf(&b, "%s/%s v%d deleted=%v %s\n", kind, ki.Key, ki.Item.Version, ki.Item.Deleted, ki.Item.Data)
		}
	}
	return b.String()
}

// wtVersions returns the stored versions by "kind/key" (tombstones with a
// "-" suffix).
func wtVersions(t testing.TB, s store.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kind := range []store.Kind{store.Features, store.Segments} {
		all, err := s.GetAll(wtCtx(t), kind)
		if err != nil {
			t.Fatal(err)
		}
		for _, ki := range all {
			v := fmt.Sprint(ki.Item.Version)
			if ki.Item.Deleted {
				v += "-"
			}
			out[string(kind)+"/"+ki.Key] = v
		}
	}
	return out
}

func wtLoad(t testing.TB, paths ...string) *writer.Dataset {
	t.Helper()
	d, err := writer.LoadFiles(paths...)
	if err != nil {
		t.Fatalf("LoadFiles: %v", err)
	}
	return d
}

func wtParse(t testing.TB, name, content string) *writer.Dataset {
	t.Helper()
	d, err := writer.Parse(name, []byte(content))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

var wtFixtures = []string{filepath.Join("testdata", "dataset.json"), filepath.Join("testdata", "extra.yaml")}

// TestWriteExportRoundTrip writes the fixture files to every store, exports
// the store, checks the export against the files, writes the export into a
// second dataset (export | write) and checks that it holds the same items.
func TestWriteExportRoundTrip(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		d := wtLoad(t, wtFixtures...)
		sum, err := writer.WriteDataset(ctx, s, d)
		if err != nil {
			t.Fatalf("WriteDataset: %v", err)
		}
		if sum.Flags != 6 || sum.Segments != 2 || sum.Changed != 8 || sum.Deleted != 0 {
			t.Errorf("summary %+v", sum)
		}
		if inited, err := s.Initialized(ctx); err != nil || !inited {
			t.Fatalf("Initialized = %v, %v", inited, err)
		}
		exp, err := writer.Export(ctx, s)
		if err != nil {
			t.Fatalf("Export: %v", err)
		}
		if !reflect.DeepEqual(exp.FlagKeys(), d.FlagKeys()) || !reflect.DeepEqual(exp.SegmentKeys(), d.SegmentKeys()) {
			t.Fatalf("export holds %v %v, want %v %v", exp.FlagKeys(), exp.SegmentKeys(), d.FlagKeys(), d.SegmentKeys())
		}
		// Every item is stored in canonical form with every property of the
		// file, unknown ones included; versions are the file's or 1.
		for k, it := range d.Flags {
			wantVersion := 1
			if it.HasVersion {
				wantVersion = it.Version
			}
			f, err := model.DecodeFlag(it.Data)
			if err != nil {
				t.Fatal(err)
			}
			g := *f
			g.Version = wantVersion
			if want := wtCompact(t, g.AppendJSON(nil)); !bytes.Equal(exp.Flags[k].Data, want) || exp.Flags[k].Version != wantVersion {
				t.Errorf("flag %q stored as v%d %s\nwant v%d %s", k, exp.Flags[k].Version, exp.Flags[k].Data, wantVersion, want)
			}
		}
		for k, it := range d.Segments {
			wantVersion := 1
			if it.HasVersion {
				wantVersion = it.Version
			}
			sg, err := model.DecodeSegment(it.Data)
			if err != nil {
				t.Fatal(err)
			}
			g := *sg
			g.Version = wantVersion
			if want := wtCompact(t, g.AppendJSON(nil)); !bytes.Equal(exp.Segments[k].Data, want) || exp.Segments[k].Version != wantVersion {
				t.Errorf("segment %q stored as v%d %s\nwant v%d %s", k, exp.Segments[k].Version, exp.Segments[k].Data, wantVersion, want)
			}
		}
		if !bytes.Contains(exp.Flags["new-ui"].Data, []byte(`"customProperty":{"kept":[1,2,3]}`)) {
			t.Errorf("the unknown property was lost: %s", exp.Flags["new-ui"].Data)
		}

		// export | write into a fresh dataset of the same backend.
		var buf bytes.Buffer
		if err := exp.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := writer.Parse("export.json", buf.Bytes())
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%s", err, buf.Bytes())
		}
		s.Close() // bbolt: one writing Store per file at a time
		var addr2 string
		for _, b := range testaddrs.Backends() {
			if strings.HasSuffix(t.Name(), "/"+b.Name) {
				addr2 = b.Address(t)
			}
		}
		s2 := wtOpen(t, addr2)
		if _, err := writer.WriteDataset(ctx, s2, back); err != nil {
			t.Fatalf("writing the export: %v", err)
		}
		exp2, err := writer.Export(ctx, s2)
		if err != nil {
			t.Fatal(err)
		}
		var buf2 bytes.Buffer
		if err := exp2.WriteJSON(&buf2); err != nil {
			t.Fatal(err)
		}
		if buf.String() != buf2.String() {
			t.Errorf("export | write | export differs:\n%s\n----\n%s", buf.String(), buf2.String())
		}
	})
}

// TestWriteVersions follows the version rules through a series of writes.
func TestWriteVersions(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		write := func(content string) writer.WriteSummary {
			t.Helper()
			sum, err := writer.WriteDataset(ctx, s, wtParse(t, "v.json", content))
			if err != nil {
				t.Fatalf("WriteDataset: %v", err)
			}
			return sum
		}
		expect := func(want map[string]string) {
			t.Helper()
			if got := wtVersions(t, s); !reflect.DeepEqual(got, want) {
				t.Fatalf("versions %v, want %v", got, want)
			}
		}
		a := `"a": {"on": false, "variations": [1], "offVariation": 0}`
		a2 := `"a": {"on": true, "variations": [1], "offVariation": 0, "fallthrough": {"variation": 0}}`
		b := `"b": {"variations": [2], "version": 40}`
		seg := `"s": {"included": ["x"]}`

		write(`{"flags": {` + a + `,` + b + `}, "segments": {` + seg + `}}`)
		expect(map[string]string{"features/a": "1", "features/b": "40", "segments/s": "1"})

		// The same content again: nothing changes, not even versions.
		sum := write(`{"flags": {` + a + `,` + b + `}, "segments": {` + seg + `}}`)
		if sum.Changed != 0 || sum.Deleted != 0 {
			t.Errorf("rewrite summary %+v, want nothing changed", sum)
		}
		expect(map[string]string{"features/a": "1", "features/b": "40", "segments/s": "1"})

		// The same content in another form (property order, YAML) is unchanged.
		write(`{"segments": {"s": {"included": ["x"], "excluded": []}}, "flags": {"b": {"version": 40, "variations": [2]}, "a": {"offVariation": 0, "variations": [1], "on": false}}}`)
		expect(map[string]string{"features/a": "1", "features/b": "40", "segments/s": "1"})

		// A change without a version gets the next one.
		sum = write(`{"flags": {` + a2 + `,` + b + `}, "segments": {` + seg + `}}`)
		if sum.Changed != 1 {
			t.Errorf("summary %+v, want 1 changed", sum)
		}
		expect(map[string]string{"features/a": "2", "features/b": "40", "segments/s": "1"})

		// A removed item becomes a tombstone at the next version.
		sum = write(`{"flags": {` + b + `}}`)
		if sum.Deleted != 2 {
			t.Errorf("summary %+v, want 2 deleted", sum)
		}
		expect(map[string]string{"features/a": "3-", "features/b": "40", "segments/s": "2-"})

		// Defined again, it gets a version above the tombstone's.
		write(`{"flags": {` + a + `,` + b + `}, "segments": {` + seg + `}}`)
		expect(map[string]string{"features/a": "4", "features/b": "40", "segments/s": "3"})

		// A file's version is kept, lower ones included (write replaces).
		write(`{"flags": {"a": {"variations": [1], "version": 2}, "b": {"variations": [2], "version": 41}}}`)
		expect(map[string]string{"features/a": "2", "features/b": "41", "segments/s": "4-"})
	})
}

// TestInvalidInputLeavesStoreUntouched tries every kind of invalid input
// against a store holding a dataset and checks that nothing changed.
func TestInvalidInputLeavesStoreUntouched(t *testing.T) {
	cases := []struct{ name, file, content string }{
		{"json syntax", "bad.json", `{"flags": {"a": {"on": tru}}}`},
		{"yaml syntax", "bad.yaml", "flags:\n  a: [1\n"},
		{"not an object", "bad.json", `[]`},
		{"decode error", "bad.json", `{"flags": {"a": {"on": "yes"}}}`},
		{"key mismatch", "bad.json", `{"flags": {"a": {"key": "b"}}}`},
		{"variation out of range", "bad.json", `{"flags": {"a": {"on": true, "variations": [1], "fallthrough": {"variation": 1}}}}`},
		{"prerequisite variation out of range", "bad.json", `{"flags": {"a": {"variations": [1], "prerequisites": [{"key": "b", "variation": 4}]}, "b": {"variations": [1]}}}`},
		{"prerequisite cycle", "bad.json", `{"flags": {"a": {"variations": [1], "prerequisites": [{"key": "b", "variation": 0}]}, "b": {"variations": [1], "prerequisites": [{"key": "a", "variation": 0}]}}}`},
		{"segment cycle", "bad.json", `{"segments": {"s": {"rules": [{"clauses": [{"op": "segmentMatch", "values": ["s"]}]}]}}}`},
		{"tombstone", "bad.json", `{"flags": {"a": {"deleted": true}}}`},
		{"duplicate key", "bad.json", `{"flags": {"new-ui": {"variations": [1]}}}`}, // also defined in dataset.json
		{"empty file", "bad.json", ``},
	}
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		if _, err := writer.WriteDataset(ctx, s, wtLoad(t, wtFixtures...)); err != nil {
			t.Fatal(err)
		}
		before := wtSnapshot(t, s)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				bad := wtFile(t, t.TempDir(), tc.file, tc.content)
				d, err := writer.LoadFiles(append(slices.Clone(wtFixtures), bad)...)
				if err == nil {
					_, err = writer.WriteDataset(ctx, s, d)
				}
				if err == nil {
					t.Fatal("invalid input accepted")
				}
				wtProblems(t, err)
				if after := wtSnapshot(t, s); after != before {
					t.Fatalf("the store changed:\n%s\n----\n%s", before, after)
				}
			})
		}
	})
}

func TestWriteDatasetStoreErrors(t *testing.T) {
	// A read-only bbolt store refuses the write; the error says why.
	addr := testaddrs.Bolt(t)
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	// The file exists (a reader of a missing file reports that instead).
	w, err := a.Open(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Init(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	s, err := a.Open(context.Background(), &stores.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = writer.WriteDataset(context.Background(), s, wtLoad(t, wtFixtures...))
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("WriteDataset on a read-only store = %v", err)
	}
}

func TestUpsertAndDelete(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		if _, err := writer.WriteDataset(ctx, s, wtLoad(t, wtFixtures...)); err != nil {
			t.Fatal(err)
		}
		// A changed flag without a version: stored version + 1.
		res, err := writer.UpsertFlag(ctx, s, []byte(`{"key": "price", "on": true, "variations": [1, 2], "fallthrough": {"variation": 1}}`))
		if err != nil || !res.Applied || res.Version != 2 || res.StoredVersion != 1 {
			t.Fatalf("UpsertFlag = %+v, %v", res, err)
		}
		// The same again: unchanged.
		res, err = writer.UpsertFlag(ctx, s, []byte(`{"key": "price", "variations": [1, 2], "on": true, "fallthrough": {"variation": 1}}`))
		if err != nil || res.Applied || !res.Unchanged || res.Version != 2 {
			t.Fatalf("UpsertFlag unchanged = %+v, %v", res, err)
		}
		// An explicit version that is not newer is not applied.
		res, err = writer.UpsertFlag(ctx, s, []byte(`{"key": "kill-switch", "version": 12, "variations": ["x"]}`))
		if err != nil || res.Applied || res.Unchanged || res.StoredVersion != 12 {
			t.Fatalf("UpsertFlag old version = %+v, %v", res, err)
		}
		// Prerequisites are checked against the store.
		_, err = writer.UpsertFlag(ctx, s, []byte(`{"key": "n", "variations": [1], "prerequisites": [{"key": "kill-switch", "variation": 7}]}`))
		if ps := wtProblems(t, err); !strings.Contains(ps[0].Message, `requires variation 7 of flag "kill-switch", which has 2 variations`) {
			t.Fatalf("problems %v", ps)
		}
		res, err = writer.UpsertFlag(ctx, s, []byte(`{"key": "n", "variations": [1], "fallthrough": {"variation": 0}, "prerequisites": [{"key": "ghost", "variation": 0}],
			"rules": [{"id": "r", "variation": 0, "clauses": [{"op": "segmentMatch", "values": ["beta", "nope"]}]}]}`))
		if err != nil || len(res.Warnings) != 2 {
			t.Fatalf("UpsertFlag with unknown references = %+v, %v; want 2 warnings", res, err)
		}
		// Invalid JSON and a missing key are validation errors.
		for _, bad := range []string{`{`, `{"on": true}`, `[]`, `{"key": 5}`} {
			if _, err := writer.UpsertFlag(ctx, s, []byte(bad)); err == nil {
				t.Errorf("UpsertFlag(%s) succeeded", bad)
			} else {
				wtProblems(t, err)
			}
		}
		res, err = writer.UpsertSegment(ctx, s, []byte(`{"key": "beta", "included": ["zed"]}`))
		if err != nil || !res.Applied || res.Version != 2 {
			t.Fatalf("UpsertSegment = %+v, %v", res, err)
		}

		res, err = writer.DeleteFlag(ctx, s, "price")
		if err != nil || !res.Applied || res.Version != 3 {
			t.Fatalf("DeleteFlag = %+v, %v", res, err)
		}
		res, err = writer.DeleteFlag(ctx, s, "price")
		if err != nil || res.Applied || !res.Unchanged {
			t.Fatalf("DeleteFlag again = %+v, %v", res, err)
		}
		res, err = writer.DeleteSegment(ctx, s, "never-existed")
		if err != nil || !res.Applied || res.Version != 1 {
			t.Fatalf("DeleteSegment(new) = %+v, %v", res, err)
		}
		v := wtVersions(t, s)
		if v["features/price"] != "3-" || v["segments/beta"] != "2" || v["segments/never-existed"] != "1-" || v["features/n"] != "1" {
			t.Fatalf("versions %v", v)
		}
	})
}

func TestInspect(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := wtCtx(t)
		s := wtOpen(t, addr)
		info, err := writer.Inspect(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if info.Initialized || info.Flags != 0 || info.BigSegments == nil || info.BigSegments.SynchronizedOn != nil {
			t.Fatalf("empty store: %+v", info)
		}
		if _, err := writer.WriteDataset(ctx, s, wtLoad(t, wtFixtures...)); err != nil {
			t.Fatal(err)
		}
		if _, err := writer.DeleteFlag(ctx, s, "price"); err != nil {
			t.Fatal(err)
		}
		at := time.Now().Add(-90 * time.Second)
		if err := membership.Touch(ctx, s.(store.BigSegmentWriter), at); err != nil {
			t.Fatal(err)
		}
		info, err = writer.Inspect(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if !info.Initialized || info.Flags != 5 || info.DeletedFlags != 1 || info.Segments != 2 || info.DeletedSegments != 0 {
			t.Fatalf("info %+v", info)
		}
		bs := info.BigSegments
		if bs == nil || bs.SynchronizedOn == nil || bs.SynchronizedOn.UnixMilli() != at.UnixMilli() || *bs.AgeSeconds < 89 || *bs.AgeSeconds > 120 {
			t.Fatalf("big segments %+v", bs)
		}
	})
}

func wtCompact(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
