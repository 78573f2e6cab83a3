package cache

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

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
	c.noteStartMark(c.marks.WriteMark(ctx))
}

// noteStartMark records the first check's answer of WriteMark.
func (c *core) noteStartMark(m string, err error) {
	if err != nil {
		c.startListening() // reads wait for it: start it now
		if !errors.Is(err, errors.ErrUnsupported) {
			c.log.Debug("flag store write mark unreadable; the first reads wait for the change subscription", "err", err)
		}
		return
	}
	c.startMark, c.marked = m, true
}

// startCheck is the first check made in one call (store.StartChecker): the
// "$inited" marker, the write mark and the last write.
func (c *core) startCheck() {
	seq := c.seq.Add(1)
	ctx, cancel := c.callCtx()
	defer cancel()
	start := time.Now()
	c.noteStartCheck(seq, start, c.starter.StartCheck(ctx, "", ""))
}

// noteStartCheck records the answers of a StartCheck begun at seq and
// start, as checkInited, readStartMark and readLastWrite record them.
func (c *core) noteStartCheck(seq uint64, start time.Time, sc store.StartCheck) {
	c.stats.reads[opInitialized].observe(start, sc.InitErr)
	c.stats.reads[opLastWrite].observe(start, sc.LastWriteErr)
	if sc.InitErr != nil {
		c.storeError(seq, sc.InitErr)
	} else {
		c.confirmed()
		c.observeInited(seq, sc.Inited)
	}
	if c.notify != nil {
		c.noteStartMark(sc.Mark, sc.MarkErr)
	}
	if sc.LastWriteErr == nil && sc.LastWriteOK {
		c.lastWrite.Store(sc.LastWrite.UnixNano())
	}
}

// itemRead is what awaitItemRead tells fetch: early, as awaitListening
// says; read, the item was read with the first check (start, seq and the
// answer are that read's).
type itemRead struct {
	early, read, unparsed, found bool
	start                        int64
	seq                          uint64
	item                         store.Item
	err                          error
}

// awaitItemRead is awaitListening for a read of one item. When no first
// check has begun and the store makes it together with an item read
// (store.StartChecker), the caller makes the check and reads the item in
// the same round trip, after the write mark: the answer counts as a read
// made once the check was done. A read whose check failed fails with it,
// as one that waited for a failed check does; when the store left the item
// unread, or its mark is unknown (the read did not wait for the
// subscription, and a catch-up could not tell a writer's change from a
// direct edit), the read is made as usual, after awaitListening.
func (c *core) awaitItemRead(ctx context.Context, kind store.Kind, key string, versioned bool) (r itemRead, err error) {
	if c.starter == nil || c.firstStarted.Load() || !c.firstStarted.CompareAndSwap(false, true) {
		r.early, err = c.awaitListening(ctx)
		return r, err
	}
	c.earlyReads.Add(1)
	ran := c.track(func() {
		cseq := c.seq.Add(1)
		r.start, r.seq = c.now(), c.seq.Add(1)
		cctx, cancel := c.callCtx()
		defer cancel()
		t0 := time.Now()
		sc := c.starter.StartCheck(cctx, kind, key)
		c.noteStartCheck(cseq, t0, sc)
		if sc.ItemRead && sc.InitErr == nil && (c.notify == nil || sc.MarkErr == nil) {
			c.stats.reads[opGet].observe(t0, sc.ItemErr)
			r.read, r.found, r.err = true, sc.ItemFound, sc.ItemErr
			switch {
			case !sc.ItemFound || sc.ItemErr != nil:
			case versioned:
				r.item, r.unparsed = store.Item{Data: sc.ItemData}, true
			default:
				r.item, r.err = store.ItemFromJSON(sc.ItemData)
				if r.err != nil {
					r.err = fmt.Errorf("get %s %q: %w", kind, key, r.err)
				}
			}
		}
		c.endFirstCheck()
	})
	if !ran {
		c.endRead(true)
		return itemRead{}, ErrClosed
	}
	if c.status.Load().State == Unavailable {
		c.endRead(true) // see awaitListening
		return itemRead{}, c.failFastErr()
	}
	if r.read {
		r.early = true
		return r, nil
	}
	c.endRead(true)
	r.early, err = c.awaitListening(ctx)
	return r, err
}

// catchUp is called once the store listens, after its first subscription
// attempt, with a seq taken then: when reads did not wait for it (the first
// check read the write mark), it reads the mark again and, when it moved or
// cannot be read, has everything cached read again and installed at once
// (store.ChangeAll), unless a notification of store.ChangeAll is applied
// meanwhile (begun after listened: its reads began after listening did,
// and see what was written before, as this one's would): a writer's Init
// both moves the mark and announces itself, and reading everything twice
// would install, the second time, a direct edit made after the first.
func (c *core) catchUp(listened uint64) {
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
	c.queueCatchUp(listened)
}

// queueCatchUp queues the catch-up for the notification worker, as a
// notification of store.ChangeAll would be, without counting one (see
// noticeLoop).
func (c *core) queueCatchUp(listened uint64) {
	c.nmu.Lock()
	c.pending.catchUp, c.pending.catchUpSeq = true, listened
	c.nmu.Unlock()
	select {
	case c.noticeWake <- struct{}{}:
	default:
	}
}

// endRead ends a read for which awaitListening said early (and does
// nothing for any other): the last of them, once the first check is done,
// starts the subscription.
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
