package storetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// bigSegments is one pair opened through Harness.BigSegments.
type bigSegments struct {
	r store.BigSegmentReader
	w store.BigSegmentWriter
}

func openBigSegments[X Runner[X]](t X, h HarnessOf[X], prefix string) bigSegments {
	t.Helper()
	r, w := h.BigSegments(t, prefix)
	if r == nil || w == nil {
		t.Fatalf("Harness.BigSegments(%q) returned a nil reader or writer", prefix)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("big-segment reader Close: %v", err)
		}
		if !sameObject(r, w) {
			if err := w.Close(); err != nil {
				t.Errorf("big-segment writer Close: %v", err)
			}
		}
	})
	return bigSegments{r: r, w: w}
}

// sameObject reports whether a and b are the same value; values of
// incomparable types are never the same.
func sameObject(a, b any) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// contextHash is the big-segment hash of a context key: base64 of SHA-256,
// so hashes contain '+', '/' and '='.
func contextHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func mustApply(t T, w store.BigSegmentWriter, changes ...store.MembershipChange) {
	t.Helper()
	if err := w.ApplyMembership(t.Context(), changes); err != nil {
		t.Fatalf("ApplyMembership: %v", err)
	}
}

func wantMembership(t T, r store.BigSegmentReader, hash string, included, excluded []string) {
	t.Helper()
	m, err := r.Membership(t.Context(), hash)
	if err != nil {
		t.Fatalf("Membership(%q): %v", hash, err)
	}
	if got, want := sorted(m.Included), sorted(included); !slices.Equal(got, want) {
		t.Errorf("Membership(%q).Included = %q, want %q", hash, got, want)
	}
	if got, want := sorted(m.Excluded), sorted(excluded); !slices.Equal(got, want) {
		t.Errorf("Membership(%q).Excluded = %q, want %q", hash, got, want)
	}
}

func include(hash, ref string) store.MembershipChange {
	return store.MembershipChange{ContextHash: hash, SegmentRef: ref}
}

func exclude(hash, ref string) store.MembershipChange {
	return store.MembershipChange{ContextHash: hash, SegmentRef: ref, Excluded: true}
}

func remove(c store.MembershipChange) store.MembershipChange {
	c.Remove = true
	return c
}

