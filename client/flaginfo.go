package client

import (
	"context"

	"github.com/daemonflag/daemonflag/evaluation"
)

// FlagInfo is what the client's cached data says about a flag and about how
// it served a result: what integrations that report evaluations (the
// OpenFeature provider, OpenTelemetry hooks) need beyond the detail.
type FlagInfo struct {
	// Version is the flag's version in the store.
	Version int
	// Split reports that the result's variation was chosen by a percentage
	// rollout or an experiment (the fallthrough's or the matched rule's),
	// rather than served as a fixed variation.
	Split bool
}

// FlagInfo describes flag key as the cache holds it, and whether a result
// with reason r came from a rollout. ok is false when the cache has no such
// flag (it does not exist, is deleted, or cannot be read). Called right
// after an evaluation of the flag it reads the cache only: it does not wait
// on the store and makes no allocation. A change stored between the
// evaluation and this call can make Version newer than the evaluated one.
func (c *Client) FlagInfo(ctx context.Context, key string, r evaluation.Reason) (info FlagInfo, ok bool) {
	if c.notReady() != nil {
		return FlagInfo{}, false
	}
	f := c.cache.Flag(ctx, key)
	if f == nil {
		return FlagInfo{}, false
	}
	info.Version = f.Version
	switch r.Kind {
	case evaluation.ReasonFallthrough:
		info.Split = f.Fallthrough.Rollout != nil
	case evaluation.ReasonRuleMatch:
		if r.RuleIndex >= 0 && r.RuleIndex < len(f.Rules) {
			info.Split = f.Rules[r.RuleIndex].Rollout != nil
		}
	}
	info.Split = info.Split || r.InExperiment
	return info, true
}

// AddFlagChangeBatchListener is [Client.AddFlagChangeListener] with the
// changes of one store update delivered together: fn receives the keys of
// every flag that changed (directly or through a prerequisite or segment),
// sorted, once per update the cache detects. Use it to report a dataset
// update as one event rather than one per flag. The slice is fn's to keep.
func (c *Client) AddFlagChangeBatchListener(fn func(keys []string)) (remove func()) {
	if fn == nil || c.notReady() != nil {
		return func() {}
	}
	return c.cache.OnChange(func(keys []string) {
		if len(keys) > 0 {
			fn(append([]string(nil), keys...))
		}
	})
}
