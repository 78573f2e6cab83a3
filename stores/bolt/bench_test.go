package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
