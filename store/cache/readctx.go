package cache

import (
	"context"
	"sync"
	"sync/atomic"
)

// readCtxs hands out the contexts of the store reads the cache makes for
// misses and refreshes. A context of its own per read (context.WithTimeout,
// then its cancel) costs four allocations and a runtime timer added and
// removed, a sizeable share of a miss served from a fast store; instead,
// reads that start within a short window share one context.
type readCtxs struct {
	cur atomic.Pointer[readCtx]
	mu  sync.Mutex // serializes making a new one
}

// readCtx is one shared read context: it ends when the cache closes, or at
// its deadline.
type readCtx struct {
	ctx    context.Context
	cancel context.CancelFunc // called by Close, through the cache's context
	// until is when, on the cache clock, reads stop taking this context.
	until int64
}

// readShareFraction is the part of RefreshTimeout during which reads share
// one context: each read has between 7/8 of RefreshTimeout and all of it.
const readShareFraction = 8

// readContext returns the context for a store read the cache makes on its
// own behalf and that starts now: it ends when the cache is closed, and
// after at most RefreshTimeout (at least 7/8 of it). It must not be
// cancelled by the caller; it is released at its deadline or when the cache
// closes. The common path makes no allocation.
func (c *core) readContext() context.Context {
	now := c.now()
	if r := c.reads.cur.Load(); r != nil && now < r.until {
		return r.ctx
	}
	return c.newReadContext(now)
}

func (c *core) newReadContext(now int64) context.Context {
	c.reads.mu.Lock()
	defer c.reads.mu.Unlock()
	if r := c.reads.cur.Load(); r != nil && now < r.until {
		return r.ctx
	}
	// The previous context is not cancelled: reads may still use it. Its
	// timer releases it at its deadline, and closing the cache cancels it
	// with every other context derived from the cache's.
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.RefreshTimeout)
	r := &readCtx{ctx: ctx, cancel: cancel, until: now + int64(c.opts.RefreshTimeout)/readShareFraction}
	c.reads.cur.Store(r)
	return ctx
}
