package client_test

import (
	"strconv"
	"testing"

	"github.com/daemonflag/daemonflag/client"
)

// BenchmarkBoolVariationStatsNoAlloc is BenchmarkBoolVariationNoAlloc with
// the stats counters on (the default), stated explicitly: warm evaluation
// must not allocate with them.
func BenchmarkBoolVariationStatsNoAlloc(b *testing.B) {
	c, _ := benchClient(b, client.Config{Stats: client.StatsConfig{}})
	benchBoolVariation(b, c)
	b.StopTimer()
	if st := c.Stats(); len(st.Evaluations) != 1 || st.Evaluations[0].Total() < uint64(b.N) {
		b.Fatalf("stats did not count: %+v", st.Evaluations)
	}
}

// BenchmarkStatsOverhead compares BoolVariation with the evaluation
// counters off and on, serially and in parallel (where the counters' cache
// lines are shared between cores).
func BenchmarkStatsOverhead(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  client.StatsConfig
	}{{"off", client.StatsConfig{Disabled: true}}, {"on", client.StatsConfig{}}} {
		c, _ := benchClient(b, client.Config{Stats: tc.cfg})
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				boolSink, _ = c.BoolVariation("bench-flag", benchContext, false)
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.BoolVariation("bench-flag", benchContext, false)
				}
			})
		})
	}
}

// BenchmarkStatsSnapshot measures Stats with 1,000 flags counted.
func BenchmarkStatsSnapshot(b *testing.B) {
	c, _ := benchClient(b, client.Config{})
	for i := range 1000 {
		c.BoolVariation(string(rune('a'+i%26))+itoa(i), benchContext, false)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Stats()
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
