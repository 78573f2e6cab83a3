package cache

import (
	"hash/maphash"
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
// start) for applyAll and directAll (see decodeItem for an unparsed
// result): it finds or creates each item's slot (when cache is set) on the
// calling goroutine, then decodes the items, reusing a slot's value whose
// stored content is unchanged (see decode). Decoding is most of the work of
// reading all items, so for a large result it is spread over up to
// GOMAXPROCS goroutines, the calling one included, which all finish before
// it returns: a cold all-flags read then takes a fraction of the time on a
// machine with idle cores (the CPU time is the same). It installs nothing:
// applyAll installs the results in order.
func (k *kind[T]) decodeAll(items []store.KeyedItem, unparsed, cache bool, seq uint64, start int64) []decoded[T] {
	out := make([]decoded[T], len(items))
	if cache {
		k.slots.loadOrCreateAll(len(items), func(i int) string { return items[i].Key },
			func(i int, s *slot[T]) { out[i].s = s })
	}
	one := func(i int) {
		d := &out[i]
		if d.s != nil {
			d.old = d.s.e.Load()
		}
		d.e, d.err = k.decodeItem(d.old, &items[i], unparsed, seq, start)
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

// decodeItem is decode of the item ki, read at seq (begun at start); if
// unparsed, ki holds only the stored JSON (store.UnparsedReader), and
// afterwards the Item store.ItemFromStored makes of it when that was
// needed.
func (k *kind[T]) decodeItem(old *entry[T], ki *store.KeyedItem, unparsed bool, seq uint64, start int64) (*entry[T], error) {
	if unparsed && k.codec.version != nil {
		if e, known, err := k.decodeUnparsed(old, ki, seq, start); known {
			return e, err
		}
	}
	if unparsed {
		ki.Item = store.ItemFromStored(ki.Item.Data)
	}
	return k.decode(old, ki.Item, seq, start)
}

// exactInt is the largest magnitude up to which every integer is exact in
// a float64 (2^53), as the model's decoder reads numbers.
const exactInt = 1 << 53

// decodeUnparsed is decode of the stored JSON in ki.Item.Data reading it
// once, where building its Item first (store.ItemFromStored) would read it
// twice: content the same as old's keeps old's value and version (the
// version is part of the content); other content is decoded, and a decoded
// value takes its version and deletion from itself. Those equal what
// store.ParseVersion reads for every item the decoder accepts, with one
// kind of exception that decides nothing: a version written as a fraction
// or with an exponent but whole (3.0, 1e2), which ParseVersion refuses
// (GetAll then gives version 0) and the decoder reads (3, 100): the value,
// its liveness and every other entry field are the same, and the version
// only tells entries of the same key apart, all read the same way. An
// item the decoder refuses gets its Item from store.ItemFromStored, as
// decode would: a tombstone by its "deleted" (whatever else is wrong with
// it), otherwise the decoder's error. known is false when it cannot tell
// (a version beyond float64's exact integers): decode the Item instead.
func (k *kind[T]) decodeUnparsed(old *entry[T], ki *store.KeyedItem, seq uint64, start int64) (e *entry[T], known bool, err error) {
	data := ki.Item.Data
	e = &entry[T]{exists: true, seq: seq, hash: maphash.Bytes(hashSeed, data)}
	e.refreshAt, e.expires = k.c.life(start, true)
	if old != nil && old.exists && old.err == nil && old.hash == e.hash {
		e.version, e.val, e.live = old.version, old.val, old.live
		return e, true, nil
	}
	v, err := k.codec.decode(data)
	if err != nil {
		ki.Item = store.ItemFromStored(data)
		e.version = ki.Item.Version
		if ki.Item.Deleted {
			return e, true, nil
		}
		return e, true, err
	}
	if e.version = k.codec.version(v); e.version > exactInt || e.version < -exactInt {
		return nil, false, nil
	}
	if k.codec.deleted == nil || !k.codec.deleted(v) {
		if k.codec.deps != nil {
			k.c.named.add(k.codec.deps(v)) // before anyone can see v, as decode does (see beforeRemoving)
		}
		e.val, e.live = v, true
	}
	return e, true, nil
}
