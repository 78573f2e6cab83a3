package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// memberModel is what the memberships should be: hash -> "i:ref" / "e:ref".
type memberModel map[string]map[string]bool

func (mm memberModel) apply(changes []store.MembershipChange) {
	for _, c := range changes {
		ref := "i:" + c.SegmentRef
		if c.Excluded {
			ref = "e:" + c.SegmentRef
		}
		if c.Remove {
			delete(mm[c.ContextHash], ref)
			if len(mm[c.ContextHash]) == 0 {
				delete(mm, c.ContextHash)
			}
			continue
		}
		if mm[c.ContextHash] == nil {
			mm[c.ContextHash] = map[string]bool{}
		}
		mm[c.ContextHash][ref] = true
	}
}

// refs flattens a membership as the model holds it.
func refs(m store.Membership) map[string]bool {
	out := map[string]bool{}
	for _, r := range m.Included {
		out["i:"+r] = true
	}
	for _, r := range m.Excluded {
		out["e:"+r] = true
	}
	return out
}

// checkMembers compares the reader's view with the model: Membership of
// each of hashes, and a full ScanMembership.
func checkMembers(t *testing.T, step string, r *bolt.Store, mm memberModel, hashes []string) {
	t.Helper()
	ctx := context.Background()
	for _, h := range hashes {
		m, err := r.Membership(ctx, h)
		if err != nil {
			t.Fatalf("%s: Membership(%s): %v", step, h, err)
		}
		if got := refs(m); !maps.Equal(got, mm[h]) && len(got)+len(mm[h]) > 0 {
			t.Fatalf("%s: Membership(%s) = %v, model %v", step, h, got, mm[h])
		}
		if !slices.IsSorted(m.Included) || !slices.IsSorted(m.Excluded) {
			t.Fatalf("%s: Membership(%s) = %+v, not sorted", step, h, m)
		}
	}
	seen := 0
	last := ""
	err := r.ScanMembership(ctx, func(h string, m store.Membership) error {
		if h <= last {
			return fmt.Errorf("hash %q after %q", h, last)
		}
		last = h
		seen++
		if got := refs(m); !maps.Equal(got, mm[h]) {
			return fmt.Errorf("scan: %s = %v, model %v", h, got, mm[h])
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: ScanMembership: %v", step, err)
	}
	if seen != len(mm) {
		t.Fatalf("%s: ScanMembership saw %d hashes, model has %d", step, seen, len(mm))
	}
}

// randomChanges returns n random changes over hashes and refs.
func randomChanges(rng *rand.Rand, n int, hashes []string, refs int) []store.MembershipChange {
	out := make([]store.MembershipChange, n)
	for i := range out {
		out[i] = store.MembershipChange{
			ContextHash: hashes[rng.IntN(len(hashes))],
			SegmentRef:  fmt.Sprintf("seg%d.g%d", rng.IntN(refs), rng.IntN(2)),
			Excluded:    rng.IntN(4) == 0,
			Remove:      rng.IntN(3) == 0,
		}
	}
	return out
}

// TestBulkMembershipMatchesModel drives big-segment writes large enough to
// go to runs (see the package doc), through two writers, with concurrent
// calls, compactions, Inits, copies and small writes, and checks
// a reader against a model after each step.
func TestBulkMembershipMatchesModel(t *testing.T) {
	if testing.Short() {
		t.Skip("model test of bulk membership writes (seconds)")
	}
	path := filepath.Join(t.TempDir(), "members.db")
	writers := []*bolt.Store{
		mustOpen(t, path, &bolt.Options{NoSync: true}),
		mustOpen(t, path, &bolt.Options{NoSync: true, StandbyWait: -1}),
	}
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	mm := memberModel{}

	// A large base under the runs.
	cold := contextHashes(30_000)
	base := make([]store.MembershipChange, len(cold))
	for i, h := range cold {
		base[i] = store.MembershipChange{ContextHash: h, SegmentRef: "cold.g1"}
	}
	if err := writers[0].ApplyMembership(ctx, base); err != nil {
		t.Fatal(err)
	}
	mm.apply(base)
	if err := writers[0].SetSynchronizedOn(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Hot hashes: some new, some in the base, and short ones that sort
	// before and after the base64 ones.
	hot := append(slices.Clone(cold[:300]), "+", "0", "A", "zz", "~~")
	for i := range 300 {
		hot = append(hot, fmt.Sprintf("hot-%03d", i))
	}
	sample := append(slices.Clone(hot), cold[len(cold)-50:]...)
	checkMembers(t, "base", r, mm, sample)

	steps := 70
	maxRuns, fullCompacted, prevRuns := 0, false, 0
	compactions := func() int64 { return writers[0].Compactions() + writers[1].Compactions() }
	for step := range steps {
		before := compactions()
		w := writers[rng.IntN(len(writers))]
		name := fmt.Sprintf("step %d", step)
		switch op := rng.IntN(20); {
		case op < 10: // one bulk write: a run
			changes := randomChanges(rng, 4096+rng.IntN(2000), hot, 4)
			if err := w.ApplyMembership(ctx, changes); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			mm.apply(changes)
		case op < 13: // concurrent bulk writes on disjoint hashes
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for g := range 4 {
				part := hot[g*len(hot)/4 : (g+1)*len(hot)/4]
				changes := randomChanges(rng, 2000+rng.IntN(3000), part, 3)
				mm.apply(changes)
				wg.Go(func() { errs[g] = w.ApplyMembership(ctx, changes) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
			}
		case op < 16: // small writes go to the newest run, or the base
			changes := randomChanges(rng, 1+rng.IntN(20), sample, 4)
			if err := w.ApplyMembership(ctx, changes); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			mm.apply(changes)
		case op < 17: // the end of an import: compacts
			if err := w.SetSynchronizedOn(ctx, time.Now()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case op < 18:
			if err := w.Init(ctx, genData(step, 20)); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		case op < 19:
			w.SetForceCopy(!w.WriteCountsForceCopy())
		default:
			c := counterItem(1000 + step)
			if _, err := w.Upsert(ctx, store.Features, c.Key, c.Item); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		n, err := r.Runs()
		if err != nil {
			t.Fatal(err)
		}
		if n > 16 {
			t.Fatalf("%s: %d runs", name, n)
		}
		if prevRuns == 16 && n == 0 && compactions() > before {
			fullCompacted = true // a 17th run compacted them all
		}
		maxRuns, prevRuns = max(maxRuns, n), n
		checkMembers(t, name, r, mm, sample)
	}
	for i, w := range writers {
		in, cp := w.WriteCounts()
		t.Logf("writer %d: %d in place, %d copied, %d compactions", i, in, cp, w.Compactions())
	}
	t.Logf("most runs %d, compacted when full %v", maxRuns, fullCompacted)
	if compactions() == 0 || maxRuns < 16 || !fullCompacted {
		t.Errorf("compactions %d, most runs %d, compacted when full %v: the test missed a path", compactions(), maxRuns, fullCompacted)
	}
}

// writeRaw changes a store file with bbolt directly, as another program or
// an older version would.
func writeRaw(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// TestFormat1Memberships reads and updates a file written by the first
// version of the format, with one membership per key.
func TestFormat1Memberships(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	hashes := contextHashes(500)
	mm := memberModel{}
	writeRaw(t, path, func(tx *bbolt.Tx) error {
		meta, _ := tx.CreateBucket([]byte("$daemonflag"))
		meta.Put([]byte("format"), []byte("1"))
		meta.Put([]byte("generation"), []byte{0, 0, 0, 0, 0, 0, 0, 1})
		meta.Put([]byte("snapshot"), []byte("0123456789abcdef"))
		pb, _ := tx.CreateBucket([]byte(bolt.DefaultPrefix))
		bs, err := pb.CreateBucket([]byte("big_segments"))
		if err != nil {
			return err
		}
		for i, h := range hashes {
			// The format 1 encoding: 1, then counted included and excluded
			// length-prefixed refs.
			v := []byte{1, 1, 4, 's', '.', 'g', '1', 0}
			if i%3 == 0 {
				v = []byte{1, 0, 1, 4, 'x', '.', 'g', '1'}
				mm.apply([]store.MembershipChange{{ContextHash: h, SegmentRef: "x.g1", Excluded: true}})
			} else {
				mm.apply([]store.MembershipChange{{ContextHash: h, SegmentRef: "s.g1"}})
			}
			if err := bs.Put([]byte(h), v); err != nil {
				return err
			}
		}
		return nil
	})
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	checkMembers(t, "format 1", r, mm, hashes[:50])
	w := mustOpen(t, path, &bolt.Options{NoSync: true})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	for step, n := range []int{10, 5000, 7, 4500, 0} {
		changes := randomChanges(rng, n, hashes, 3)
		if err := w.ApplyMembership(ctx, changes); err != nil {
			t.Fatal(err)
		}
		mm.apply(changes)
		if n == 0 {
			if err := w.SetSynchronizedOn(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		checkMembers(t, fmt.Sprintf("step %d", step), r, mm, hashes[:50])
	}
}

// TestDamagedMembershipBlock: a damaged block is an error naming the hash
// for readers, and writers replace it.
func TestDamagedMembershipBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "members.db")
	w := mustOpen(t, path, &bolt.Options{NoSync: true})
	ctx := context.Background()
	hashes := contextHashes(200)
	var changes []store.MembershipChange
	for _, h := range hashes {
		changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: "s.g1"})
	}
	if err := w.ApplyMembership(ctx, changes); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sorted := slices.Sorted(slices.Values(hashes))
	var victim string // the last hash of a block: its entry is cut off
	writeRaw(t, path, func(tx *bbolt.Tx) error {
		bs := tx.Bucket([]byte(bolt.DefaultPrefix)).Bucket([]byte("big_segments"))
		k, v := bs.Cursor().Seek([]byte(sorted[100]))
		victim = string(k)
		bad := slices.Clone(v)
		bad[len(bad)/2] ^= 0xff
		bad = bad[:len(bad)-3]
		return bs.Put(k, bad)
	})
	r := mustOpen(t, path, &bolt.Options{ReadOnly: true})
	if _, err := r.Membership(ctx, victim); !errors.Is(err, store.ErrMalformedItem) || !strings.Contains(err.Error(), victim) {
		t.Errorf("Membership in a damaged block: %v; want ErrMalformedItem naming the hash", err)
	}
	if err := r.ScanMembership(ctx, func(string, store.Membership) error { return nil }); !errors.Is(err, store.ErrMalformedItem) {
		t.Errorf("ScanMembership over a damaged block: %v; want ErrMalformedItem", err)
	}
	if m, err := r.Membership(ctx, sorted[0]); err != nil || len(m.Included) != 1 {
		t.Errorf("Membership in an intact block: %+v, %v", m, err)
	}
	// A write to the damaged block replaces it with what could be read.
	w = mustOpen(t, path, &bolt.Options{NoSync: true})
	if err := w.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: victim, SegmentRef: "t.g1"}}); err != nil {
		t.Fatal(err)
	}
	m, err := r.Membership(ctx, victim)
	if err != nil || !slices.Contains(m.Included, "t.g1") {
		t.Errorf("Membership after the repair: %+v, %v", m, err)
	}
	n := 0
	if err := r.ScanMembership(ctx, func(string, store.Membership) error { n++; return nil }); err != nil || n > len(hashes) || n < len(hashes)-60 {
		t.Errorf("ScanMembership after the repair: %d memberships, %v", n, err)
	}
}
