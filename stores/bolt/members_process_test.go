package bolt_test

// Big-segment imports with real separate processes (see process_test.go).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// importGen is one generation of the importer helper: one ApplyMembership
// call moves every hash from ref imp.g<gen-1> to imp.g<gen>.
func importGen(hashes []string, gen int) []store.MembershipChange {
	changes := make([]store.MembershipChange, 0, 2*len(hashes))
	for _, h := range hashes {
		if gen > 1 {
			changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: fmt.Sprintf("imp.g%d", gen-1), Remove: true})
		}
		changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: fmt.Sprintf("imp.g%d", gen)})
	}
	return changes
}

// importedGen returns the generation a membership written by importGen
// shows, or an error when it is not exactly one such ref.
func importedGen(h string, m store.Membership) (int, error) {
	if len(m.Included) != 1 || len(m.Excluded) != 0 || !strings.HasPrefix(m.Included[0], "imp.g") {
		return 0, fmt.Errorf("hash %s: membership %+v, want exactly one imp.g<N>", h, m)
	}
	return strconv.Atoi(strings.TrimPrefix(m.Included[0], "imp.g"))
}

// scanGens scans every membership and checks that each holds one
// generation, that those of one read transaction (ScanChunk memberships)
// agree, and that they never go back. It returns the lowest and highest
// generation seen.
func scanGens(ctx context.Context, s *bolt.Store, n int) (lo, hi int, err error) {
	i := 0
	err = s.ScanMembership(ctx, func(h string, m store.Membership) error {
		gen, err := importedGen(h, m)
		if err != nil {
			return err
		}
		switch {
		case i == 0:
			lo, hi = gen, gen
		case gen < hi:
			return fmt.Errorf("membership %d went back from generation %d to %d", i, hi, gen)
		case gen != hi && i%bolt.ScanChunk != 0:
			return fmt.Errorf("one read transaction saw generations %d and %d (membership %d): a partly applied call", hi, gen, i)
		}
		hi = gen
		i++
		return nil
	})
	if err == nil && i != n {
		err = fmt.Errorf("scan saw %d memberships, want %d", i, n)
	}
	return lo, hi, err
}

// runMemberHelper runs the big-segment helper roles.
func runMemberHelper(role string) error {
	path := os.Getenv(envPath)
	n := envInt(envFlags, 3000)
	duration := time.Duration(envInt(envDuration, 2000)) * time.Millisecond
	hashes := contextHashes(n)
	ctx := context.Background()
	switch role {
	case "importer":
		// Imports generations until duration passes (or it is killed),
		// setting the synchronized-on time every third, which compacts.
		s, err := bolt.Open(path, nil)
		if err != nil {
			return err
		}
		defer s.Close()
		_, gen, err := scanGens(ctx, s, n)
		if err != nil {
			return err
		}
		fmt.Println("import-start")
		deadline := time.Now().Add(duration)
		for gen++; time.Now().Before(deadline); gen++ {
			if err := s.ApplyMembership(ctx, importGen(hashes, gen)); err != nil {
				return fmt.Errorf("generation %d: %w", gen, err)
			}
			if gen%3 == 0 {
				if err := s.SetSynchronizedOn(ctx, time.UnixMilli(int64(gen))); err != nil {
					return err
				}
			}
		}
		in, cp := s.WriteCounts()
		fmt.Printf("generations=%d in-place=%d copied=%d compactions=%d\n", gen-1, in, cp, s.Compactions())
		return nil

	case "member-reader":
		// Reads until duration passes: single memberships and scans, each
		// of one published state, never going back.
		s, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
		if err != nil {
			return err
		}
		defer s.Close()
		deadline := time.Now().Add(duration)
		reads, last, gens := 0, 0, 0
		for ; time.Now().Before(deadline); reads++ {
			var gen int
			if reads%10 == 9 {
				lo, hi, err := scanGens(ctx, s, n)
				if err != nil {
					return fmt.Errorf("read %d: %w", reads, err)
				}
				if lo < last {
					return fmt.Errorf("read %d: went back from generation %d to %d", reads, last, lo)
				}
				gen = hi
			} else {
				h := hashes[reads%n]
				m, err := s.Membership(ctx, h)
				if err != nil {
					return fmt.Errorf("read %d: %w", reads, err)
				}
				if gen, err = importedGen(h, m); err != nil {
					return fmt.Errorf("read %d: %w", reads, err)
				}
				if gen < last {
					return fmt.Errorf("read %d: went back from generation %d to %d", reads, last, gen)
				}
			}
			if gen != last {
				gens++
			}
			last = gen
		}
		fmt.Printf("reads=%d generations=%d last=%d\n", reads, gens, last)
		return nil
	}
	return runNotifyHelper(role)
}

