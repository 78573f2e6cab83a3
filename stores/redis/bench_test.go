package redis

import (
	"context"
	"fmt"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// Benchmarks run against the servers scripts/redis.sh starts (they skip
// without them). Each store benchmark has a Raw counterpart on the same
// server: a plain go-redis GET of a missing key, one round trip.
//
//	eval "$(scripts/redis.sh start)"
//	go test -run '^$' -bench . -benchmem ./stores/redis/

// benchTarget is a deployment to benchmark on.
type benchTarget struct {
	name string
	open func(b *testing.B, prefix string) *Store
	raw  func(b *testing.B) goredis.UniversalClient
}

func benchTargets() []benchTarget {
	return []benchTarget{
		{"single",
			func(b *testing.B, p string) *Store { return openSingle(b, testPrefix(p)) },
			func(b *testing.B) goredis.UniversalClient { return rawSingle(b) }},
		{"cluster",
			func(b *testing.B, p string) *Store { return openCluster(b, taggedPrefix(p), false) },
			func(b *testing.B) goredis.UniversalClient { return rawCluster(b) }},
	}
}

// benchFlag is a flag of realistic size (about 600 bytes).
func benchFlag(key string, version int) store.Item {
	data := fmt.Appendf(nil, `{"key":%q,"version":%d,"on":true,"prerequisites":[],"salt":"%s-salt",`+
		`"targets":[{"values":["user-1","user-2","user-3"],"variation":1}],"contextTargets":[],`+
		`"rules":[{"id":"r1","variation":1,"clauses":[{"contextKind":"user","attribute":"email","op":"endsWith",`+
		`"values":["@example.com","@example.org"],"negate":false}],"trackEvents":false}],`+
		`"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}},`+
		`"offVariation":0,"variations":[false,true],"clientSideAvailability":{"usingMobileKey":false,"usingEnvironmentId":false},`+
		`"clientSide":false,"trackEvents":false,"trackEventsFallthrough":false,"deleted":false}`, key, version, key)
	return store.Item{Version: version, Data: data}
}

func benchFlags(n int) []store.KeyedItem {
	items := make([]store.KeyedItem, n)
	for i := range items {
		k := fmt.Sprintf("flag-%05d", i)
		items[i] = store.KeyedItem{Key: k, Item: benchFlag(k, 1)}
	}
	return items
}

// BenchmarkRawGET is the round trip of the server: GET of a missing key.
func BenchmarkRawGET(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			c := tg.raw(b)
			ctx := context.Background()
			key := taggedPrefix("bench-raw") + ":missing"
			for b.Loop() {
				if err := c.Get(ctx, key).Err(); err != goredis.Nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetMiss is a cache miss for a key the store does not hold: one HGET.
func BenchmarkGetMiss(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-miss")
			ctx := context.Background()
			for b.Loop() {
				if _, found, err := s.Get(ctx, store.Features, "no-such-flag"); err != nil || found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// BenchmarkGetHit reads one stored flag of about 600 bytes.
func BenchmarkGetHit(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-hit")
			ctx := context.Background()
			if _, err := s.Upsert(ctx, store.Features, "f", benchFlag("f", 1)); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, found, err := s.Get(ctx, store.Features, "f"); err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

// BenchmarkGetAll1000 reads 1,000 flags of about 600 bytes: one HGETALL.
func BenchmarkGetAll1000(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-getall")
			ctx := context.Background()
			if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: benchFlags(1000)}}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				items, err := s.GetAll(ctx, store.Features)
				if err != nil || len(items) != 1000 {
					b.Fatal(len(items), err)
				}
			}
		})
	}
}

// BenchmarkMembership looks up one context's big-segment membership: two
// SMEMBERS in one pipelined round trip.
func BenchmarkMembership(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-membership")
			ctx := context.Background()
			h := contextHash("user-key")
			err := s.ApplyMembership(ctx, []store.MembershipChange{
				{ContextHash: h, SegmentRef: "a.g1"}, {ContextHash: h, SegmentRef: "b.g2"},
				{ContextHash: h, SegmentRef: "c.g1", Excluded: true},
			})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				m, err := s.Membership(ctx, h)
				if err != nil || len(m.Included) != 2 {
					b.Fatal(m, err)
				}
			}
		})
	}
}

// BenchmarkInit10000 replaces a dataset of 10,000 flags (about 6 MB) in one
// MULTI/EXEC.
func BenchmarkInit10000(b *testing.B) {
	data := []store.Collection{{Kind: store.Features, Items: benchFlags(10000)}}
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-init")
			ctx := context.Background()
			for b.Loop() {
				if err := s.Init(ctx, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpsert writes a newer version of one flag each time.
func BenchmarkUpsert(b *testing.B) {
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-upsert")
			ctx := context.Background()
			items := make([]store.Item, 0, 1024)
			for i := range 1024 {
				items = append(items, benchFlag("f", i+1))
			}
			v := 0
			for b.Loop() {
				it := items[v%len(items)]
				it.Version = v + 1
				if _, err := s.Upsert(ctx, store.Features, "f", it); err != nil {
					b.Fatal(err)
				}
				v++
			}
		})
	}
}

// BenchmarkApplyMembership100k imports 100,000 context keys into one segment
// generation; it reports keys/s.
func BenchmarkApplyMembership100k(b *testing.B) {
	const n = 100_000
	changes := make([]store.MembershipChange, n)
	for i := range changes {
		changes[i] = store.MembershipChange{ContextHash: contextHash(fmt.Sprintf("ctx-%d", i)), SegmentRef: "big.g1"}
	}
	for _, tg := range benchTargets() {
		b.Run(tg.name, func(b *testing.B) {
			s := tg.open(b, "bench-import")
			ctx := context.Background()
			for b.Loop() {
				if err := s.ApplyMembership(ctx, changes); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

// BenchmarkUpsert200 writes a newer version of 200 flags, as one pass of
// an edited flag file does: one Upsert each, or one UpsertBatch.
func BenchmarkUpsert200(b *testing.B) {
	for _, tg := range benchTargets() {
		for _, batch := range []bool{false, true} {
			name := tg.name + "/singly"
			if batch {
				name = tg.name + "/batch"
			}
			b.Run(name, func(b *testing.B) {
				s := tg.open(b, "bench-upsert200")
				ctx := context.Background()
				v := 0
				for b.Loop() {
					v++
					updates := make([]store.ItemUpdate, 200)
					for i := range updates {
						updates[i] = store.ItemUpdate{Kind: store.Features, Key: fmt.Sprintf("f%03d", i), Item: benchFlag("f", v)}
					}
					if batch {
						if _, err := s.UpsertBatch(ctx, updates); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for _, u := range updates {
						if _, err := s.Upsert(ctx, u.Kind, u.Key, u.Item); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}