func runBigSegments[X Runner[X]](t X, h HarnessOf[X]) {
	alice, bob, carol := contextHash("alice"), contextHash("bob"), contextHash("carol")

	t.Run("UnknownHashIsEmpty", func(t X) {
		bs := openBigSegments(t, h, "bs-unknown")
		wantMembership(t, bs.r, alice, nil, nil)
		mustApply(t, bs.w, include(bob, "s.g1"))
		wantMembership(t, bs.r, alice, nil, nil)
	})

	t.Run("AddIncludedAndExcluded", func(t X) {
		bs := openBigSegments(t, h, "bs-add")
		other := openBigSegments(t, h, "bs-add")
		mustApply(t, bs.w,
			include(alice, "a.g1"),
			include(alice, "b.g2"),
			exclude(alice, "c.g1"),
			exclude(bob, "a.g1"),
		)
		for _, r := range []store.BigSegmentReader{bs.r, other.r} {
			wantMembership(t, r, alice, []string{"a.g1", "b.g2"}, []string{"c.g1"})
			wantMembership(t, r, bob, nil, []string{"a.g1"})
		}
		// A second writer adds to what is there.
		mustApply(t, other.w, include(alice, "d.g1"))
		wantMembership(t, bs.r, alice, []string{"a.g1", "b.g2", "d.g1"}, []string{"c.g1"})
		// Included and excluded are separate sets: one ref may be in both.
		mustApply(t, bs.w, exclude(alice, "a.g1"))
		wantMembership(t, bs.r, alice, []string{"a.g1", "b.g2", "d.g1"}, []string{"a.g1", "c.g1"})
	})

	t.Run("Remove", func(t X) {
		bs := openBigSegments(t, h, "bs-remove")
		mustApply(t, bs.w, include(alice, "a.g1"), include(alice, "b.g1"), exclude(alice, "c.g1"), include(bob, "a.g1"))
		mustApply(t, bs.w, remove(include(alice, "a.g1")), remove(exclude(alice, "c.g1")))
		wantMembership(t, bs.r, alice, []string{"b.g1"}, nil)
		wantMembership(t, bs.r, bob, []string{"a.g1"}, nil)
		// Removing what is absent (wrong set, unknown hash) changes nothing.
		mustApply(t, bs.w, remove(exclude(alice, "b.g1")), remove(include(carol, "a.g1")))
		wantMembership(t, bs.r, alice, []string{"b.g1"}, nil)
		wantMembership(t, bs.r, carol, nil, nil)
		mustApply(t, bs.w, remove(include(alice, "b.g1")))
		wantMembership(t, bs.r, alice, nil, nil)
	})

	t.Run("ReapplyIsIdempotent", func(t X) {
		bs := openBigSegments(t, h, "bs-idem")
		changes := []store.MembershipChange{
			include(alice, "a.g1"), exclude(alice, "b.g1"), include(bob, "a.g1"),
			remove(include(bob, "a.g1")), include(carol, "a.g1"),
		}
		for range 3 {
			mustApply(t, bs.w, changes...)
			wantMembership(t, bs.r, alice, []string{"a.g1"}, []string{"b.g1"})
			wantMembership(t, bs.r, bob, nil, nil)
			wantMembership(t, bs.r, carol, []string{"a.g1"}, nil)
		}
		// Changes apply in order: the last change to a ref wins.
		mustApply(t, bs.w, include(bob, "z.g1"), remove(include(bob, "z.g1")), include(bob, "z.g1"))
		wantMembership(t, bs.r, bob, []string{"z.g1"}, nil)
		mustApply(t, bs.w)
		wantMembership(t, bs.r, bob, []string{"z.g1"}, nil)
	})

	t.Run("SynchronizedOn", func(t X) {
		bs := openBigSegments(t, h, "bs-sync")
		other := openBigSegments(t, h, "bs-sync")
		got, ok, err := bs.r.SynchronizedOn(t.Context())
		if err != nil {
			t.Fatalf("SynchronizedOn: %v", err)
		}
		if ok {
			t.Fatalf("SynchronizedOn on a fresh prefix = %v, ok=true; want ok=false", got)
		}
		// Membership writes do not set it.
		mustApply(t, bs.w, include(alice, "a.g1"))
		if got, ok, err := bs.r.SynchronizedOn(t.Context()); err != nil || ok {
			t.Fatalf("SynchronizedOn after ApplyMembership = %v, %v, %v; want ok=false", got, ok, err)
		}
		for _, when := range []time.Time{
			time.Date(2024, 2, 29, 12, 34, 56, 789_654_321, time.UTC),
			time.Now(),
			time.Date(2021, 1, 1, 0, 0, 0, 1_000_000, time.FixedZone("x", 3600)),
		} {
			if err := bs.w.SetSynchronizedOn(t.Context(), when); err != nil {
				t.Fatalf("SetSynchronizedOn: %v", err)
			}
			for _, r := range []store.BigSegmentReader{bs.r, other.r} {
				got, ok, err := r.SynchronizedOn(t.Context())
				if err != nil || !ok {
					t.Fatalf("SynchronizedOn = %v, %v, %v; want %v", got, ok, err, when)
				}
				if got.UnixMilli() != when.UnixMilli() {
					t.Errorf("SynchronizedOn = %v (%d ms), want %v (%d ms)", got, got.UnixMilli(), when, when.UnixMilli())
				}
			}
		}
	})

	t.Run("PrefixesIsolate", func(t X) {
		a := openBigSegments(t, h, "bs-iso")
		b := openBigSegments(t, h, "bs-iso-b")
		mustApply(t, a.w, include(alice, "a.g1"))
		if err := a.w.SetSynchronizedOn(t.Context(), time.Now()); err != nil {
			t.Fatalf("SetSynchronizedOn: %v", err)
		}
		wantMembership(t, b.r, alice, nil, nil)
		if _, ok, err := b.r.SynchronizedOn(t.Context()); err != nil || ok {
			t.Fatalf("SynchronizedOn on another prefix: ok=%v, err=%v; want ok=false", ok, err)
		}
	})

	t.Run("Scan", func(t X) {
		bs := openBigSegments(t, h, "bs-scan")
		sc, ok := bs.r.(store.MembershipScanner)
		if !ok {
			sc, ok = bs.w.(store.MembershipScanner)
		}
		if !ok {
			t.Skip("neither reader nor writer implements store.MembershipScanner")
		}
		mustApply(t, bs.w, include(alice, "a.g1"), exclude(alice, "b.g1"), include(bob, "a.g1"), include(carol, "x.g1"))
		mustApply(t, bs.w, remove(include(carol, "x.g1")))
		got := map[string]store.Membership{}
		err := sc.ScanMembership(t.Context(), func(hash string, m store.Membership) error {
			if _, dup := got[hash]; dup {
				return fmt.Errorf("hash %q reported twice", hash)
			}
			got[hash] = m
			return nil
		})
		if err != nil {
			t.Fatalf("ScanMembership: %v", err)
		}
		want := map[string]store.Membership{
			alice: {Included: []string{"a.g1"}, Excluded: []string{"b.g1"}},
			bob:   {Included: []string{"a.g1"}},
		}
		for hash, w := range want {
			m, ok := got[hash]
			if !ok {
				t.Errorf("ScanMembership did not report %q", hash)
				continue
			}
			if !slices.Equal(sorted(m.Included), sorted(w.Included)) || !slices.Equal(sorted(m.Excluded), sorted(w.Excluded)) {
				t.Errorf("ScanMembership(%q) = %+v, want %+v", hash, m, w)
			}
		}
		for hash, m := range got {
			if _, ok := want[hash]; ok {
				continue
			}
			// A hash whose sets became empty may still be listed, but empty.
			if hash != carol || len(m.Included)+len(m.Excluded) > 0 {
				t.Errorf("ScanMembership reported unexpected %q: %+v", hash, m)
			}
		}

		stop := errors.New("stop")
		calls := 0
		err = sc.ScanMembership(t.Context(), func(string, store.Membership) error {
			calls++
			return stop
		})
		if !errors.Is(err, stop) {
			t.Errorf("ScanMembership returned %v, want the callback's error", err)
		}
		if calls != 1 {
			t.Errorf("ScanMembership called fn %d times after it returned an error, want 1", calls)
		}
	})

	t.Run("CanceledContextIsError", func(t X) {
		bs := openBigSegments(t, h, "bs-canceled")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := bs.r.Membership(ctx, alice); err == nil {
			t.Errorf("Membership with a canceled context returned a nil error")
		}
		if _, _, err := bs.r.SynchronizedOn(ctx); err == nil {
			t.Errorf("SynchronizedOn with a canceled context returned a nil error")
		}
		if err := bs.w.ApplyMembership(ctx, []store.MembershipChange{include(alice, "a.g1")}); err == nil {
			t.Errorf("ApplyMembership with a canceled context returned a nil error")
		}
		if err := bs.w.SetSynchronizedOn(ctx, time.Now()); err == nil {
			t.Errorf("SetSynchronizedOn with a canceled context returned a nil error")
		}
		wantMembership(t, bs.r, alice, nil, nil)
	})
}
