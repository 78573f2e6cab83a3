package membership_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/membership"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// Helpers of this file carry a "bs" prefix: other files of this test package
// belong to other parts of the writer.

// bsStore is a big-segment store under test: both sides, and a scanner when
// the backend has one.
type bsStore interface {
	store.BigSegmentReader
	store.BigSegmentWriter
	store.MembershipScanner
}

type bsBackend struct {
	name string
	open func(t testing.TB) bsStore
}

func bsBackends() []bsBackend {
	return []bsBackend{
		{"bolt", bsOpenBolt},
		{"redis", func(t testing.TB) bsStore { return testaddrs.OpenRedisBigSegments(t) }},
		{"dynamodb", func(t testing.TB) bsStore { return testaddrs.OpenDynamoDBBigSegments(t) }},
	}
}

// bsOpenBolt opens a store on a new bbolt file.
func bsOpenBolt(t testing.TB) bsStore {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "bigsegments.db"), nil)
	if err != nil {
		t.Fatalf("bolt store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func bsForEach(t *testing.T, fn func(t *testing.T, s bsStore)) {
	t.Helper()
	for _, b := range bsBackends() {
		t.Run(b.name, func(t *testing.T) { fn(t, b.open(t)) })
	}
}

// bsMember returns "included", "excluded" or "none": what the store says of
// key in ref, inclusion winning.
func bsMember(t *testing.T, r store.BigSegmentReader, key, ref string) string {
	t.Helper()
	m, err := r.Membership(context.Background(), store.ContextHash(key))
	if err != nil {
		t.Fatalf("Membership(%s): %v", key, err)
	}
	switch {
	case slices.Contains(m.Included, ref):
		return "included"
	case slices.Contains(m.Excluded, ref):
		return "excluded"
	}
	return "none"
}

func bsExpect(t *testing.T, r store.BigSegmentReader, ref string, want map[string]string) {
	t.Helper()
	for key, w := range want {
		if got := bsMember(t, r, key, ref); got != w {
			t.Errorf("%s in %s: %s, want %s", key, ref, got, w)
		}
	}
}

func bsKeys(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

func bsImport(t *testing.T, w store.BigSegmentWriter, o membership.Options) membership.Summary {
	t.Helper()
	sum, err := membership.Import(context.Background(), w, o)
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return sum
}

func TestImportBigSegment(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		before := time.Now().Add(-time.Second)
		sum := bsImport(t, s, membership.Options{
			Segment:    "big",
			Generation: 2,
			Include:    strings.NewReader(bsKeys("user-", 2500)),
			Exclude:    strings.NewReader("  banned-1 \r\n\n\tbanned-2\n\nuser-7\n"),
			BatchSize:  100,
		})
		if sum.Added != 2503 || sum.Removed != 0 {
			t.Errorf("summary %+v, want 2503 added", sum)
		}
		if sum.Duration <= 0 || sum.KeysPerSecond <= 0 {
			t.Errorf("summary %+v lacks duration or rate", sum)
		}
		bsExpect(t, s, "big.g2", map[string]string{
			"user-0": "included", "user-1234": "included", "user-2499": "included",
			"user-2500": "none", "banned-1": "excluded", "banned-2": "excluded",
			"user-7": "included", // in both lists: inclusion wins when read
		})
		bsExpect(t, s, "big.g1", map[string]string{"user-0": "none"})
		synced, ok, err := s.SynchronizedOn(context.Background())
		if err != nil || !ok || synced.Before(before) || !synced.Equal(sum.SynchronizedOn.Truncate(time.Millisecond)) && !synced.Equal(sum.SynchronizedOn) {
			t.Errorf("SynchronizedOn = %v, %v, %v; want the import's time %v", synced, ok, err, sum.SynchronizedOn)
		}
	})
}

func TestImportRemove(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		bsImport(t, s, membership.Options{Segment: "big", Generation: 1,
			Include: strings.NewReader("a\nb\nc\n"), Exclude: strings.NewReader("x\ny\n")})
		bsImport(t, s, membership.Options{Segment: "big", Generation: 2, Include: strings.NewReader("a\n")})
		sum := bsImport(t, s, membership.Options{Segment: "big", Generation: 1,
			Include: strings.NewReader("d\n"), Remove: strings.NewReader("a\nx\nnobody\n")})
		// "nobody" was no member: nothing to remove.
		if sum.Added != 1 || sum.Removed != 2 || sum.Unchanged != 1 {
			t.Errorf("summary %+v, want 1 added, 2 removed, 1 unchanged", sum)
		}
		bsExpect(t, s, "big.g1", map[string]string{
			"a": "none", "b": "included", "c": "included", "d": "included", "x": "none", "y": "excluded",
		})
		bsExpect(t, s, "big.g2", map[string]string{"a": "included"})
	})
}

