package client

import (
	"context"
	"slices"
	"sync"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// FlagChangeEvent reports that a flag changed in the store: it was added,
// deleted or rewritten, or an item it depends on (a prerequisite flag, or a
// segment it matches, at any depth) changed. Its value for a given context
// may or may not differ; see [Client.AddFlagValueChangeListener].
type FlagChangeEvent struct {
	// Key is the flag's key.
	Key string
}

// FlagValueChangeEvent reports that a flag's value for one context changed.
type FlagValueChangeEvent struct {
	// Key is the flag's key.
	Key string
	// OldValue is the value before the change (the listener's default when
	// the flag had no value, for example before it existed).
	OldValue jsonvalue.Value
	// NewValue is the value after the change (the default when the flag has
	// no value now, for example after it was deleted).
	NewValue jsonvalue.Value
}

// AddFlagChangeListener registers fn to be called for every flag that
// changes in the store, and returns a function that unregisters it.
//
// Changes are found by the cache's change poll (see cache.Cache.OnChange),
// which reads the whole dataset every Config.Cache.ChangePollInterval (the
// cache TTL by default) while at least one listener is registered, and at
// once whenever the store notifies a change (store.Notifier: within
// milliseconds on bbolt and Redis for writes by daemonflag's writers), and
// compares versions with the previous poll. This works in daemon mode, where
// LaunchDarkly's flag-change listeners never fire. The first poll after the
// first listener is registered is the baseline: a change written before it
// completes is not reported. Listeners are called one at a time, from one
// goroutine, after the cache already serves the new data, so fn may evaluate
// the flag; a slow listener delays later notifications but never
// evaluations. Offline or closed clients never call fn.
func (c *Client) AddFlagChangeListener(fn func(FlagChangeEvent)) (remove func()) {
	if fn == nil || c.notReady() != nil {
		return func() {}
	}
	return c.cache.OnChange(func(keys []string) {
		for _, k := range keys {
			fn(FlagChangeEvent{Key: k})
		}
	})
}

// AddFlagValueChangeListener registers fn to be called when the value of
// flag key for the context ec changes, and returns a function that
// unregisters it. The value is evaluated as by [Client.JSONVariation] with
// default def (no hooks run): once now, as the baseline, and again each time
// the flag changes (see [Client.AddFlagChangeListener] for how changes are
// found and when fn is called); fn is called when the new value differs from
// the last one (JSON equality). Changes of big-segment memberships, which
// are not in the flag store, are not detected.
func (c *Client) AddFlagValueChangeListener(key string, ec evalctx.Context, def jsonvalue.Value, fn func(FlagValueChangeEvent)) (remove func()) {
	if fn == nil || c.notReady() != nil {
		return func() {}
	}
	var mu sync.Mutex // guards old (the cache calls listeners one at a time; this keeps that from mattering)
	old := c.listenerValue(key, ec, def)
	return c.cache.OnChange(func(keys []string) {
		if !slices.Contains(keys, key) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		v := c.listenerValue(key, ec, def)
		if v.Equal(old) {
			return
		}
		prev := old
		old = v
		fn(FlagValueChangeEvent{Key: key, OldValue: prev, NewValue: v})
	})
}

func (c *Client) listenerValue(key string, ec evalctx.Context, def jsonvalue.Value) jsonvalue.Value {
	var d evaluation.Detail
	c.evaluateTyped(context.Background(), &d, key, ec, def, jsonvalue.NullType, nil, nil)
	return d.Value
}
