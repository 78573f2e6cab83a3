package cache

import (
	"context"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// Change notification: when the store implements store.Notifier, the cache
// subscribes when it starts and refreshes what a notification names at once,
// in the background (warm lookups never wait for it), installing the answers
// at once rather than at the end of the current entries' TTL: the writer
// announced them. After store.ChangeAll every cached item is read again and
// installed at once, except that an item the store no longer has keeps its
// value until its TTL ends (see holdRemovals). While change listeners are registered a notification runs
// the change poll at once instead, so listeners hear of the change as soon
// as the cache serves it.

// maxKeysPerNotice is how many named keys of one kind a notification
// refreshes one by one; beyond it one read of every item of the kind is
// cheaper.
const maxKeysPerNotice = 16

// notices collects notified changes until the notification worker takes
// them.
type notices struct {
	all bool
	// recheck: read again every item read before the store listened (see
	// recheckEarly); no notification named them.
	recheck bool
	refs    map[ref]struct{}
}

// subscribe starts listening to the store's notifications, retrying with
// backoff while it cannot (the TTL still bounds staleness meanwhile). Once
// the store listens, what was read before is read again (see recheckEarly).
func (c *core) subscribe(n store.Notifier) {
	c.goBackground(c.noticeLoop)
	c.goBackground(func() {
		wait := c.opts.ProbeInterval
		failed := false
		for {
			err := n.Notify(c.ctx, c.onNotice)
			if err == nil {
				c.listening.Store(true)
				if !failed && c.earlyRead.Load() {
					// Read before listening began: a change written
					// meanwhile was not announced (see beforeRead).
					c.recheckEarly()
				}
				if failed {
					// Changes made while the store could not listen were
					// not announced: re-check what is cached (this
					// covers the reads made before, see recheckEarly).
					c.log.Info("flag store change notifications restored")
					c.onNotice([]store.Change{store.ChangeAll})
				}
				return
			}
			if c.ctx.Err() != nil {
				return
			}
			if !failed {
				failed = true
				c.log.Warn("flag store change notifications unavailable; changes are seen within the cache TTL until they are back",
					"err", err, "retry", wait)
			}
			t := time.NewTimer(wait)
			select {
			case <-c.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			wait = min(2*wait, 30*time.Second)
		}
	})
}

// onNotice is the store.Notifier callback: it records the changes and wakes
// the worker, never blocking the store.
func (c *core) onNotice(changes []store.Change) {
	if len(changes) == 0 {
		return
	}
	c.stats.notifications.Add(uint64(len(changes)))
	c.nmu.Lock()
	for _, ch := range changes {
		if ch.IsAll() {
			c.pending.all = true
			continue
		}
		if c.pending.refs == nil {
			c.pending.refs = map[ref]struct{}{}
		}
		c.pending.refs[ref{ch.Kind, ch.Key}] = struct{}{}
	}
	c.nmu.Unlock()
	select {
	case c.noticeWake <- struct{}{}:
	default:
	}
}

// noticeLoop applies notified changes, one batch at a time; changes that
// arrive meanwhile form the next batch.
func (c *core) noticeLoop() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-c.noticeWake:
		}
		c.nmu.Lock()
		batch := c.pending
		c.pending = notices{}
		c.nmu.Unlock()
		if !batch.all && !batch.recheck && len(batch.refs) == 0 {
			continue
		}
		// A recheck alone (see recheckEarly) is no notification: the
		// store said nothing, and start-up reads the last write anyway.
		notified := batch.all || len(batch.refs) > 0
		if notified {
			c.confirmed() // a notification is an answer of the store
		}
		if batch.all || c.status.Load().State != Available {
			// A new dataset, or a store that may have just got its marker.
			c.checkInited()
		}
		c.applyNotice(batch)
		if notified {
			c.readLastWrite()
		}
	}
}

// applyNotice refreshes what one batch of notifications names.
func (c *core) applyNotice(batch notices) {
	if c.pollNow() {
		return // the change poll reads everything and tells the listeners
	}
	ctx, cancel := c.callCtx()
	defer cancel()
	all := batch.all || batch.recheck
	for _, k := range c.kinds {
		var keys []string
		if !all {
			for r := range batch.refs {
				if r.kind == k.storeKind() {
					keys = append(keys, r.key)
				}
			}
			if len(keys) == 0 {
				continue
			}
		}
		k.refreshNotified(ctx, all, keys)
	}
}

// refreshNotified reads again what a notification names for this kind
// (every cached item when all is set, and every item when a read of all of
// them is in flight) and installs the answers at once. Keys the cache holds
// nothing for are left alone: their next lookup reads the store anyway.
func (k *kind[T]) refreshNotified(ctx context.Context, all bool, keys []string) {
	h := holdNone
	if all {
		h = holdRemovals
	}
	if all || len(keys) > maxKeysPerNotice || k.all.Load() != nil {
		if all && k.all.Load() == nil && k.allCall.Load() == nil && k.slots.len() <= maxKeysPerNotice {
			keys = nil
			k.slots.each(func(key string, _ *slot[T]) { keys = append(keys, key) })
		} else {
			_ = k.readAll(ctx, h) // a failure is the status's business
			return
		}
	}
	for _, key := range keys {
		if s := k.slots.load(key); s != nil {
			_, _ = k.fetch(ctx, s, key, h)
		}
	}
}

// readLastWrite records when the writer last wrote, when the store records
// it (store.WriteTimeReader).
func (c *core) readLastWrite() {
	if c.writeTimes == nil {
		return
	}
	ctx, cancel := c.callCtx()
	defer cancel()
	t, ok, err := c.writeTimes.LastWrite(ctx)
	if err != nil || !ok {
		return
	}
	c.lastWrite.Store(t.UnixNano())
}