func TestImportReplace(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		bsImport(t, s, membership.Options{Segment: "big", Generation: 1,
			Include: strings.NewReader("a\nb\nc\n"), Exclude: strings.NewReader("x\ny\n")})
		bsImport(t, s, membership.Options{Segment: "other", Generation: 1, Include: strings.NewReader("a\nx\n")})
		bsImport(t, s, membership.Options{Segment: "big", Generation: 2, Include: strings.NewReader("a\n")})
		// A member under a hash that is not SHA-256/base64 (never listed).
		if err := s.ApplyMembership(context.Background(), []store.MembershipChange{{ContextHash: "foreign", SegmentRef: "big.g1"}}); err != nil {
			t.Fatal(err)
		}

		var progress []membership.Progress
		sum := bsImport(t, s, membership.Options{Segment: "big", Generation: 1, Replace: true,
			Include:   strings.NewReader("b\nc\nd\nd\n"),
			Exclude:   strings.NewReader("y\n"),
			BatchSize: 1,
			Progress:  func(p membership.Progress) { progress = append(progress, p) },
		})
		if sum.Added != 1 || sum.Removed != 3 || sum.Unchanged != 3 {
			t.Errorf("summary %+v, want 1 added (d), 3 removed (a, x, foreign), 3 unchanged (b, c, y)", sum)
		}
		if m, err := s.Membership(context.Background(), "foreign"); err != nil || len(m.Included) != 0 {
			t.Errorf("foreign member after replace: %+v, %v", m, err)
		}
		bsExpect(t, s, "big.g1", map[string]string{
			"a": "none", "b": "included", "c": "included", "d": "included", "x": "none", "y": "excluded",
		})
		// Other segments and generations are untouched.
		bsExpect(t, s, "other.g1", map[string]string{"a": "included", "x": "included"})
		bsExpect(t, s, "big.g2", map[string]string{"a": "included"})

		if len(progress) == 0 {
			t.Fatal("Progress never called")
		}
		last := progress[len(progress)-1]
		if last.Added != sum.Added || last.Removed != sum.Removed {
			t.Errorf("last progress %+v, summary %+v", last, sum)
		}
		for i := 1; i < len(progress); i++ {
			if progress[i].Added < progress[i-1].Added || progress[i].Removed < progress[i-1].Removed {
				t.Errorf("progress went backwards: %+v then %+v", progress[i-1], progress[i])
			}
		}

		// Replacing with nothing empties the generation.
		sum = bsImport(t, s, membership.Options{Segment: "big", Generation: 1, Replace: true})
		if sum.Removed != 4 {
			t.Errorf("summary %+v, want 4 removed", sum)
		}
		bsExpect(t, s, "big.g1", map[string]string{"b": "none", "c": "none", "d": "none", "y": "none"})
		bsExpect(t, s, "other.g1", map[string]string{"a": "included"})
	})
}

// bsFlaky fails ApplyMembership once a number of calls have succeeded, like
// an import killed midway.
type bsFlaky struct {
	bsStore
	okCalls atomic.Int64
	calls   atomic.Int64
	synced  atomic.Int64
}

func (f *bsFlaky) ApplyMembership(ctx context.Context, cs []store.MembershipChange) error {
	if f.calls.Add(1) > f.okCalls.Load() {
		return errors.New("killed")
	}
	return f.bsStore.ApplyMembership(ctx, cs)
}

func (f *bsFlaky) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	f.synced.Add(1)
	return f.bsStore.SetSynchronizedOn(ctx, t)
}

