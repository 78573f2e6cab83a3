package dynamodb

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// Benchmarks run against the server at DAEMONFLAG_DYNAMODB_ENDPOINT and are
// skipped without one. The store has no cache, so every Get is what a cache
// miss costs.

// benchFlag is a flag of a typical size (about 600 bytes of JSON).
func benchFlag(key string, version int) store.Item {
	data := fmt.Appendf(nil, `{"key":%q,"version":%d,"on":true,"prerequisites":[],"salt":"%s",`+
		`"targets":[{"values":["u1","u2","u3"],"variation":0}],"contextTargets":[],`+
		`"rules":[{"id":"r1","clauses":[{"contextKind":"user","attribute":"email","op":"endsWith","values":["@example.com"],"negate":false}],"variation":0,"trackEvents":false},`+
		`{"id":"r2","clauses":[{"contextKind":"user","attribute":"country","op":"in","values":["fr","de","nl","be","lu"],"negate":false}],"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}],`+
		`"fallthrough":{"variation":1},"offVariation":1,"variations":[true,false],"clientSide":false,"trackEvents":false,"trackEventsFallthrough":false,"debugEventsUntilDate":null}`,
		key, version, strings.Repeat("s", 32))
	return store.Item{Version: version, Data: data}
}

func benchFlags(n, version int) []store.Collection {
	items := make([]store.KeyedItem, n)
	for i := range items {
		k := fmt.Sprintf("flag-%05d", i)
		items[i] = store.KeyedItem{Key: k, Item: benchFlag(k, version)}
	}
	return []store.Collection{{Kind: store.Features, Items: items}}
}

func BenchmarkGet(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-get"))
	if _, err := st.Upsert(b.Context(), store.Features, "f", benchFlag("f", 1)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, found, err := st.Get(b.Context(), store.Features, "f"); err != nil || !found {
			b.Fatal(found, err)
		}
	}
}

// BenchmarkGetItemRaw is a bare consistent GetItem of the same item, for
// comparison with BenchmarkGet.
func BenchmarkGetItemRaw(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-raw"))
	if _, err := st.Upsert(b.Context(), store.Features, "f", benchFlag("f", 1)); err != nil {
		b.Fatal(err)
	}
	c, table := rawClient(b)
	in := &ddb.GetItemInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"namespace": avS(st.namespace("features")), "key": avS("f")},
	}
	for b.Loop() {
		out, err := c.GetItem(b.Context(), in)
		if err != nil || len(out.Item) == 0 {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetAll1000(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-all"))
	if err := st.Init(b.Context(), benchFlags(1000, 1)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		all, err := st.GetAll(b.Context(), store.Features)
		if err != nil || len(all) != 1000 {
			b.Fatal(len(all), err)
		}
	}
}

func BenchmarkMembership(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-member"))
	hash := "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0="
	changes := []store.MembershipChange{
		{ContextHash: hash, SegmentRef: "seg-a.g1"}, {ContextHash: hash, SegmentRef: "seg-b.g3"},
		{ContextHash: hash, SegmentRef: "seg-c.g1", Excluded: true},
	}
	if err := st.ApplyMembership(b.Context(), changes); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		m, err := st.Membership(b.Context(), hash)
		if err != nil || len(m.Included) != 2 {
			b.Fatal(m, err)
		}
	}
}

// BenchmarkInit10000 replaces a dataset of 10,000 flags (same keys, new
// versions): serially and with parallel batch writers.
func BenchmarkInit10000(b *testing.B) {
	data := benchFlags(10000, 1)
	for _, conc := range []int{1, defaultWriteConcurrency} {
		b.Run(fmt.Sprintf("writers=%d", conc), func(b *testing.B) {
			opts := testOptions(b, uniquePrefix("bench-init"))
			opts.WriteConcurrency = conc
			st, err := New(b.Context(), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			start := time.Now()
			n := 0
			for b.Loop() {
				if err := st.Init(b.Context(), data); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(10000*n)/time.Since(start).Seconds(), "items/s")
		})
	}
}

// BenchmarkApplyMembership10000 adds 10,000 contexts to a segment: one
// UpdateItem per context, WriteConcurrency in flight.
func BenchmarkApplyMembership10000(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-import"))
	changes := make([]store.MembershipChange, 10000)
	for i := range changes {
		changes[i] = store.MembershipChange{ContextHash: fmt.Sprintf("hash-%06d", i), SegmentRef: "big.g1"}
	}
	start := time.Now()
	n := 0
	for b.Loop() {
		if err := st.ApplyMembership(b.Context(), changes); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(len(changes)*n)/time.Since(start).Seconds(), "keys/s")
}

// BenchmarkUpsert writes a newer version of one flag each time: the
// conditional PutItem and the change-log update (a GetItem and a
// conditional PutItem of a small item).
func BenchmarkUpsert(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-upsert"))
	v := 0
	for b.Loop() {
		v++
		if _, err := st.Upsert(b.Context(), store.Features, "f", benchFlag("f", v)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUpsertBatch50 writes a newer version of 50 flags in one
// UpsertBatch: 50 conditional puts and one change-log update.
func BenchmarkUpsertBatch50(b *testing.B) {
	st := newTestStore(b, uniquePrefix("bench-batch"))
	v := 0
	for b.Loop() {
		v++
		updates := make([]store.ItemUpdate, 50)
		for i := range updates {
			k := fmt.Sprintf("flag-%02d", i)
			updates[i] = store.ItemUpdate{Kind: store.Features, Key: k, Item: benchFlag(k, v)}
		}
		if _, err := st.UpsertBatch(b.Context(), updates); err != nil {
			b.Fatal(err)
		}
	}
}
