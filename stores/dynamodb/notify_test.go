package dynamodb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daemonflag/daemonflag/store"
)

// changeLog collects what a Notify callback receives.
type changes struct {
	mu     sync.Mutex
	got    []store.Change
	signal chan struct{}
}

func newChanges() *changes { return &changes{signal: make(chan struct{}, 1)} }

func (c *changes) fn(cs []store.Change) {
	c.mu.Lock()
	c.got = append(c.got, cs...)
	c.mu.Unlock()
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

// wait waits for a change that matches, consuming the changes up to it.
func (c *changes) wait(t *testing.T, what string, match func(store.Change) bool) {
	t.Helper()
	// A generous bound: dynalite is one Node.js process that the other
	// packages' tests load at the same time (10,000-item Inits).
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if i := slices.IndexFunc(c.got, match); i >= 0 {
			c.got = c.got[i+1:]
			c.mu.Unlock()
			return
		}
		got := slices.Clone(c.got)
		c.mu.Unlock()
		select {
		case <-c.signal:
		case <-deadline.C:
			t.Fatalf("%s: not notified within 60s; got %v", what, got)
		}
	}
}

func isItem(kind store.Kind, key string) func(store.Change) bool {
	return func(c store.Change) bool { return c.Kind == kind && c.Key == key }
}

func isAll(c store.Change) bool { return c.IsAll() }

// TestNotifyChangeLog writes through one store object and polls with
// another, as another process would: upserts, deletes, batches and Inits
// arrive within a few polls, the write time is recorded, and a change log
// made anew asks for a full re-check.
func TestNotifyChangeLog(t *testing.T) {
	prefix := uniquePrefix("notify")
	w := newTestStore(t, prefix)
	opts := testOptions(t, prefix)
	opts.NotifyInterval = 20 * time.Millisecond
	r, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	if _, ok, err := r.LastWrite(t.Context()); err != nil || ok {
		t.Fatalf("LastWrite before any write = %v, %v; want none", ok, err)
	}
	got := newChanges()
	if err := r.Notify(t.Context(), got.fn); err != nil {
		t.Fatal(err)
	}
	own := newChanges()
	if err := w.Notify(t.Context(), own.fn); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if err := w.Init(t.Context(), dataset(3, 1, 1)); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "Init", isAll)
	own.wait(t, "own Init", isAll)
	if at, ok, err := r.LastWrite(t.Context()); err != nil || !ok || at.Before(before) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("LastWrite after Init = %v, %v, %v; want about now", at, ok, err)
	}
	if _, err := w.Upsert(t.Context(), store.Features, "flag-0001", mustItem(t, `{"key":"flag-0001","version":2}`)); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "Upsert", isItem(store.Features, "flag-0001"))
	own.wait(t, "own Upsert", isItem(store.Features, "flag-0001"))
	if _, err := w.Upsert(t.Context(), store.Segments, "seg-0000", store.Tombstone("seg-0000", 5)); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "delete", isItem(store.Segments, "seg-0000"))
	applied, err := w.UpsertBatch(t.Context(), []store.ItemUpdate{
		{Kind: store.Segments, Key: "new-seg", Item: mustItem(t, `{"key":"new-seg","version":1}`)},
		{Kind: store.Features, Key: "flag-0002", Item: mustItem(t, `{"key":"flag-0002","version":1}`)}, // not newer
		{Kind: store.Features, Key: "new-flag", Item: mustItem(t, `{"key":"new-flag","version":1}`)},
	})
	if err != nil || !slices.Equal(applied, []bool{true, false, true}) {
		t.Fatalf("UpsertBatch = %v, %v; want [true false true]", applied, err)
	}
	got.wait(t, "batch segment", isItem(store.Segments, "new-seg"))
	got.wait(t, "batch flag", isItem(store.Features, "new-flag"))

	// The change log is deleted and made anew: a full re-check.
	c, table := rawClient(t)
	ns := prefix + ":" + changesNamespace
	if _, err := c.DeleteItem(t.Context(), &ddb.DeleteItemInput{TableName: aws.String(table), Key: w.keyOf(ns, ns)}); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "change log deleted", isAll)
	if _, err := w.Upsert(t.Context(), store.Features, "later", mustItem(t, `{"key":"later","version":1}`)); err != nil {
		t.Fatal(err)
	}
	got.wait(t, "a write after the log was made anew", func(c store.Change) bool { return c.IsAll() || isItem(store.Features, "later")(c) })
}

