package cache

import (
	"context"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

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

// readStart is what beforeRead tells the read it precedes.
type readStart uint8

const (
	// readEarly: the read began before the rest of start-up; the caller
	// calls afterEarlyRead once it is done.
	readEarly readStart = 1 << iota
	// readFirst: the read makes the cache's first check of the store
	// itself, in the same round trip (see getFirst).
	readFirst
)

// beforeRead is called before each item read (one store call); single
// tells a read of one item, which may make the cache's first check in the
// same round trip when the store can (store.CheckedGetter) and no check has
// begun. Otherwise it waits for that check, making it on the caller's
// goroutine when the monitor has not begun it (ctx is always the cache's
// own here, or one that cannot end), so the first lookup does not wait for
// the monitor to be scheduled; a read that waited fails, as a miss does,
// when the check found the store unavailable (a DynamoDB init in progress:
// a new cache serves nothing rather than a mix). ctx bounds the wait. It
// also records a read made before the store listens (so that it is read
// again once it does) and one that began before the rest of start-up
// (readEarly). Once start-up is over it costs three atomic loads.
func (c *core) beforeRead(ctx context.Context, single bool) (rs readStart, err error) {
	if !c.followed.Load() {
		c.startupReads.Add(1)
		rs = readEarly
	}
	if c.notify != nil && !c.listening.Load() {
		// Stored before the read, loaded by the subscription after it
		// starts listening: either that load sees it, or this read
		// begins after listening did (see subscribe).
		c.earlyRead.Store(true)
	}
	if c.firstStarted.Load() && c.firstCheckDone() {
		return rs, nil
	}
	if single && c.checked != nil && c.firstStarted.CompareAndSwap(false, true) {
		return rs | readFirst, nil
	}
	if !c.firstStarted.Load() && !c.track(c.runFirstCheck) {
		c.afterRead(rs)
		return 0, ErrClosed
	}
	select {
	case <-c.firstCheck:
	case <-ctx.Done():
		err = ctx.Err()
	case <-c.ctx.Done():
		err = ErrClosed
	}
	if err == nil && c.status.Load().State == Unavailable {
		err = c.failFastErr()
	}
	if err != nil {
		c.afterRead(rs)
		return 0, err
	}
	return rs, nil
}

// get reads key as Get does; a read that makes the cache's first check
// (readFirst) makes it in the same round trip.
func (c *core) get(ctx context.Context, rs readStart, kind store.Kind, key string) (store.Item, bool, error) {
	if rs&readFirst == 0 {
		return c.r.Get(ctx, kind, key)
	}
	return c.getFirst(ctx, kind, key)
}

// getFirst is the first check of the store made together with a read
// (store.CheckedGetter): the check's answer is recorded first, and a read
// whose check failed fails with the check's error, as a read that waited for
// a failed check does (see beforeRead).
func (c *core) getFirst(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	seq := c.seq.Add(1)
	start := time.Now()
	inited, initErr, item, found, err := c.checked.GetChecked(ctx, kind, key)
	c.stats.reads[opInitialized].observe(start, initErr)
	c.stats.reads[opGet].observe(start, err)
	if initErr != nil {
		c.storeError(seq, initErr)
	} else {
		c.confirmed()
		c.observeInited(seq, inited)
	}
	c.endFirstCheck()
	if initErr != nil {
		return store.Item{}, false, initErr
	}
	return item, found, err
}

// afterRead ends a read for which beforeRead said readEarly: the last of
// them, once the first check is done, begins the rest of start-up.
func (c *core) afterRead(rs readStart) {
	if rs&readEarly == 0 {
		return
	}
	if c.startupReads.Add(-1) == 0 && c.firstCheckDone() {
		c.followUp()
	}
}

// afterEarlyRead is afterRead(readEarly), for a deferred call.
func (c *core) afterEarlyRead() { c.afterRead(readEarly) }

func (c *core) firstCheckDone() bool {
	select {
	case <-c.firstCheck:
		return true
	default:
		return false
	}
}

// endFirstCheck closes firstCheck, and begins the rest of start-up unless an
// item read that began before it is in flight: before closing, so that the
// goroutine it wakes (a WaitForInitialization) runs before the new ones,
// and after, since a read that waited may have given up (its context
// ended).
func (c *core) endFirstCheck() {
	c.followUpIfIdle()
	close(c.firstCheck)
	c.followUpIfIdle()
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
