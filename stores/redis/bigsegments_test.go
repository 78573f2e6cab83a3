package redis

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// TestScanMembershipLarge scans more memberships than one SCAN batch holds,
// with hashes that have only an include set, only an exclude set, or both,
// and a prefix whose characters are special in SCAN patterns.
func TestScanMembershipLarge(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *Store
	}{
		{"single", func(t *testing.T) *Store { return openSingle(t, testPrefix("scan*[x]?")) }},
		{"cluster", func(t *testing.T) *Store { return openCluster(t, taggedPrefix("scan*[x]?"), false) }},
		{"cluster-unhashed", func(t *testing.T) *Store { return openCluster(t, testPrefix("scan-unhashed"), true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			s := tc.open(t)
			// A neighbour prefix that a loose pattern would match.
			neighbour := openSingle(t, testPrefix("scan"))
			if err := neighbour.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: "n", SegmentRef: "x.g1"}}); err != nil {
				t.Fatal(err)
			}
			const inc, exc, both = 2500, 600, 300
			var changes []store.MembershipChange
			want := map[string]store.Membership{}
			for i := range inc + exc + both {
				h := contextHash(fmt.Sprintf("ctx-%d", i))
				var m store.Membership
				if i < inc || i >= inc+exc {
					changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: "seg.g1"})
					m.Included = []string{"seg.g1"}
				}
				if i >= inc {
					changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: "seg.g2", Excluded: true})
					m.Excluded = []string{"seg.g2"}
				}
				want[h] = m
			}
			start := time.Now()
			if err := s.ApplyMembership(ctx, changes); err != nil {
				t.Fatal(err)
			}
			t.Logf("applied %d changes in %v", len(changes), time.Since(start))
			got := map[string]store.Membership{}
			err := s.ScanMembership(ctx, func(h string, m store.Membership) error {
				if _, dup := got[h]; dup {
					return fmt.Errorf("hash %s reported twice", h)
				}
				got[h] = m
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("scanned %d memberships, want %d", len(got), len(want))
			}
			for h, w := range want {
				g := got[h]
				if !slices.Equal(g.Included, w.Included) || !slices.Equal(g.Excluded, w.Excluded) {
					t.Fatalf("hash %s: got %+v, want %+v", h, g, w)
				}
			}
			// fn's error stops the scan and comes back unchanged.
			stop := errors.New("stop here")
			calls := 0
			err = s.ScanMembership(ctx, func(string, store.Membership) error { calls++; return stop })
			if err != stop || calls != 1 {
				t.Errorf("ScanMembership with a failing fn = %v after %d calls; want the fn's error after 1", err, calls)
			}
		})
	}
}
