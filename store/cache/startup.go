package cache

import "context"

// Start-up: the order of a new cache's first store calls.
//
// A new cache makes its first check of the store's "$inited" marker (the
// monitor, or the first item read on its own goroutine, see runFirstCheck);
// item reads wait for that check (one round trip on the connection it
// opened; a read beside it would open a second one) and then read. Only
// once the first check is done and no read that began before then is in
// flight does the rest of start-up begin, in the background (see followUp):
// the read of the writer's last-write time and the subscription to the
// store's notifications, whose own connection (a dial and a handshake on
// Redis) would otherwise compete with the first reads for the processors.
//
// Item reads do not wait for the subscription. Reads made before the store
// listens could miss a change written after them and before listening
// began, so once the store listens every item read before then is read
// again at once (see recheckEarly), as after a subscription that drops and
// comes back: a change written during start-up shows one round trip after
// listening begins.

// beforeRead is called before each item read (one store call). It records
// a read made before the store listens (so that it is read again once it
// does) and one that began before the rest of start-up (early: the caller
// must call afterEarlyRead once its read is done), and waits for the
// cache's first check of the store, making it on the caller's goroutine
// when the monitor has not begun it (ctx is always the cache's own here, or
// one that cannot end), so the first lookup does not wait for the monitor
// to be scheduled. ctx bounds the wait. Once start-up is over it costs two
// atomic loads.
func (c *core) beforeRead(ctx context.Context) (early bool, err error) {
	if !c.followed.Load() {
		c.startupReads.Add(1)
		early = true
	}
	if c.notify != nil && !c.listening.Load() {
		// Stored before the read, loaded by the subscription after it
		// starts listening: either that load sees it, or this read
		// begins after listening did (see subscribe).
		c.earlyRead.Store(true)
	}
	if !c.firstStarted.Load() && !c.track(c.runFirstCheck) {
		c.afterRead(early)
		return false, ErrClosed
	}
	select {
	case <-c.firstCheck:
		return early, nil
	default:
	}
	select {
	case <-c.firstCheck:
		return early, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.ctx.Done():
		err = ErrClosed
	}
	c.afterRead(early)
	return false, err
}

// afterRead ends a read for which beforeRead said early: the last of them,
// once the first check is done, begins the rest of start-up.
func (c *core) afterRead(early bool) {
	if !early {
		return
	}
	if c.startupReads.Add(-1) == 0 && c.firstCheckDone() {
		c.followUp()
	}
}

// afterEarlyRead is afterRead(true), for a deferred call.
func (c *core) afterEarlyRead() { c.afterRead(true) }

func (c *core) firstCheckDone() bool {
	select {
	case <-c.firstCheck:
		return true
	default:
		return false
	}
}

// followUpIfIdle begins the rest of start-up unless an item read that began
// before it is in flight (that read's end begins it, see afterRead).
func (c *core) followUpIfIdle() {
	if c.startupReads.Load() == 0 {
		c.followUp()
	}
}

// followUp begins the rest of start-up, once: the read of the writer's
// last-write time (store.WriteTimeReader) and the subscription to the
// store's notifications, both in the background.
func (c *core) followUp() {
	if c.followed.Load() || !c.followed.CompareAndSwap(false, true) {
		return
	}
	if c.writeTimes != nil {
		c.goBackground(c.readLastWrite)
	}
	if c.notify != nil {
		c.subscribe(c.notify)
	}
}

// recheckEarly has every item read before the store listened read again
// (by the notification worker, as for store.ChangeAll, but without a check
// of the marker, which no notification asked for): a change written between
// such a read and the start of listening was not announced.
func (c *core) recheckEarly() {
	c.nmu.Lock()
	c.pending.recheck = true
	c.nmu.Unlock()
	select {
	case c.noticeWake <- struct{}{}:
	default:
	}
}
