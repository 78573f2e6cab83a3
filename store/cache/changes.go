package cache

import (
	"slices"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// snapshot describes every stored item seen by one change poll.
type snapshot map[ref]itemInfo

// onChange registers fn; see Cache.OnChange.
func (c *core) onChange(fn func(keys []string)) (remove func()) {
	if fn == nil || c.opts.ChangePollInterval < 0 {
		return func() {}
	}
	c.lmu.Lock()
	defer c.lmu.Unlock()
	c.nextID++
	id := c.nextID
	c.changeListeners[id] = fn
	if !c.polling && c.goBackground(c.pollLoop) {
		c.polling = true
	}
	return func() {
		c.lmu.Lock()
		delete(c.changeListeners, id)
		c.lmu.Unlock()
	}
}

// pollLoop reads the whole dataset every ChangePollInterval while change
// listeners exist. The first poll is the baseline; each later one reports
// what differs from the one before.
func (c *core) pollLoop() {
	var prev snapshot
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.pollWake:
			t.Stop()
		}
		c.lmu.Lock()
		if len(c.changeListeners) == 0 {
			c.polling = false
			c.lmu.Unlock()
			return
		}
		c.lmu.Unlock()
		snap, ok, inited := c.pollOnce()
		if !ok && !inited && prev == nil {
			// A store with no dataset yet: everything the writer stores
			// will be new.
			snap, ok = snapshot{}, true
		}
		if ok {
			if prev != nil {
				if keys := changedFlags(prev, snap); len(keys) > 0 {
					c.notifyChange(keys)
				}
			}
			prev = snap
		}
		t.Reset(c.opts.ChangePollInterval)
	}
}

// pollNow makes the change poll run at once, if it runs at all, and
// reports whether it does.
func (c *core) pollNow() bool {
	c.lmu.Lock()
	polling := c.polling
	c.lmu.Unlock()
	if polling {
		select {
		case c.pollWake <- struct{}{}:
		default:
		}
	}
	return polling
}

func (c *core) notifyChange(keys []string) {
	c.lmu.Lock()
	fns := make([]func([]string), 0, len(c.changeListeners))
	for _, id := range sortedIDs(c.changeListeners) {
		fns = append(fns, c.changeListeners[id])
	}
	c.lmu.Unlock()
	for _, fn := range fns {
		c.safely("change listener", func() { fn(slices.Clone(keys)) })
	}
}

// pollOnce reads every kind and installs the result in the cache. ok is
// false when the store failed or is not initialized (inited tells which):
// an empty answer from a store that lost its data is no reason to report
// every flag deleted, so the previous snapshot stays the baseline.
func (c *core) pollOnce() (snap snapshot, ok, inited bool) {
	ctx, cancel := c.callCtx()
	defer cancel()
	start := c.now()
	seq := c.seq.Add(1)
	inited, err := c.r.Initialized(ctx)
	if err != nil {
		c.storeError(seq, err)
		return nil, false, true
	}
	c.observeInited(seq, inited)
	if !inited {
		return nil, false, false
	}
	all := make([][]store.KeyedItem, len(c.kinds))
	for i, k := range c.kinds {
		items, err := c.r.GetAll(ctx, k.storeKind())
		if err != nil {
			c.storeError(seq, err)
			return nil, false, true
		}
		all[i] = items
	}
	c.confirmed()
	c.readLastWrite()
	snap = snapshot{}
	for i, k := range c.kinds {
		for key, inf := range k.applyAll(ctx, all[i], seq, start, holdNone) {
			snap[ref{k.storeKind(), key}] = inf
		}
	}
	return snap, true, true
}

// changedFlags returns, sorted, the keys of the flags that differ between
// two snapshots: flags added, deleted or rewritten, and flags whose
// evaluation may differ because an item they depend on (a prerequisite
// flag, a segment, or a segment that segment refers to, at any depth)
// changed.
func changedFlags(prev, next snapshot) []string {
	changed := map[ref]bool{}
	for r, inf := range next {
		if p, ok := prev[r]; !ok || p.hash != inf.hash {
			changed[r] = true
		}
	}
	for r := range prev {
		if _, ok := next[r]; !ok {
			changed[r] = true
		}
	}
	if len(changed) == 0 {
		return nil
	}
	// Who depends on whom, in either snapshot.
	dependents := map[ref][]ref{}
	for _, s := range []snapshot{prev, next} {
		for r, inf := range s {
			for _, d := range inf.deps {
				dependents[d] = append(dependents[d], r)
			}
		}
	}
	queue := make([]ref, 0, len(changed))
	for r := range changed {
		queue = append(queue, r)
	}
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for _, d := range dependents[r] {
			if !changed[d] {
				changed[d] = true
				queue = append(queue, d)
			}
		}
	}
	var keys []string
	for r := range changed {
		if r.kind == store.Features {
			keys = append(keys, r.key)
		}
	}
	slices.Sort(keys)
	return keys
}