// startImport writes generation 1 of n hashes at path.
func startImport(t *testing.T, path string, n int) {
	t.Helper()
	s, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.ApplyMembership(context.Background(), importGen(contextHashes(n), 1)); err != nil {
		t.Fatal(err)
	}
}

func TestProcessesImporterAndReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "members.db")
	const n = 3000 // 6000 changes a generation: runs and compactions
	startImport(t, path, n)
	env := []string{envFlags + "=" + strconv.Itoa(n), envDuration + "=3000"}
	w, wout, werr := helper(t, "importer", path, env...)
	var readers []func() string
	for i := range 3 {
		c, o, e := helper(t, "member-reader", path, env...)
		readers = append(readers, func() string { return finish(t, fmt.Sprintf("reader %d", i), c, o, e) })
	}
	for i, r := range readers {
		res := r()
		t.Logf("reader %d: %s", i, res)
		var reads, gens int
		fmt.Sscanf(res, "reads=%d generations=%d", &reads, &gens)
		if reads == 0 || gens < 2 {
			t.Errorf("reader %d saw too little: %s", i, res)
		}
	}
	t.Logf("importer: %s", finish(t, "importer", w, wout, werr))
}

func TestProcessImporterKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process test")
	}
	path := filepath.Join(t.TempDir(), "members.db")
	const n = 20000 // 40,000 changes a generation; compactions of 20,000
	startImport(t, path, n)
	// A reader holds the live file throughout, as a client would.
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	last := 1
	for i, delay := range []time.Duration{0, 3 * time.Millisecond, 11 * time.Millisecond, 29 * time.Millisecond, 53 * time.Millisecond, 97 * time.Millisecond, 151 * time.Millisecond} {
		cmd, out, _ := helper(t, "importer", path, envFlags+"="+strconv.Itoa(n), envDuration+"=10000")
		waitLine(t, out, "import-start")
		time.Sleep(delay)
		if err := cmd.Process.Kill(); err != nil { // SIGKILL
			t.Fatal(err)
		}
		_ = cmd.Wait()
		left := tempFiles(t, path)
		lo, hi, err := scanGens(ctx, r, n)
		if err != nil {
			t.Fatalf("kill %d: reader: %v", i, err)
		}
		if lo != hi || hi < last {
			t.Fatalf("kill %d: generations %d..%d after generation %d", i, lo, hi, last)
		}
		t.Logf("kill %d after %v: generation %d, %d temporary files left", i, delay, hi, len(left))
		last = hi
	}
	// A new writer goes on from what the killed ones left.
	s := mustOpen(t, path, nil)
	if err := s.ApplyMembership(ctx, importGen(contextHashes(n), last+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSynchronizedOn(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if lo, hi, err := scanGens(ctx, r, n); err != nil || lo != last+1 || hi != last+1 {
		t.Fatalf("after a new writer's import: generations %d..%d, %v; want %d", lo, hi, err, last+1)
	}
	if left := tempFiles(t, path); len(left) > 0 {
		t.Errorf("temporary files left after a successful write: %v", left)
	}
}