// TestChangeLogSince checks what a reader delivers from a change log it
// polled: the entries after its position, or ChangeAll when it fell behind.
func TestChangeLogSince(t *testing.T) {
	cl := changeLog{seq: 12, entries: []logEntry{{Seq: 10, Kind: "features", Key: "a"}, {Seq: 11}, {Seq: 12, Kind: "segments", Key: "s"}}}
	for _, tc := range []struct {
		from int64
		want []store.Change
	}{
		{12, nil},
		{13, nil},
		{11, []store.Change{{Kind: store.Segments, Key: "s"}}},
		{9, []store.Change{{Kind: store.Features, Key: "a"}, store.ChangeAll, {Kind: store.Segments, Key: "s"}}},
		{8, []store.Change{store.ChangeAll}}, // fell behind: 9 is gone
		{0, []store.Change{store.ChangeAll}},
	} {
		if got := cl.since(tc.from); !slices.Equal(got, tc.want) {
			t.Errorf("since(%d) = %v; want %v", tc.from, got, tc.want)
		}
	}
}

// TestChangeLogBounded writes many changes with long keys: the log item
// stays under 4 KB (half a read unit per poll), and a reader that fell
// behind is told to re-check everything.
func TestChangeLogBounded(t *testing.T) {
	prefix := uniquePrefix("bounded")
	w := newTestStore(t, prefix)
	var updates []store.ItemUpdate
	for i := range 40 {
		k := fmt.Sprintf("a-rather-long-flag-key-as-some-teams-write-them-%03d-%d", i, rand.Int64())
		updates = append(updates, store.ItemUpdate{Kind: store.Features, Key: k, Item: mustItem(t, `{"version":1}`)})
	}
	for _, u := range updates {
		if _, err := w.Upsert(t.Context(), u.Kind, u.Key, u.Item); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Upsert(t.Context(), store.Features, string(slices.Repeat([]byte("k"), 1000)), mustItem(t, `{"version":1}`)); err != nil {
		t.Fatal(err)
	}
	ns := prefix + ":" + changesNamespace
	av, err := w.getItem(t.Context(), "test", ns, ns)
	if err != nil {
		t.Fatal(err)
	}
	if n := itemSize(av); n > 4096 {
		t.Errorf("change-log item is %d bytes; want at most 4 KB", n)
	}
	cl, found, err := decodeChangeLog(av)
	if err != nil || !found || cl.seq != 41 {
		t.Fatalf("change log = %+v, %v, %v; want seq 41", cl, found, err)
	}
	if got := cl.since(0); !slices.Equal(got, []store.Change{store.ChangeAll}) {
		t.Errorf("a reader at 0 after 41 changes gets %v; want ChangeAll", got)
	}
	if got := cl.since(40); len(got) != 1 || got[0].Key != string(slices.Repeat([]byte("k"), 1000)) {
		t.Errorf("a reader at 40 gets %v; want the last key", got)
	}
}

// FuzzChangeLog: any stored log decodes without a panic, and what decodes
// re-encodes to the same entries.
func FuzzChangeLog(f *testing.F) {
	f.Add(`[[1,"features","a"],[2,"",""]]`)
	f.Add(`[]`)
	f.Add(`[[1,"x"]]`)
	f.Fuzz(func(t *testing.T, s string) {
		var entries []logEntry
		if err := json.Unmarshal([]byte(s), &entries); err != nil {
			return
		}
		b, err := json.Marshal(entries)
		if err != nil {
			t.Fatal(err)
		}
		var again []logEntry
		if err := json.Unmarshal(b, &again); err != nil || !slices.Equal(entries, again) {
			t.Fatalf("%q re-encoded as %s: %v, %v", s, b, again, err)
		}
	})
}

// The subprocess of TestInterruptedInit: an Init of the dataset of the
// generation in the environment, which the parent kills at a random moment.
const (
	envInitHelper = "DAEMONFLAG_TEST_DYNAMODB_INIT"
	initFlags     = 2000
)

func TestMain_initHelper(t *testing.T) {
	spec := os.Getenv(envInitHelper)
	if spec == "" {
		t.Skip("helper process of TestInterruptedInit")
	}
	var prefix string
	var gen int
	if _, err := fmt.Sscanf(spec, "%s %d", &prefix, &gen); err != nil {
		t.Fatal(err)
	}
	st := newTestStore(t, prefix)
	if err := st.Init(context.Background(), dataset(initFlags, 0, gen)); err != nil {
		t.Fatal(err)
	}
}

// TestInterruptedInit runs a 2,000-flag Init in a subprocess and SIGKILLs
// it, several times, at a random moment after its init-in-progress mark
// appeared in the table (so every kill lands inside an Init, unless the
// Init finished first): whenever the table holds a mix of two generations,
// Initialized says an init is in progress; a complete run of the writer
// clears that.
func TestInterruptedInit(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	prefix := uniquePrefix("killed")
	st := newTestStore(t, prefix)
	if err := st.Init(t.Context(), dataset(initFlags, 0, 1)); err != nil {
		t.Fatal(err)
	}
	// run runs the writer of generation gen, watching for its mark; with
	// kill, it kills it (*kill) after the mark was seen. It returns how long
	// the writer went on after the mark was seen.
	run := func(gen int, kill *time.Duration) (killed bool, afterMark time.Duration) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestMain_initHelper$", "-test.count=1")
		_, table := testTable(t)
		cmd.Env = append(os.Environ(), envInitHelper+"="+prefix+" "+strconv.Itoa(gen), envTestTable+"="+table)
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var marked time.Time
		finished := func(err error) (bool, time.Duration) {
			if err != nil {
				t.Fatalf("writer gen %d failed: %v\n%s", gen, err, out.String())
			}
			if marked.IsZero() {
				return false, 0
			}
			return false, time.Since(marked)
		}
		deadline := time.After(time.Minute)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for marked.IsZero() {
			select {
			case err := <-done:
				return finished(err)
			case <-deadline:
				t.Fatalf("writer gen %d did not finish within a minute", gen)
			case <-tick.C:
			}
			if _, err := st.Initialized(t.Context()); errors.Is(err, store.ErrInitInProgress) {
				marked = time.Now()
			}
		}
		var killAt <-chan time.Time
		if kill != nil {
			killAt = time.After(*kill)
		}
		select {
		case err := <-done:
			return finished(err)
		case <-deadline:
			t.Fatalf("writer gen %d did not finish within a minute", gen)
		case <-killAt:
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		return true, time.Since(marked)
	}
	// How long a complete Init goes on after its mark appears, to kill the
	// next ones at random points within it.
	gen := 2
	_, full := run(gen, nil)
	full = max(full, time.Millisecond)
	mixedSeen, insideSeen := 0, 0
	for round := range 8 {
		gen++
		delay := time.Duration(rand.Int64N(int64(full)))
		if round == 0 {
			delay = 0 // at once: certainly inside the Init
		}
		killed, _ := run(gen, &delay)
		versions := map[int]int{}
		all, err := st.GetAll(t.Context(), store.Features)
		if err != nil {
			t.Fatal(err)
		}
		for _, ki := range all {
			versions[ki.Item.Version]++
		}
		_, initErr := st.Initialized(t.Context())
		inProgress := errors.Is(initErr, store.ErrInitInProgress)
		if initErr != nil && !inProgress {
			t.Fatal(initErr)
		}
		t.Logf("round %d: gen %d killed %v after the mark: %v, versions=%v in progress=%v", round, gen, delay.Round(time.Millisecond), killed, versions, inProgress)
		if len(versions) > 1 {
			mixedSeen++
			if !inProgress {
				t.Errorf("round %d: the table holds generations %v but Initialized reports no init in progress", round, versions)
			}
		}
		complete := len(versions) == 1 && versions[gen] == initFlags
		switch {
		case inProgress:
			insideSeen++
		case !complete:
			t.Errorf("round %d: the writer left generations %v and no in-progress mark", round, versions)
		}
		if !killed && inProgress {
			t.Errorf("round %d: a completed Init left the in-progress mark", round)
		}
		// A writer killed after its Init completed (while the process
		// exited) leaves the complete new generation and no mark.
	}
	if insideSeen == 0 {
		t.Fatalf("no writer was killed inside its Init (a complete one ran %v after its mark)", full)
	}
	// A complete run of the writer finishes the job.
	gen++
	run(gen, nil)
	if ok, err := st.Initialized(t.Context()); err != nil || !ok {
		t.Errorf("Initialized after a complete run = %v, %v; want true, nil", ok, err)
	}
	wantDataset(t, st, dataset(initFlags, 0, gen))
	t.Logf("%d of 8 rounds left a mix, %d were killed inside the Init, and each left the mark", mixedSeen, insideSeen)
}

// syncBuffer collects a subprocess's output.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// TestInitInProgressNotified holds a writer's Init between its
// init-in-progress mark and its first batch: a reader polling the change
// log is told to re-check at once, and then finds the init in progress;
// when the Init completes it is told again and finds a complete dataset.
func TestInitInProgressNotified(t *testing.T) {
	gate := make(chan struct{})
	w, _ := newFaultStore(t, func(f *faultClient) { f.gate = gate }, nil)
	opts := testOptions(t, w.Prefix())
	opts.NotifyInterval = 20 * time.Millisecond
	r, err := New(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	got := newChanges()
	if err := r.Notify(t.Context(), got.fn); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Init(t.Context(), dataset(30, 2, 1)) }()
	got.wait(t, "the start of an Init", isAll)
	if _, err := r.Initialized(t.Context()); !errors.Is(err, store.ErrInitInProgress) {
		t.Errorf("Initialized after the start of an Init was notified: %v; want ErrInitInProgress", err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got.wait(t, "the end of the Init", isAll)
	if ok, err := r.Initialized(t.Context()); err != nil || !ok {
		t.Errorf("Initialized after the Init = %v, %v; want true", ok, err)
	}
}
