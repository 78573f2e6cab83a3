package cache

import (
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/store"
)

// decoded is one item of a GetAll result, decoded ahead of applyAll's
// installing loop.
type decoded[T any] struct {
	s   *slot[T]  // the item's slot; nil when not caching
	old *entry[T] // what the slot held when the item was decoded
	e   *entry[T] // the entry for the item (see decode)
	err error     // decode's error
}

const (
	// parallelDecodeMin is the smallest GetAll result whose decoding is
	// spread over several goroutines: decoding an item takes microseconds,
	// starting a goroutine about one.
	parallelDecodeMin = 256
	// decodeChunk is how many items a decoding goroutine takes at a time.
	decodeChunk = 32
)

// decodeAll decodes every item of a GetAll result read at seq (begun at
// start) for applyAll, first building each Item of an unparsed result (see
// applyItems) in place: it finds or creates each item's slot (when cache is
// set) on the calling goroutine, then decodes the items, reusing a slot's
// value whose stored content is unchanged (see decode). Decoding is most of
// the work of reading all items, so for a large result it is spread over up
// to GOMAXPROCS goroutines, the calling one included, which all finish
// before it returns: a cold all-flags read then takes a fraction of the
// time on a machine with idle cores (the CPU time is the same). Decoding
// has no effect on the cache; applyAll installs the results in order.
func (k *kind[T]) decodeAll(items []store.KeyedItem, unparsed, cache bool, seq uint64, start int64) []decoded[T] {
	out := make([]decoded[T], len(items))
	if cache {
		for i := range items {
			out[i].s = k.slots.loadOrCreate(items[i].Key)
		}
	}
	one := func(i int) {
		d := &out[i]
		if d.s != nil {
			d.old = d.s.e.Load()
		}
		if unparsed {
			items[i].Item = store.ItemFromStored(items[i].Item.Data)
		}
		d.e, d.err = k.decode(d.old, items[i].Item, seq, start)
	}
	workers := min(runtime.GOMAXPROCS(0), len(items)/(parallelDecodeMin/2))
	if len(items) < parallelDecodeMin || workers < 2 {
		for i := range items {
			one(i)
		}
		return out
	}
	var next atomic.Int64
	work := func() {
		for {
			end := int(next.Add(decodeChunk))
			begin := end - decodeChunk
			if begin >= len(items) {
				return
			}
			for i := begin; i < min(end, len(items)); i++ {
				one(i)
			}
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
	return out
}
