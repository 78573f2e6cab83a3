package writer_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/writer"
)

// wtBigFile returns a flag data file of n flags, each with targets, a rule
// and a rollout, and a few segments.
func wtBigFile(n int) string {
	var b strings.Builder
	b.WriteString(`{"segments": {"beta": {"included": ["u1", "u2"]}, "staff": {"rules": [{"clauses": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}]}]}}, "flags": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"flag-%05d": {"on": true, "variations": [false, true], "offVariation": 0, "salt": "salt-%d",
			"targets": [{"values": ["user-%d", "user-%d"], "variation": 1}],
			"rules": [{"id": "rule-%d", "clauses": [{"attribute": "key", "op": "segmentMatch", "values": ["beta"]}], "variation": 1},
			          {"id": "plan-%d", "clauses": [{"attribute": "plan", "op": "in", "values": ["gold", "platinum"]}], "variation": 1}],
			"fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 90000}, {"variation": 1, "weight": 10000}]}}}`,
			i, i, i, i+1, i, i)
	}
	b.WriteString("}}")
	return b.String()
}

// BenchmarkWriteDataset writes 10,000 flags into a fresh dataset of each
// store with WriteDataset (validation, version planning and one Init), and
// reports flags/s.
func BenchmarkWriteDataset(b *testing.B) {
	const n = 10000
	d, err := writer.Parse("bench.json", []byte(wtBigFile(n)))
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range testaddrs.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				s := wtOpen(b, be.Address(b))
				b.StartTimer()
				start := time.Now()
				if _, err := writer.WriteDataset(ctx, s, d); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "flags/s")
		})
	}
}

// BenchmarkRewriteUnchanged writes the same 10,000 flags over themselves:
// the cost of a write (or a sync pass) when nothing changed, dominated by
// reading and comparing the stored items.
func BenchmarkRewriteUnchanged(b *testing.B) {
	const n = 10000
	d, err := writer.Parse("bench.json", []byte(wtBigFile(n)))
	if err != nil {
		b.Fatal(err)
	}
	for _, be := range testaddrs.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			s := wtOpen(b, be.Address(b))
			if _, err := writer.WriteDataset(ctx, s, d); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				sum, err := writer.WriteDataset(ctx, s, d)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Changed != 0 {
					b.Fatalf("%d changed", sum.Changed)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flags/s")
		})
	}
}

// BenchmarkLoadAndValidate measures parsing and validating a file of
// 10,000 flags, without a store.
func BenchmarkLoadAndValidate(b *testing.B) {
	data := []byte(wtBigFile(10000))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		d, err := writer.Parse("bench.json", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := writer.Validate(d); err != nil {
			b.Fatal(err)
		}
	}
}
