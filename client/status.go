package client

import (
	"fmt"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/store/cache"
)

// DataStoreStatus returns the client's view of its flag store, from the
// cache: Available; Unavailable, with the last error (the last good values
// are still served, see the package documentation); or NotInitialized (the
// store answers but holds no dataset: no writer yet, a prefix that is not
// the writer's, or a store that lost its data). An offline client reports
// Unavailable with an error matching [ErrClientNotReady].
func (c *Client) DataStoreStatus() cache.Status {
	if c.cache == nil {
		return cache.Status{State: cache.Unavailable, Err: offlineStatusErr, Since: c.created}
	}
	return c.cache.Status()
}

var offlineStatusErr = fmt.Errorf("%w: %w", ErrClientNotReady, errOffline)

// AddDataStoreStatusListener registers fn to be told of every change of
// [Client.DataStoreStatus], in order, on one goroutine the cache owns (a slow
// listener delays later notifications, never evaluations). remove
// unregisters it. After Close, and for an offline client, fn is never called.
func (c *Client) AddDataStoreStatusListener(fn func(cache.Status)) (remove func()) {
	if c.cache == nil || fn == nil {
		return func() {}
	}
	return c.cache.AddStatusListener(fn)
}

// BigSegmentStoreStatus returns the status of the big-segment store:
// Available is false when its last poll failed; Stale is true when the
// writer has not declared the data up to date within
// BigSegmentsConfig.StaleAfter. When big segments are not configured (or the
// client is offline) it returns the zero Status (not available, not stale),
// as LaunchDarkly does. Until the first poll of the store has finished it
// waits for it.
func (c *Client) BigSegmentStoreStatus() bigsegments.Status {
	if c.big == nil {
		return bigsegments.Status{}
	}
	return c.big.Status()
}

// AddBigSegmentStoreStatusListener registers fn to be told of every change of
// [Client.BigSegmentStoreStatus], in order, on the poller's goroutine. remove
// unregisters it. Without big segments, fn is never called.
func (c *Client) AddBigSegmentStoreStatusListener(fn func(bigsegments.Status)) (remove func()) {
	if c.big == nil || fn == nil {
		return func() {}
	}
	return c.big.AddStatusListener(fn)
}