func TestImportIsRestartable(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		for gen, replace := range []bool{false, true} {
			t.Run("replace="+strconv.FormatBool(replace), func(t *testing.T) {
				bsImport(t, s, membership.Options{Segment: "big", Generation: gen, Include: strings.NewReader(bsKeys("old-", 300))})
				opts := func() membership.Options {
					return membership.Options{Segment: "big", Generation: gen, Replace: replace, BatchSize: 50, Concurrency: 2,
						Include: strings.NewReader(bsKeys("new-", 1000)), Exclude: strings.NewReader(bsKeys("ex-", 100))}
				}
				f := &bsFlaky{bsStore: s}
				f.okCalls.Store(7)
				sum, err := membership.Import(context.Background(), f, opts())
				if err == nil || !strings.Contains(err.Error(), "killed") {
					t.Fatalf("interrupted import: err = %v, want the store's error", err)
				}
				if f.synced.Load() != 0 {
					t.Error("an interrupted import set the synchronized-on time")
				}
				if sum.Added > 7*50 {
					t.Errorf("interrupted summary %+v counts more than the applied batches", sum)
				}
				// Run again, to completion; then once more: same result.
				for range 2 {
					bsImport(t, s, opts())
				}
				want := map[string]string{"new-0": "included", "new-999": "included", "ex-0": "excluded", "ex-99": "excluded"}
				if replace {
					want["old-0"], want["old-299"] = "none", "none"
				} else {
					want["old-0"], want["old-299"] = "included", "included"
				}
				bsExpect(t, s, store.SegmentRef("big", gen), want)
			})
		}
	})
}

func ExampleImport() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	s, err := bolt.Open(filepath.Join(dir, "flags.db"), nil)
	if err != nil {
		panic(err)
	}
	defer s.Close()

	// Usually files: os.Open("beta-users.txt"), or os.Stdin.
	include := strings.NewReader("user-1\nuser-2\n\nuser-3\n")
	sum, err := membership.Import(context.Background(), s, membership.Options{
		Segment:    "beta-users",
		Generation: 1,
		Include:    include,
		Replace:    true, // the generation's members become exactly these
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("added %d, removed %d\n", sum.Added, sum.Removed)
	// Output: added 3, removed 0
}

func TestImportCSV(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		const data = "\uFEFFname,user key,plan\n" +
			"Ann,ann-key,pro\n" +
			"\"Bob, Jr.\",\" bob-key \",free\n" +
			"Nobody,,free\n" +
			"Quote,\"q\"\"key\",pro\n"
		sum := bsImport(t, s, membership.Options{Segment: "big", Generation: 1, CSVColumn: "user key",
			Include: strings.NewReader(data)})
		if sum.Added != 3 {
			t.Errorf("summary %+v, want 3 added", sum)
		}
		bsExpect(t, s, "big.g1", map[string]string{"ann-key": "included", "bob-key": "included", `q"key`: "included", "Ann": "none"})
	})
}

