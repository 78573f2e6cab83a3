package bigsegments_test

import (
	"context"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/store"
)

// forEachBackendB runs fn as a sub-benchmark on each backend, with alice
// included in s.g1 and excluded from t.g1.
func forEachBackendB(b *testing.B, fn func(b *testing.B, r store.BigSegmentReader)) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			r, w := be.open(b)
			ctx := context.Background()
			if err := w.ApplyMembership(ctx, []store.MembershipChange{
				{ContextHash: store.ContextHash("alice"), SegmentRef: "s.g1"},
				{ContextHash: store.ContextHash("alice"), SegmentRef: "t.g1", Excluded: true},
			}); err != nil {
				b.Fatal(err)
			}
			if err := w.SetSynchronizedOn(ctx, time.Now()); err != nil {
				b.Fatal(err)
			}
			fn(b, r)
		})
	}
}

// BenchmarkMembershipCachedNoAlloc is a lookup that hits the cache, followed
// by two segment checks, as in an evaluation of a recently seen context: it
// must not allocate.
func BenchmarkMembershipCachedNoAlloc(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, r store.BigSegmentReader) {
		m, err := bigsegments.New(bigsegments.Options{Store: r, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		ctx := context.Background()
		m.Membership(ctx, "alice")
		b.ReportAllocs()
		for b.Loop() {
			ms, _ := m.Membership(ctx, "alice")
			if inc, _ := ms.CheckMembership("s.g1"); !inc {
				b.Fatal("alice not included")
			}
			if inc, known := ms.CheckMembership("t.g1"); inc || !known {
				b.Fatal("alice not excluded")
			}
		}
	})
}

// BenchmarkMembershipUncached is a lookup that misses the cache: one store
// round trip, hashing and building the set. Compare with
// BenchmarkStoreRoundTrip, the bare read.
func BenchmarkMembershipUncached(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, r store.BigSegmentReader) {
		// With room for one entry, alternating two keys always misses.
		m, err := bigsegments.New(bigsegments.Options{Store: r, CacheSize: 1, CacheTTL: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		ctx := context.Background()
		keys := [2]string{"alice", "bob"}
		m.Status()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			m.Membership(ctx, keys[i&1])
			i++
		}
	})
}

// BenchmarkStoreRoundTrip is the bare store read under
// BenchmarkMembershipUncached.
func BenchmarkStoreRoundTrip(b *testing.B) {
	forEachBackendB(b, func(b *testing.B, r store.BigSegmentReader) {
		ctx := context.Background()
		h := store.ContextHash("alice")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Membership(ctx, h); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkContextHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		store.ContextHash("user-key-0123456789")
	}
}
