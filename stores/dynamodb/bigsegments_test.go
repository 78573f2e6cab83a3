package dynamodb

import (
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

func rawMembershipItem(t *testing.T, st *Store, hash string) map[string]types.AttributeValue {
	t.Helper()
	c, table := rawClient(t)
	out, err := c.GetItem(t.Context(), &ddb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"namespace": avS(st.namespace(bigSegUserNS)), "key": avS(hash)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func wantRefs(t *testing.T, st *Store, hash string, included, excluded []string) {
	t.Helper()
	m, err := st.Membership(t.Context(), hash)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(m.Included)
	slices.Sort(m.Excluded)
	if !slices.Equal(m.Included, included) || !slices.Equal(m.Excluded, excluded) {
		t.Fatalf("Membership(%s) = %v / %v, want %v / %v", hash, m.Included, m.Excluded, included, excluded)
	}
}

func TestApplyMembershipItems(t *testing.T) {
	st := newTestStore(t, uniquePrefix("bs"))
	apply := func(changes ...store.MembershipChange) {
		t.Helper()
		if err := st.ApplyMembership(t.Context(), changes); err != nil {
			t.Fatal(err)
		}
	}
	inc := func(h, ref string) store.MembershipChange {
		return store.MembershipChange{ContextHash: h, SegmentRef: ref}
	}
	rm := func(c store.MembershipChange) store.MembershipChange { c.Remove = true; return c }

	// Removing from a context that has no item creates none.
	apply(rm(inc("nobody", "a.g1")))
	if it := rawMembershipItem(t, st, "nobody"); len(it) != 0 {
		t.Fatalf("removal created an item: %v", keys(it))
	}

	// One set gains and loses references in one call.
	apply(inc("h1", "a.g1"), inc("h1", "b.g1"))
	apply(rm(inc("h1", "a.g1")), inc("h1", "c.g1"), store.MembershipChange{ContextHash: "h1", SegmentRef: "x.g1", Excluded: true})
	wantRefs(t, st, "h1", []string{"b.g1", "c.g1"}, []string{"x.g1"})

	// An item left with no references is deleted.
	apply(rm(inc("h1", "b.g1")), rm(inc("h1", "c.g1")), rm(store.MembershipChange{ContextHash: "h1", SegmentRef: "x.g1", Excluded: true}))
	if it := rawMembershipItem(t, st, "h1"); len(it) != 0 {
		t.Fatalf("emptied membership item still stored: %v", keys(it))
	}
	wantRefs(t, st, "h1", nil, nil)

	// Bad changes are errors, not requests.
	if err := st.ApplyMembership(t.Context(), []store.MembershipChange{{ContextHash: "", SegmentRef: "a.g1"}}); err == nil {
		t.Fatal("ApplyMembership accepted an empty context hash")
	}
}

func TestApplyMembershipManyContexts(t *testing.T) {
	st := newTestStore(t, uniquePrefix("bs-many"))
	const n = 1500
	var changes []store.MembershipChange
	for i := range n {
		h := fmt.Sprintf("hash-%05d", i)
		changes = append(changes, store.MembershipChange{ContextHash: h, SegmentRef: "big.g1", Excluded: i%10 == 0})
	}
	if err := st.ApplyMembership(t.Context(), changes); err != nil {
		t.Fatal(err)
	}
	count, excluded := 0, 0
	err := st.ScanMembership(t.Context(), func(h string, m store.Membership) error {
		count++
		excluded += len(m.Excluded)
		return nil
	})
	if err != nil || count != n || excluded != n/10 {
		t.Fatalf("scan: %d contexts, %d excluded, err %v; want %d, %d", count, excluded, err, n, n/10)
	}
	wantRefs(t, st, "hash-00010", nil, []string{"big.g1"})
	wantRefs(t, st, "hash-01499", []string{"big.g1"}, nil)
}

func TestSynchronizedOnUnset(t *testing.T) {
	st := newTestStore(t, uniquePrefix("bs-sync"))
	if _, ok, err := st.SynchronizedOn(t.Context()); err != nil || ok {
		t.Fatalf("SynchronizedOn on a fresh prefix = %v, %v; want not set", ok, err)
	}
}