func TestImportBadInput(t *testing.T) {
	s := bsOpenBolt(t)
	for _, c := range []struct {
		name string
		opts membership.Options
		want string // in the error
	}{
		{"malformed csv", membership.Options{Segment: "s", CSVColumn: "key",
			Include: strings.NewReader("key,plan\na,pro\nb\n")}, "include input: csv: record on line 3: wrong number of fields"},
		{"bare quote in csv", membership.Options{Segment: "s", CSVColumn: "key",
			Include: strings.NewReader("key\na\"b\n")}, "line 2"},
		{"csv without the column", membership.Options{Segment: "s", CSVColumn: "key",
			Exclude: strings.NewReader("id,plan\n1,pro\n")}, `exclude input: csv header: no column "key" (columns: "id", "plan")`},
		{"empty csv", membership.Options{Segment: "s", CSVColumn: "key",
			Include: strings.NewReader("")}, "empty input"},
		{"duplicate csv column", membership.Options{Segment: "s", CSVColumn: "key",
			Include: strings.NewReader("key,key\n")}, "more than once"},
		{"not utf-8", membership.Options{Segment: "s",
			Remove: strings.NewReader("ok\nbad\xff\n")}, "remove input: line 2: key is not valid UTF-8"},
		{"line too long", membership.Options{Segment: "s",
			Include: strings.NewReader("a\n" + strings.Repeat("x", membership.MaxKeyLength+10) + "\n")}, "line 2: longer than"},
		{"no segment", membership.Options{Include: strings.NewReader("a")}, "no segment key"},
		{"negative generation", membership.Options{Segment: "s", Generation: -1, Include: strings.NewReader("a")}, "negative generation"},
		{"nothing to do", membership.Options{Segment: "s"}, "nothing to import"},
		{"replace and remove", membership.Options{Segment: "s", Replace: true, Remove: strings.NewReader("a")}, "cannot be combined"},
		{"negative batch", membership.Options{Segment: "s", BatchSize: -1, Include: strings.NewReader("a")}, "negative batch size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := membership.Import(context.Background(), s, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, ok, _ := s.SynchronizedOn(context.Background()); ok {
		t.Error("a failed import set the synchronized-on time")
	}
}

// bsNoScan hides a store's MembershipScanner.
type bsNoScan struct{ store.BigSegmentWriter }

func TestImportReplaceNeedsScanner(t *testing.T) {
	_, err := membership.Import(context.Background(), bsNoScan{bsOpenBolt(t)},
		membership.Options{Segment: "s", Replace: true, Include: strings.NewReader("a")})
	if !errors.Is(err, membership.ErrReplaceUnsupported) {
		t.Errorf("err = %v, want ErrReplaceUnsupported", err)
	}
}

func TestImportCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := membership.Import(ctx, bsOpenBolt(t), membership.Options{Segment: "s", Include: strings.NewReader(bsKeys("k", 5000))})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTouchAndSyncBigSegments(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
		if err := membership.Touch(context.Background(), s, at); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := s.SynchronizedOn(context.Background()); err != nil || !ok || !got.Equal(at) {
			t.Errorf("SynchronizedOn = %v, %v, %v; want %v", got, ok, err, at)
		}

		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var touches []time.Time
		done := make(chan error)
		go func() {
			done <- membership.KeepSynchronized(ctx, s, 5*time.Millisecond, func(at time.Time, err error) {
				if err != nil {
					t.Errorf("touch: %v", err)
				}
				mu.Lock()
				touches = append(touches, at)
				n := len(touches)
				mu.Unlock()
				if n == 3 {
					cancel()
				}
			})
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("KeepSynchronized = %v, want nil after cancel", err)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("KeepSynchronized did not return after cancel")
		}
		got, _, _ := s.SynchronizedOn(context.Background())
		if got.Before(at.Add(time.Hour)) || len(touches) < 3 {
			t.Errorf("after sync: SynchronizedOn = %v, %d touches", got, len(touches))
		}
	})
}

