package bolt_test

// Tests with real separate processes. The test binary re-executes itself
// with DAEMONFLAG_BOLT_HELPER naming a role; TestMain runs the role instead
// of the tests.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

const (
	envHelper   = "DAEMONFLAG_BOLT_HELPER"
	envPath     = "DAEMONFLAG_BOLT_PATH"
	envDuration = "DAEMONFLAG_BOLT_DURATION"
	envFlags    = "DAEMONFLAG_BOLT_FLAGS"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(envHelper); role != "" {
		if err := runHelper(role); err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: %v\n", role, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// upsertsPerGen is how many counter upserts the writer helper makes between
// two Inits.
const upsertsPerGen = 20

// genData builds dataset generation gen: n flags "flag-NNNNN" carrying
// "gen":gen, and a "counter" flag at version gen*1000 that upserts bump.
func genData(gen, n int) []store.Collection {
	pad := strings.Repeat("p", 300)
	items := make([]store.KeyedItem, 0, n+1)
	for i := range n {
		key := fmt.Sprintf("flag-%05d", i)
		items = append(items, store.KeyedItem{Key: key, Item: store.Item{
			Version: gen,
			Data:    fmt.Appendf(nil, `{"key":%q,"version":%d,"gen":%d,"pad":%q}`, key, gen, gen, pad),
		}})
	}
	items = append(items, counterItem(gen*1000))
	seg := store.KeyedItem{Key: "seg", Item: store.Item{Version: gen, Data: fmt.Appendf(nil, `{"key":"seg","version":%d,"gen":%d}`, gen, gen)}}
	return []store.Collection{{Kind: store.Segments, Items: []store.KeyedItem{seg}}, {Kind: store.Features, Items: items}}
}

func counterItem(version int) store.KeyedItem {
	return store.KeyedItem{Key: "counter", Item: store.Item{Version: version, Data: fmt.Appendf(nil, `{"key":"counter","version":%d}`, version)}}
}

// checkDataset checks one GetAll of features against genData: n flags of
// one generation and a counter of that generation (at most upsertsPerGen
// upserts past it). It returns the generation and the counter's version.
func checkDataset(items []store.KeyedItem, n int) (gen, counter int, err error) {
	return checkDatasetCounter(items, n, upsertsPerGen)
}

// checkDatasetCounter is checkDataset with the counter allowed up to
// maxUpserts past its generation's start.
func checkDatasetCounter(items []store.KeyedItem, n, maxUpserts int) (gen, counter int, err error) {
	gen = -1
	flags := 0
	for _, ki := range items {
		if ki.Key == "counter" {
			counter = ki.Item.Version
			continue
		}
		i := strings.Index(string(ki.Item.Data), `"gen":`)
		if i < 0 {
			return 0, 0, fmt.Errorf("key %q has no generation", ki.Key)
		}
		g, err := strconv.Atoi(strings.SplitN(string(ki.Item.Data[i+6:]), ",", 2)[0])
		if err != nil {
			return 0, 0, fmt.Errorf("key %q: %v", ki.Key, err)
		}
		if gen == -1 {
			gen = g
		}
		if g != gen || ki.Item.Version != g {
			return 0, 0, fmt.Errorf("mixed datasets: key %q is generation %d, another key %d", ki.Key, g, gen)
		}
		flags++
	}
	if flags != n {
		return 0, 0, fmt.Errorf("partial dataset: generation %d has %d flags, want %d", gen, flags, n)
	}
	if counter < gen*1000 || counter > gen*1000+maxUpserts {
		return 0, 0, fmt.Errorf("mixed datasets: counter version %d in generation %d", counter, gen)
	}
	return gen, counter, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func runHelper(role string) error {
	path := os.Getenv(envPath)
	n := envInt(envFlags, 1000)
	duration := time.Duration(envInt(envDuration, 2000)) * time.Millisecond
	ctx := context.Background()
	switch role {
	case "writer":
		// Replaces the dataset and bumps the counter until duration passes.
		s, err := bolt.Open(path, nil)
		if err != nil {
			return err
		}
		defer s.Close()
		deadline := time.Now().Add(duration)
		gen := 2
		for ; time.Now().Before(deadline); gen++ {
			if err := s.Init(ctx, genData(gen, n)); err != nil {
				return fmt.Errorf("init %d: %w", gen, err)
			}
			for k := 1; k <= upsertsPerGen; k++ {
				c := counterItem(gen*1000 + k)
				if applied, err := s.Upsert(ctx, store.Features, c.Key, c.Item); err != nil || !applied {
					return fmt.Errorf("upsert counter %d: applied=%v err=%w", c.Item.Version, applied, err)
				}
			}
		}
		inPlace, copied := s.WriteCounts()
		fmt.Printf("generations=%d in-place=%d copied=%d\n", gen-2, inPlace, copied)
		return nil

	case "reader":
		// Reads until duration passes; every read must be one complete
		// dataset, and no read may go back in time.
		s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer s.Close()
		deadline := time.Now().Add(duration)
		reads, lastGen, lastCounter, gens := 0, 0, 0, 0
		for time.Now().Before(deadline) {
			ok, err := s.Initialized(ctx)
			if err != nil || !ok {
				return fmt.Errorf("read %d: Initialized = %v, %v", reads, ok, err)
			}
			items, err := s.GetAll(ctx, store.Features)
			if err != nil {
				return fmt.Errorf("read %d: GetAll: %w", reads, err)
			}
			gen, counter, err := checkDataset(items, n)
			if err != nil {
				return fmt.Errorf("read %d: %w", reads, err)
			}
			if gen < lastGen || counter < lastCounter {
				return fmt.Errorf("read %d: went back from generation %d counter %d to %d, %d", reads, lastGen, lastCounter, gen, counter)
			}
			if gen != lastGen {
				gens++
			}
			lastGen, lastCounter = gen, counter
			it, found, err := s.Get(ctx, store.Features, "flag-00007")
			if err != nil || !found || it.Version < gen {
				return fmt.Errorf("read %d: Get = v%d, %v, %v; want generation >= %d", reads, it.Version, found, err, gen)
			}
			reads++
		}
		fmt.Printf("reads=%d generations=%d last=%d counter=%d\n", reads, gens, lastGen, lastCounter)
		return nil

	case "big-init":
		// Announces, then runs, one large Init; the test kills it midway.
		s, err := bolt.Open(path, nil)
		if err != nil {
			return err
		}
		data := genData(99, n)
		fmt.Println("init-start")
		if err := s.Init(ctx, data); err != nil {
			return err
		}
		fmt.Println("init-done")
		return s.Close()

	case "upserter":
		// Upserts the counter as fast as it can; the test kills it.
		s, err := bolt.Open(path, &bolt.Options{NoSync: true})
		if err != nil {
			return err
		}
		cur, _, err := s.Get(ctx, store.Features, "counter")
		if err != nil {
			return err
		}
		for v := cur.Version + 1; ; v++ {
			c := counterItem(v)
			if _, err := s.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
				return err
			}
			if v == cur.Version+1 {
				// Said after the first upsert is published, so a kill
				// from here on always follows some progress.
				fmt.Println("upsert-start")
			}
		}

	case "early-reader":
		// Starts before the store exists and waits to see it; any error
		// before then fails.
		s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer s.Close()
		fmt.Println("reader-start")
		deadline := time.Now().Add(duration)
		saidMissing := false
		for reads := 0; time.Now().Before(deadline); reads++ {
			ok, err := s.Initialized(ctx)
			if errors.Is(err, bolt.ErrNotExist) {
				// The reader says the file is missing until it is there.
				if !saidMissing {
					fmt.Println("reader-missing")
					saidMissing = true
				}
				time.Sleep(time.Millisecond)
				continue
			}
			if err != nil {
				return fmt.Errorf("Initialized before the file exists: %w", err)
			}
			_, found, err := s.Get(ctx, store.Features, "flag-00001")
			if err != nil {
				return fmt.Errorf("Get: %w", err)
			}
			items, err := s.GetAll(ctx, store.Features)
			if err != nil {
				return fmt.Errorf("GetAll: %w", err)
			}
			if !ok {
				if found || len(items) > 0 {
					return fmt.Errorf("uninitialized store returned items")
				}
				time.Sleep(time.Millisecond)
				continue
			}
			gen, _, err := checkDataset(items, n)
			if err != nil {
				return err
			}
			fmt.Printf("saw generation %d after %d reads\n", gen, reads)
			return nil
		}
		return errors.New("never saw the store")
	}
	return runMemberHelper(role)
}

// helper starts the test binary in a role.
func helper(t *testing.T, role, path string, env ...string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+role, envPath+"="+path)
	cmd.Env = append(cmd.Env, env...)
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, bufio.NewReader(out), stderr
}

// waitLine reads lines until one starts with want.
func waitLine(t *testing.T, r *bufio.Reader, want string) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if strings.HasPrefix(line, want) {
			return strings.TrimSpace(line)
		}
		if err != nil {
			t.Fatalf("helper ended before printing %q: %v", want, err)
		}
	}
}

