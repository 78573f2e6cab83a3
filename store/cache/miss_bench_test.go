package cache

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
)

// typicalFlag is a flag of about 700 bytes of JSON (ten targets, two rules,
// a rollout), as in the bench module's 10,000-flag dataset.
func typicalFlag(key string) store.KeyedItem {
	var vips []string
	for i := range 10 {
		vips = append(vips, fmt.Sprintf(`"vip-%d"`, i))
	}
	data := `{"key":"` + key + `","version":1,"on":true,"variations":[false,true],"offVariation":0,"salt":"` + key + `-salt",` +
		`"targets":[{"variation":1,"values":[` + strings.Join(vips, ",") + `]}],` +
		`"rules":[{"id":"r1","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.org"]}]},` +
		`{"id":"r2","variation":0,"clauses":[{"attribute":"country","op":"in","values":["fr","de","it"]}]}],` +
		`"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":30000},{"variation":1,"weight":70000}]}}}`
	return store.KeyedItem{Key: key, Item: store.Item{Version: 1, Data: []byte(data)}}
}

// BenchmarkFlagMiss is the first lookup of each of 10,000 flags in an
// in-memory store (no network): a cache miss, whose cost is the store read,
// the decoding of the flag and the cache's own bookkeeping. "decode" is
// model.DecodeFlag of the same documents alone, so the difference is the
// cache's share. A new cache is made, untimed, when every flag was read.
func BenchmarkFlagMiss(b *testing.B) {
	s := newMemStore()
	var flags []store.KeyedItem
	for i := range 10000 {
		flags = append(flags, typicalFlag(fmt.Sprintf("flag-%05d", i)))
	}
	initStore(b, s, flags, nil)
	ctx := context.Background()
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if _, err := model.DecodeFlag(flags[i%len(flags)].Item.Data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("miss", func(b *testing.B) {
		var x *Cache
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			if i%len(flags) == 0 {
				b.StopTimer()
				if x != nil {
					x.Close()
				}
				x = New(s, Options{Logger: slog.New(slog.DiscardHandler)})
				if _, err := x.GetFlag(ctx, "absent"); err != nil { // the first reads wait for the first check
					b.Fatal(err)
				}
				b.StartTimer()
			}
			if f, err := x.GetFlag(ctx, flags[i%len(flags)].Key); f == nil || err != nil {
				b.Fatalf("GetFlag: %v, %v", f, err)
			}
		}
		b.StopTimer()
		x.Close()
	})
}

// BenchmarkFlagMissUnknown is the lookup of a key the store does not have,
// with 10,000 flags cached: a store read, and no walk over the cached flags
// (none names the key).
func BenchmarkFlagMissUnknown(b *testing.B) {
	s := newMemStore()
	var flags []store.KeyedItem
	for i := range 10000 {
		flags = append(flags, typicalFlag(fmt.Sprintf("flag-%05d", i)))
	}
	initStore(b, s, flags, nil)
	ctx := context.Background()
	x := New(s, Options{Logger: slog.New(slog.DiscardHandler)})
	defer x.Close()
	if all, err := x.AllFlags(ctx); err != nil || len(all) != len(flags) {
		b.Fatalf("AllFlags: %d flags, %v", len(all), err)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if f, err := x.GetFlag(ctx, "unknown-"+strconv.Itoa(i)); f != nil || err != nil {
			b.Fatalf("GetFlag: %v, %v", f, err)
		}
	}
}