func TestKeyReader(t *testing.T) {
	for _, c := range []struct {
		name, column, in string
		want             []string
		err              string
	}{
		{"plain", "", "a\nb\n", []string{"a", "b"}, ""},
		{"no final newline", "", "a\nb", []string{"a", "b"}, ""},
		{"blank lines and spaces", "", "\n  a  \n\t\n\r\nb c\r\n", []string{"a", "b c"}, ""},
		{"byte order mark", "", "\uFEFFa\n", []string{"a"}, ""},
		{"empty", "", "", nil, ""},
		{"unicode", "", "ünïcødé\n日本\n", []string{"ünïcødé", "日本"}, ""},
		{"bad utf-8", "", "a\n\xc3\x28\n", []string{"a"}, "line 2: key is not valid UTF-8"},
		{"csv", "k", "x,k\n1,a\n2, b \n3,\n", []string{"a", "b"}, ""},
		{"csv header only", "k", "k\n", nil, ""},
		{"csv crlf", "k", "k\r\na\r\nb\r\n", []string{"a", "b"}, ""},
		{"csv bom", "k", "\uFEFFk,x\na,1\n", []string{"a"}, ""},
		{"csv quoted newline", "k", "k\n\"a\nb\"\n", []string{"a\nb"}, ""},
		{"csv ragged", "k", "k,x\na,1\nb\n", []string{"a"}, "wrong number of fields"},
		{"csv missing column", "k", "a,b\n", nil, `no column "k"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			kr, err := membership.NewKeyReader(strings.NewReader(c.in), c.column)
			for err == nil {
				var k string
				if k, err = kr.Next(); err == nil {
					got = append(got, k)
				}
			}
			if c.err == "" && err != io.EOF || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
				t.Errorf("err = %v, want %q", err, c.err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("keys = %q, want %q", got, c.want)
			}
		})
	}
}

func FuzzReadKeys(f *testing.F) {
	for _, s := range []string{"a\nb\n", " x \r\n\n", "\uFEFFk\n", "k,v\n1,2\n", "k\n\"a\"\"b\"\n", "k\n\"open", "\xff\n"} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "k")
	}
	f.Fuzz(func(t *testing.T, data []byte, column string) {
		kr, err := membership.NewKeyReader(strings.NewReader(string(data)), column)
		if err != nil {
			// Plain text fails to start only for a CSV file of several
			// columns.
			if column == "" && !errors.Is(err, membership.ErrCSVWithoutColumn) {
				t.Fatalf("plain-text reader failed to start: %v", err)
			}
			return
		}
		for n := 0; ; n++ {
			if n > len(data) {
				t.Fatalf("more keys than input bytes")
			}
			k, err := kr.Next()
			if err != nil {
				return
			}
			if k == "" || strings.TrimSpace(k) != k || !utf8.ValidString(k) {
				t.Fatalf("bad key %q", k)
			}
			if column == "" && strings.ContainsAny(k, "\n") {
				t.Fatalf("plain-text key %q spans lines", k)
			}
		}
	})
}

// bsImportKeys is the key count of BenchmarkImportBigSegment:
// DAEMONFLAG_BENCH_IMPORT_KEYS, or def.
func bsImportKeys(b *testing.B, def int) int {
	if v := os.Getenv("DAEMONFLAG_BENCH_IMPORT_KEYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("DAEMONFLAG_BENCH_IMPORT_KEYS=%q: want a positive integer", v)
		}
		return n
	}
	return def
}

// BenchmarkImportBigSegment imports N keys per iteration into each store, a
// new generation each time, and reports keys/s. N is
// DAEMONFLAG_BENCH_IMPORT_KEYS, or by default 100,000 (10,000 into
// DynamoDB, as dynalite manages a few thousand keys/s).
func BenchmarkImportBigSegment(b *testing.B) {
	for _, be := range bsBackends() {
		b.Run(be.name, func(b *testing.B) {
			n := bsImportKeys(b, 100_000)
			if be.name == "dynamodb" {
				n = bsImportKeys(b, 10_000)
			}
			keys := bsKeys("user-", n)
			s := be.open(b)
			gen := 0
			var total time.Duration
			for b.Loop() {
				gen++
				sum, err := membership.Import(context.Background(), s, membership.Options{
					Segment: "bench", Generation: gen, Include: strings.NewReader(keys)})
				if err != nil {
					b.Fatal(err)
				}
				total += sum.Duration
			}
			b.ReportMetric(float64(n)*float64(gen)/total.Seconds(), "keys/s")
		})
	}
}

// TestImportCountsWhatChanged: re-importing members adds nothing; the
// summary says so.
func TestImportCountsWhatChanged(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		sum := bsImport(t, s, membership.Options{Segment: "big", Generation: 1, Include: strings.NewReader(bsKeys("u", 300))})
		if sum.Added != 300 || sum.Unchanged != 0 {
			t.Fatalf("first import %+v", sum)
		}
		sum = bsImport(t, s, membership.Options{Segment: "big", Generation: 1, Include: strings.NewReader(bsKeys("u", 310)), BatchSize: 7})
		if sum.Added != 10 || sum.Unchanged != 300 || sum.Removed != 0 {
			t.Fatalf("re-import %+v, want 10 added, 300 unchanged", sum)
		}
		bsExpect(t, s, "big.g1", map[string]string{"u0": "included", "u309": "included"})
	})
}

// TestImportRefusesCSVWithoutColumn: a CSV file of several columns read as
// plain text would store its header and whole lines as keys.
func TestImportRefusesCSVWithoutColumn(t *testing.T) {
	bsForEach(t, func(t *testing.T, s bsStore) {
		_, err := membership.Import(context.Background(), s, membership.Options{Segment: "big", Generation: 1,
			Include: strings.NewReader("name,user key,plan\nAnn,ann-key,pro\n")})
		if !errors.Is(err, membership.ErrCSVWithoutColumn) || !strings.Contains(err.Error(), `the columns "name", "user key", "plan"`) {
			t.Fatalf("Import = %v", err)
		}
		bsExpect(t, s, "big.g1", map[string]string{"Ann,ann-key,pro": "none", "name,user key,plan": "none"})
		// One key with a comma is still a key.
		sum := bsImport(t, s, membership.Options{Segment: "big", Generation: 1, Include: strings.NewReader("a,b\nplain\n")})
		if sum.Added != 2 {
			t.Fatalf("keys with a comma: %+v", sum)
		}
	})
}