func finish(t *testing.T, name string, cmd *exec.Cmd, out *bufio.Reader, stderr *strings.Builder) string {
	t.Helper()
	rest, _ := io.ReadAll(out)
	if err := cmd.Wait(); err != nil {
		t.Errorf("%s failed: %v\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(rest))
}

func initStore(t *testing.T, path string, gen, n int) {
	t.Helper()
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Init(context.Background(), genData(gen, n)); err != nil {
		t.Fatal(err)
	}
}

// verifyStore checks that a new process-independent Store sees one complete
// dataset and that a writer can still write.
func verifyStore(t *testing.T, path string, n int) (gen, counter int) {
	t.Helper()
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatalf("Open after the kill: %v", err)
	}
	defer s.Close()
	ctx := context.Background()
	items, err := s.GetAll(ctx, store.Features)
	if err != nil {
		t.Fatalf("GetAll after the kill: %v", err)
	}
	if gen, counter, err = checkDatasetCounter(items, n, 1<<30); err != nil {
		t.Fatalf("after the kill: %v", err)
	}
	c := counterItem(counter + 1)
	if applied, err := s.Upsert(ctx, store.Features, c.Key, c.Item); err != nil || !applied {
		t.Fatalf("Upsert after the kill: applied=%v, %v", applied, err)
	}
	if err := s.Init(ctx, genData(gen+1, n)); err != nil {
		t.Fatalf("Init after the kill: %v", err)
	}
	if left := tempFiles(t, path); len(left) > 0 {
		t.Errorf("temporary files left after a successful write: %v", left)
	}
	return gen, counter
}

func tempFiles(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProcessesOneWriterThreeReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "shared.db")
	const n = 2000
	initStore(t, path, 1, n)
	nflags := envFlags + "=" + strconv.Itoa(n)
	w, wout, werr := helper(t, "writer", path, nflags, envDuration+"=3000")
	type proc struct {
		cmd    *exec.Cmd
		out    *bufio.Reader
		stderr *strings.Builder
	}
	var readers []proc
	for range 3 {
		c, o, e := helper(t, "reader", path, nflags, envDuration+"=3000")
		readers = append(readers, proc{c, o, e})
	}
	for i, r := range readers {
		res := finish(t, fmt.Sprintf("reader %d", i), r.cmd, r.out, r.stderr)
		t.Logf("reader %d: %s", i, res)
		var reads, gens int
		fmt.Sscanf(res, "reads=%d generations=%d", &reads, &gens)
		if reads == 0 || gens < 2 {
			t.Errorf("reader %d saw too little: %s", i, res)
		}
	}
	t.Logf("writer: %s", finish(t, "writer", w, wout, werr))
	verifyStore(t, path, n)
}

