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
	all  bool
	refs map[ref]struct{}
	// catchUp: read everything again (see catchUp), unless a batch of
	// store.ChangeAll began after catchUpSeq, once the store listened.
	catchUp    bool
	catchUpSeq uint64
}

// startListening starts the subscription to the store's notifications
// unless it has begun (or the store does not notify). It is called when the
// first check is done, or earlier by the first item read, which waits for
// the subscription: a cache that is only waited for (WaitForInitialization)
// makes its first check without a second connection being opened beside it
// (on a busy machine the two dials and handshakes share the processors and
// the check took twice as long), while a read that needs both has them made
// side by side.
func (c *core) startListening() {
	if c.notify == nil || c.subStarted.Load() || !c.subStarted.CompareAndSwap(false, true) {
		return
	}
	c.subscribe(c.notify)
}

// subscribe starts listening to the store's notifications, retrying with
// backoff while it cannot (the TTL still bounds staleness meanwhile).
func (c *core) subscribe(n store.Notifier) {
	c.goBackground(c.noticeLoop)
	c.goBackground(func() {
		wait := c.opts.ProbeInterval
		failed := false
		first := true
		for {
			err := n.Notify(c.ctx, c.onNotice)
			if first {
				first = false
				close(c.listening) // item reads may start (see awaitListening)
				if err == nil {
					c.catchUp(c.seq.Add(1)) // what was read before listening began
				}
			}
			if err == nil {
				if failed {
					// Changes made while the store could not listen were
					// not announced: re-check what is cached.
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

// awaitListening waits, before the cache's first item reads, for its first
// attempt to subscribe to the store's notifications (one round trip), so
// that no change can fall between a read and the start of listening: a
// change written after a read began is announced. It returns at once
// afterwards, and when the store does not notify; ctx bounds the wait. A
// store that marks its writes (store.WriteMarker) spares reads that wait
// (see startup.go): the subscription then starts once the reads that began
// before the first check was done have ended, so that its connection does
// not compete with them; early tells the caller it is one of those reads,
// and must call endRead(early) once its store call is done.
//
// It also waits for the cache's first check of the store's "$inited"
// marker: a read racing it would open a second connection to the store (a
// dial and a handshake, several round trips on Redis) where waiting for the
// check costs one round trip and reuses its connection. When the monitor
// has not begun that check yet, the caller makes it on its own goroutine
// (ctx is always the cache's own here, or one that cannot end), so the
// first lookup does not wait for the monitor to be scheduled.
func (c *core) awaitListening(ctx context.Context) (early bool, err error) {
	first := !c.firstCheckDone() // this is one of the cache's first reads
	if first && c.marks != nil && c.notify != nil && !c.subStarted.Load() {
		early = true
		c.earlyReads.Add(1)
	} else {
		c.startListening() // before the check, so the two go side by side
	}
	if !c.firstStarted.Load() && !c.track(c.runFirstCheck) {
		c.endRead(early)
		return false, ErrClosed
	}
	for i, ch := range [...]chan struct{}{c.firstCheck, c.listening} {
		if ch == nil {
			continue
		}
		if i == 1 {
			if c.marked {
				break // the first check read the write mark (see startup.go)
			}
			c.startListening() // the mark is unknown: wait as without one
		}
		select {
		case <-ch:
			continue
		default:
		}
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-c.ctx.Done():
			err = ErrClosed
		}
		if err != nil {
			c.endRead(early)
			return false, err
		}
	}
	if c.firstFailed.Load() && c.status.Load().State == Unavailable {
		// The first check found the store unavailable (down, or a
		// DynamoDB init in progress: a possibly mixed dataset), and it
		// has not answered since. A miss that starts now fails fast; so
		// does one that waited for the check, or whose lookup began
		// before it was done, rather than read what may be a mix.
		c.endRead(early)
		return false, c.failFastErr()
	}
	return early, nil
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
		notified := batch.all || len(batch.refs) > 0
		if batch.catchUp && !batch.all && c.allSeq.Load() < batch.catchUpSeq {
			batch.all = true // no re-read of everything began since listening did
		}
		if !batch.all && len(batch.refs) == 0 {
			continue
		}
		if notified {
			c.confirmed() // a notification is an answer of the store
		}
		if batch.all {
			c.allSeq.Store(c.seq.Add(1))
		}
		if batch.all || c.status.Load().State != Available {
			// A new dataset, or a store that may have just got its marker.
			c.checkInited()
		}
		c.applyNotice(batch)
		c.readLastWrite()
	}
}

// applyNotice refreshes what one batch of notifications names.
func (c *core) applyNotice(batch notices) {
	if c.pollNow() {
		return // the change poll reads everything and tells the listeners
	}
	ctx, cancel := c.callCtx()
	defer cancel()
	for _, k := range c.kinds {
		var keys []string
		if !batch.all {
			for r := range batch.refs {
				if r.kind == k.storeKind() {
					keys = append(keys, r.key)
				}
			}
			if len(keys) == 0 {
				continue
			}
		}
		k.refreshNotified(ctx, batch.all, keys)
	}
}

// refreshNotified reads again what a notification names for this kind
// (every cached item when all is set) and installs the answers at once.
// Keys the cache holds nothing for are left alone: their next lookup reads
// the store anyway.
func (k *kind[T]) refreshNotified(ctx context.Context, all bool, keys []string) {
	h := holdNone
	if all {
		h = holdRemovals
	}
	if all || len(keys) > maxKeysPerNotice || k.all.Load() != nil {
		// A read of every item in flight (begun before a catch-up, see
		// startup.go) is read again too.
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
