package relay

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// dataset is the relay's last complete dataset: the last Init, with every
// later upsert that raised an item's version. Its items share memory with
// the events they came from (which are never changed).
type dataset struct {
	complete bool
	gen      int // counts the Inits

	items map[store.Kind]map[string]store.Item
}

func (d *dataset) replace(all []store.Collection) {
	d.complete = true
	d.gen++
	d.items = make(map[store.Kind]map[string]store.Item, len(all))
	for _, c := range all {
		m := make(map[string]store.Item, len(c.Items))
		for _, it := range c.Items {
			m[it.Key] = it.Item
		}
		d.items[c.Kind] = m
	}
}

func (d *dataset) upsert(kind store.Kind, key string, it store.Item) {
	if !d.complete {
		return // an upsert before the first Init cannot make a dataset
	}
	m := d.items[kind]
	if m == nil {
		m = map[string]store.Item{}
		d.items[kind] = m
	}
	if old, ok := m[key]; !ok || it.Version > old.Version {
		m[key] = it
	}
}

// collections returns the dataset for Init: segments first (flags refer
// to them), keys in order.
func (d *dataset) collections() []store.Collection {
	out := []store.Collection{{Kind: store.Segments}, {Kind: store.Features}}
	for i := range out {
		m := d.items[out[i].Kind]
		for _, k := range slices.Sorted(maps.Keys(m)) {
			out[i].Items = append(out[i].Items, store.KeyedItem{Key: k, Item: m[k]})
		}
	}
	return out
}

// heal watches the store's initialized marker until ctx is done and writes
// the last complete dataset again when the store has lost it.
func (r *relay) heal(ctx context.Context, rd store.Reader) {
	wake := make(chan struct{}, 1)
	if n, ok := rd.(store.Notifier); ok {
		err := n.Notify(ctx, func([]store.Change) {
			select {
			case wake <- struct{}{}:
			default:
			}
		})
		if err != nil {
			r.log.Debug("relay: no store notifications; checking the store every interval", "interval", r.o.HealInterval, "err", err)
		}
	}
	t := time.NewTicker(r.o.HealInterval)
	defer t.Stop()
	var w watch
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-wake:
		}
		r.healOnce(ctx, rd, &w)
	}
}

// watch is what the healer saw of the marker since the relay's last Init.
type watch struct {
	gen     int  // the dataset generation (Init) it concerns
	seen    bool // the marker was there after that write
	missing int  // consecutive checks without it
}

// missingChecks is how many checks in a row must miss a marker never seen
// since the relay's last Init before it counts as lost (a store read just
// after a write may be stale, as DynamoDB's eventually consistent reads).
const missingChecks = 3

// healOnce checks the store once and re-seeds it when needed.
func (r *relay) healOnce(ctx context.Context, rd store.Reader, w *watch) {
	r.writeMu.Lock()
	complete, gen := r.data.complete, r.data.gen
	r.writeMu.Unlock()
	if !complete {
		return // nothing to write yet; the data source's first Init comes
	}
	if gen != w.gen {
		*w = watch{gen: gen}
	}
	ok, err := rd.Initialized(ctx)
	if err != nil {
		return // the store cannot tell now (down): try later
	}
	if ok {
		w.seen, w.missing = true, 0
		return
	}
	w.missing++
	if !w.seen && w.missing < missingChecks {
		return
	}
	var up Update
	r.writeMu.Lock()
	ok, err = rd.Initialized(ctx) // again, under the lock: the data source may just have written
	if err == nil && !ok {
		all := r.data.collections()
		err = r.s.Init(ctx, all)
		if err == nil {
			r.stats.reseeds.Add(1)
			r.stats.writes.Add(1)
			up = Update{Init: true, Reseed: true}
			up.Flags, up.Segments = counts(all)
			r.log.Warn("relay: the store had lost its dataset (restarted empty?); wrote the last complete dataset again",
				"flags", up.Flags, "segments", up.Segments)
			*w = watch{gen: r.data.gen}
		} else if ctx.Err() == nil {
			r.log.Warn("relay: the store has lost its dataset and writing it again failed; retrying", "err", err)
		}
	}
	r.writeMu.Unlock()
	if up.Reseed {
		r.report(up)
	}
}