func TestProcessWriterKilledMidInit(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	const small, big = 100, 40000
	interrupted := 0
	defer func() {
		if interrupted == 0 && !t.Failed() {
			t.Errorf("no kill interrupted a write (no temporary file was left): the test did not test")
		}
	}()
	for i, delay := range []time.Duration{0, 5 * time.Millisecond, 20 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond} {
		t.Run(fmt.Sprintf("after%v", delay), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "killed.db")
			initStore(t, path, 1, small)
			// A reader holds the live file throughout, as a client would.
			r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			cmd, out, _ := helper(t, "big-init", path, envFlags+"="+strconv.Itoa(big))
			waitLine(t, out, "init-start")
			time.Sleep(delay)
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = cmd.Wait()
			left := tempFiles(t, path)
			t.Logf("kill %d: temporary files left by the killed writer: %d", i, len(left))
			if len(left) > 0 {
				interrupted++
			}

			// The reader sees the previous dataset, or the new one complete
			// if the Init finished before the kill.
			items, err := r.GetAll(context.Background(), store.Features)
			if err != nil {
				t.Fatalf("reader after the kill: %v", err)
			}
			want := small
			if len(items) > small+1 {
				want = big
				t.Logf("kill %d came after the Init finished", i)
			}
			if _, _, err := checkDataset(items, want); err != nil {
				t.Fatalf("reader after the kill: %v", err)
			}
			gen, _ := verifyStore(t, path, want)
			if len(left) > 0 && gen != 1 {
				t.Errorf("generation %d after a kill mid-Init, want the previous dataset 1", gen)
			}
		})
	}
}

func TestProcessWriterKilledMidUpsert(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	const n = 2000
	path := filepath.Join(t.TempDir(), "killed.db")
	initStore(t, path, 2, n)
	last := 2000
	for i := range 5 {
		cmd, out, _ := helper(t, "upserter", path)
		waitLine(t, out, "upsert-start")
		time.Sleep(time.Duration(10+i*37) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("kill %d: Open: %v", i, err)
		}
		items, err := s.GetAll(context.Background(), store.Features)
		s.Close()
		if err != nil {
			t.Fatalf("kill %d: GetAll: %v", i, err)
		}
		gen, counter, err := checkDatasetCounter(items, n, 1<<30)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		if gen != 2 || counter <= last {
			t.Fatalf("kill %d: generation %d counter %d, want generation 2 and counter > %d", i, gen, counter, last)
		}
		t.Logf("kill %d: counter at %d", i, counter)
		last = counter
	}
	verifyStore(t, path, n)
}

func TestProcessReaderStartedBeforeFileExists(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	// Not even the directory exists yet.
	path := filepath.Join(t.TempDir(), "later", "flags.db")
	cmd, out, stderr := helper(t, "early-reader", path, envFlags+"=50", envDuration+"=10000")
	waitLine(t, out, "reader-start")
	// The reader has read, and found no file, before there is one.
	waitLine(t, out, "reader-missing")
	w, err := bolt.Open(path, &bolt.Options{MakeDirs: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Init(context.Background(), genData(7, 50)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	res := finish(t, "early reader", cmd, out, stderr)
	if !strings.HasPrefix(res, "saw generation 7") {
		t.Errorf("early reader: %q, want it to see generation 7", res)
	}
	t.Log(res)
}
