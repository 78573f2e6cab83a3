package bolt_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// flagData builds n flag-like items of about 1 KB each.
func flagData(n, version int) []store.Collection {
	pad := strings.Repeat("r", 900)
	items := make([]store.KeyedItem, n)
	for i := range items {
		key := fmt.Sprintf("flag-%05d", i)
		data := fmt.Appendf(nil, `{"key":%q,"version":%d,"on":true,"variations":[true,false],"salt":%q}`, key, version, pad)
		items[i] = store.KeyedItem{Key: key, Item: store.Item{Version: version, Data: data}}
	}
	return []store.Collection{{Kind: store.Features, Items: items}, {Kind: store.Segments}}
}

func benchStore(b *testing.B, n int, opts *bolt.Options) *bolt.Store {
	b.Helper()
	s, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if n >= 0 {
		if err := s.Init(context.Background(), flagData(n, 1)); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

func BenchmarkGet(b *testing.B) {
	for _, c := range []struct {
		name  string
		check bool
	}{{"CheckEveryRead", true}, {"CheckInterval100ms", false}} {
		b.Run(c.name, func(b *testing.B) {
			opts := &bolt.Options{}
			if !c.check {
				opts.CheckInterval = 100e6
			}
			s := benchStore(b, 10000, opts)
			ctx := context.Background()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				_, found, err := s.Get(ctx, store.Features, fmt.Sprintf("flag-%05d", i%10000))
				if err != nil || !found {
					b.Fatal(found, err)
				}
			}
		})
	}
}

func BenchmarkGetAll1000(b *testing.B) {
	s := benchStore(b, 1000, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		items, err := s.GetAll(ctx, store.Features)
		if err != nil || len(items) != 1000 {
			b.Fatal(len(items), err)
		}
	}
}

func BenchmarkInit10000(b *testing.B) {
	s := benchStore(b, -1, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Init(ctx, flagData(10000, i)); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(s.Path()); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	}
}

// BenchmarkInit10000BigSegments is BenchmarkInit10000 on a file that also
// holds big-segment memberships (DAEMONFLAG_BENCH_IMPORT_KEYS, default
// 100,000), which every Init copies into its new file.
func BenchmarkInit10000BigSegments(b *testing.B) {
	s := benchStore(b, -1, nil)
	importMembership(b, s, contextHashes(importKeys(b, 100_000)), "bench.g1")
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := s.Init(ctx, flagData(10000, i)); err != nil {
			b.Fatal(err)
		}
	}
	if fi, err := os.Stat(s.Path()); err == nil {
		b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
	}
}

func BenchmarkUpsert10000(b *testing.B) {
	for _, c := range []struct {
		name string
		opts bolt.Options
	}{
		{"InPlace", bolt.Options{}},
		{"InPlaceNoSync", bolt.Options{NoSync: true}},
		// What a write costs when a reader still holds the standby file.
		{"Copy", bolt.Options{}},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := benchStore(b, 10000, &c.opts)
			ctx := context.Background()
			s.SetForceCopy(c.name == "Copy")
			data := []byte(`{"key":"flag-00001","version":2}`)
			v := 2
			for b.Loop() {
				v++
				applied, err := s.Upsert(ctx, store.Features, "flag-00001", store.Item{Version: v, Data: data})
				if err != nil || !applied {
					b.Fatal(applied, err)
				}
			}
			in, cp := s.WriteCounts()
			b.ReportMetric(float64(cp-1)/float64(in+cp-1), "copies/op")
		})
	}
}

// importKeys is the key count of BenchmarkApplyMembership/Import:
// DAEMONFLAG_BENCH_IMPORT_KEYS, or def.
func importKeys(b *testing.B, def int) int {
	if v := os.Getenv("DAEMONFLAG_BENCH_IMPORT_KEYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("DAEMONFLAG_BENCH_IMPORT_KEYS=%q: want a positive integer", v)
		}
		return n
	}
	return def
}

// contextHashes returns n context hashes as store.ContextHash makes
// them: base64 of SHA-256, so random and 44 bytes each.
func contextHashes(n int) []string {
	hs := make([]string, n)
	for i := range hs {
		sum := sha256.Sum256(fmt.Appendf(nil, "user-%d", i))
		hs[i] = base64.StdEncoding.EncodeToString(sum[:])
	}
	return hs
}

