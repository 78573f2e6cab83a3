package cache

import "errors"

// Start-up: what a new cache's first item reads wait for.
//
// Every item read waits for the cache's first check of the store (its
// "$inited" marker, see runFirstCheck). When the store notifies, a read made
// before the subscription listens could miss a change written after it and
// announced before listening began; so, by default, reads also wait for the
// first subscription attempt (a second connection: a dial and a handshake on
// Redis).
//
// A store whose writers mark every write (store.WriteMarker) spares that
// wait: the first check reads the mark before any item read, and once the
// store listens the cache reads it again (see catchUp). Only when the mark
// moved, a writer wrote in between and its announcement may have been
// missed, is everything cached read again and installed at once, as after
// store.ChangeAll: a change the writer announced shows one round trip after
// listening began. When the mark did not move, nothing is read again: a
// change made behind the writer's back (an operator's edit of the store,
// which marks and announces nothing) keeps to the TTL, as it always does.

// readStartMark reads the store's write mark for the first check, before any
// item read. When it cannot be read (an error, a store whose notifications
// are not all marked), reads wait for the subscription as without a mark.
func (c *core) readStartMark() {
	if c.marks == nil || c.notify == nil {
		return
	}
	ctx, cancel := c.callCtx()
	defer cancel()
	m, err := c.marks.WriteMark(ctx)
	if err != nil {
		c.startListening() // reads wait for it: start it now
		if !errors.Is(err, errors.ErrUnsupported) {
			c.log.Debug("flag store write mark unreadable; the first reads wait for the change subscription", "err", err)
		}
		return
	}
	c.startMark, c.marked = m, true
}

// catchUp is called once the store listens, after its first subscription
// attempt: when reads did not wait for it (the first check read the write
// mark), it reads the mark again and, when it moved or cannot be read, has
// everything cached read again and installed at once (store.ChangeAll).
func (c *core) catchUp() {
	select {
	case <-c.firstCheck: // startMark and marked are set
	case <-c.ctx.Done():
		return
	}
	if !c.marked {
		return // the reads waited for the subscription
	}
	ctx, cancel := c.callCtx()
	defer cancel()
	m, err := c.marks.WriteMark(ctx)
	if err == nil && m == c.startMark {
		return // no writer wrote since the first check
	}
	c.queueAll()
}

// queueAll queues store.ChangeAll for the notification worker, as a
// notification would, without counting one.
func (c *core) queueAll() {
	c.nmu.Lock()
	c.pending.all = true
	c.nmu.Unlock()
	select {
	case c.noticeWake <- struct{}{}:
	default:
	}
}

// endEarlyRead is endRead(true), for a deferred call.
func (c *core) endEarlyRead() { c.endRead(true) }

// endRead ends a read for which awaitListening said early: the last of
// them, once the first check is done, starts the subscription.
func (c *core) endRead(early bool) {
	if !early {
		return
	}
	if c.earlyReads.Add(-1) == 0 && c.firstCheckDone() {
		c.startListening()
	}
}

// listenIfIdle starts the subscription unless an early read is in flight
// (its end starts it, see endRead).
func (c *core) listenIfIdle() {
	if c.earlyReads.Load() == 0 {
		c.startListening()
	}
}

func (c *core) firstCheckDone() bool {
	select {
	case <-c.firstCheck:
		return true
	default:
		return false
	}
}