// importMembership adds every hash to ref as membership.Import does:
// batches of 5000 changes, 4 in flight.
func importMembership(b *testing.B, s *bolt.Store, hashes []string, ref string) {
	const batchSize, inFlight = 5000, 4
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, inFlight)
		errs = make(chan error, inFlight)
	)
	for i := 0; i < len(hashes); i += batchSize {
		batch := make([]store.MembershipChange, 0, batchSize)
		for _, h := range hashes[i:min(i+batchSize, len(hashes))] {
			batch = append(batch, store.MembershipChange{ContextHash: h, SegmentRef: ref})
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.ApplyMembership(context.Background(), batch); err != nil {
				select {
				case errs <- err:
				default:
				}
			}
		})
	}
	wg.Wait()
	if err := s.SetSynchronizedOn(context.Background(), time.Now()); err != nil {
		b.Fatal(err)
	}
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// BenchmarkApplyMembership measures big-segment writes. Import adds N keys
// (DAEMONFLAG_BENCH_IMPORT_KEYS, default 100,000) to a new segment
// generation per iteration, into a store that keeps the earlier
// generations; Single adds one key per call to a store of 100,000
// memberships.
func BenchmarkApplyMembership(b *testing.B) {
	b.Run("Import", func(b *testing.B) {
		hashes := contextHashes(importKeys(b, 100_000))
		s := benchStore(b, -1, nil)
		b.ReportAllocs()
		gen := 0
		for b.Loop() {
			gen++
			importMembership(b, s, hashes, fmt.Sprintf("bench.g%d", gen))
		}
		b.ReportMetric(float64(len(hashes))*float64(gen)/b.Elapsed().Seconds(), "keys/s")
		in, cp := s.WriteCounts()
		b.Logf("%d writes in place, %d copied, %d compactions", in, cp, s.Compactions())
		if fi, err := os.Stat(s.Path()); err == nil {
			b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		}
	})
	// NoRuns is Import with every write applied to the membership blocks
	// in place: what the store would cost without runs and compaction.
	b.Run("ImportNoRuns", func(b *testing.B) {
		defer bolt.SetRunMin(1 << 62)()
		hashes := contextHashes(importKeys(b, 100_000))
		s := benchStore(b, -1, nil)
		b.ReportAllocs()
		gen := 0
		for b.Loop() {
			gen++
			importMembership(b, s, hashes, fmt.Sprintf("bench.g%d", gen))
		}
		b.ReportMetric(float64(len(hashes))*float64(gen)/b.Elapsed().Seconds(), "keys/s")
		if fi, err := os.Stat(s.Path()); err == nil {
			b.ReportMetric(float64(fi.Size())/1e6, "file-MB")
		}
	})
	// OneCall is Import as one ApplyMembership of every change: what a
	// bulk-import interface would cost at best through this store (one
	// sorted run, then the compaction).
	b.Run("ImportOneCall", func(b *testing.B) {
		hashes := contextHashes(importKeys(b, 100_000))
		s := benchStore(b, -1, nil)
		ctx := context.Background()
		b.ReportAllocs()
		gen := 0
		for b.Loop() {
			gen++
			all := make([]store.MembershipChange, len(hashes))
			for i, h := range hashes {
				all[i] = store.MembershipChange{ContextHash: h, SegmentRef: fmt.Sprintf("bench.g%d", gen)}
			}
			if err := s.ApplyMembership(ctx, all); err != nil {
				b.Fatal(err)
			}
			if err := s.SetSynchronizedOn(ctx, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(hashes))*float64(gen)/b.Elapsed().Seconds(), "keys/s")
	})
	// Update imports 10% of the keys (DAEMONFLAG_BENCH_UPDATE_PERCENT) to a
	// new generation into a store that holds them all: the daily import of
	// a big store.
	updateShare := 10
	if v, err := strconv.Atoi(os.Getenv("DAEMONFLAG_BENCH_UPDATE_PERCENT")); err == nil && v > 0 && v <= 100 {
		updateShare = v
	}
	{
		b.Run("Update", func(b *testing.B) {
			hashes := contextHashes(importKeys(b, 100_000))
			s := benchStore(b, -1, nil)
			importMembership(b, s, hashes, "bench.g0")
			update := hashes[:len(hashes)*updateShare/100]
			c0 := s.Compactions()
			b.ReportAllocs()
			gen := 0
			for b.Loop() {
				gen++
				importMembership(b, s, update, fmt.Sprintf("bench.g%d", gen))
			}
			b.ReportMetric(float64(len(update))*float64(gen)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(float64(s.Compactions()-c0)/float64(gen), "compactions/op")
		})
	}
	b.Run("Single", func(b *testing.B) {
		hashes := contextHashes(100_000)
		s := benchStore(b, -1, &bolt.Options{NoSync: true})
		importMembership(b, s, hashes, "bench.g1")
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			c := store.MembershipChange{ContextHash: hashes[i%len(hashes)], SegmentRef: "other.g1", Remove: i/len(hashes)%2 == 1}
			if err := s.ApplyMembership(ctx, []store.MembershipChange{c}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkMembership reads memberships from a store of 100,000: compacted
// (after an import), and in the middle of an import, with 15 runs.
func BenchmarkMembership(b *testing.B) {
	for _, c := range []struct {
		name string
		runs int
	}{{"Compacted", 0}, {"Runs15", 15}} {
		b.Run(c.name, func(b *testing.B) {
			hashes := contextHashes(100_000)
			s := benchStore(b, -1, &bolt.Options{NoSync: true})
			importMembership(b, s, hashes, "bench.g1")
			ctx := context.Background()
			for i := range c.runs {
				batch := make([]store.MembershipChange, 5000)
				for j := range batch {
					batch[j] = store.MembershipChange{ContextHash: hashes[(i*5000+j)%len(hashes)], SegmentRef: "bench.g2"}
				}
				if err := s.ApplyMembership(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			if n, err := s.Runs(); err != nil || n != c.runs {
				b.Fatalf("%d runs, %v; want %d", n, err, c.runs)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m, err := s.Membership(ctx, hashes[i%len(hashes)])
				if err != nil || len(m.Included) == 0 {
					b.Fatal(m, err)
				}
			}
		})
	}
}

// BenchmarkNotifyLatency measures how long after an Upsert returns another
// Store on the file (as another process would have) is notified of it:
// fsnotify on the directory, then a look at the new file's change log. The
// reader is told of the rename, which comes before the write's directory
// fsync: with fsync on, most notifications arrive before Upsert returns
// (after-return-µs is then 0).
func BenchmarkNotifyLatency(b *testing.B) {
	for _, c := range []struct {
		name string
		opts bolt.Options
	}{{"Fsync", bolt.Options{}}, {"NoSync", bolt.Options{NoSync: true}}} {
		b.Run(c.name, func(b *testing.B) {
			w := benchStore(b, 1000, &c.opts)
			r, err := bolt.Open(w.Path(), &bolt.Options{ReadOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			got := make(chan time.Time, 1024)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if err := r.Notify(ctx, func(cs []store.Change) {
				for _, ch := range cs {
					if ch.Key == "flag-00001" || ch.IsAll() {
						got <- time.Now()
						return
					}
				}
			}); err != nil {
				b.Fatal(err)
			}
			data := []byte(`{"key":"flag-00001","version":2}`)
			var lat, total []time.Duration
			v := 2
			for b.Loop() {
				v++
				start := time.Now()
				if _, err := w.Upsert(ctx, store.Features, "flag-00001", store.Item{Version: v, Data: data}); err != nil {
					b.Fatal(err)
				}
				wrote := time.Now()
				select {
				case at := <-got:
					lat = append(lat, max(at.Sub(wrote), 0))
					total = append(total, at.Sub(start))
				case <-time.After(10 * time.Second):
					b.Fatal("no notification within 10 s")
				}
			}
			slices.Sort(lat)
			slices.Sort(total)
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-after-return-µs")
			b.ReportMetric(float64(total[len(total)/2].Microseconds()), "p50-from-call-µs")
			b.ReportMetric(float64(total[len(total)*99/100].Microseconds()), "p99-from-call-µs")
		})
	}
}
