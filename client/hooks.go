package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store/cache"
)

// Hook observes variation calls, as LaunchDarkly's evaluation hooks do
// (go-server-sdk v7 ldhooks): BeforeEvaluation runs before the flag is
// evaluated and AfterEvaluation after, with the detail the call returns.
//
// Hooks run in the order of Config.Hooks before the evaluation, and in
// reverse order after it. Each hook has its own series data: what its
// BeforeEvaluation returns is what its AfterEvaluation receives. A hook that
// returns an error (or panics) cannot change the evaluation: the error is
// logged at Error level with the hook's name, the stage and the flag key (at
// most one line per hook and stage every 10 s; the next line counts the
// failures in between), and the data passed on is the data the failed stage
// received (so an AfterEvaluation whose BeforeEvaluation failed receives
// empty data).
//
// Hooks run synchronously on the caller's goroutine, so they add their own
// cost to every variation call; they must be safe for concurrent use.
// Embed [HookBase] to implement only the stages you need.
type Hook interface {
	// Metadata describes the hook; its Name appears in log lines.
	Metadata() HookMetadata
	// BeforeEvaluation runs before the evaluation. data is empty; the data
	// returned is passed to AfterEvaluation.
	BeforeEvaluation(ctx context.Context, series EvaluationSeriesContext, data EvaluationSeriesData) (EvaluationSeriesData, error)
	// AfterEvaluation runs after the evaluation with the data
	// BeforeEvaluation returned and the detail the variation call returns
	// (its Value is the caller's default whenever it has no variation index).
	AfterEvaluation(ctx context.Context, series EvaluationSeriesContext, data EvaluationSeriesData, detail evaluation.Detail) (EvaluationSeriesData, error)
}

// HookMetadata describes a [Hook].
type HookMetadata struct {
	// Name identifies the hook in log lines.
	Name string
}

// HookBase implements both stages of [Hook] by returning the data unchanged.
// Embed it in a hook that needs only one stage, and add Metadata.
type HookBase struct{}

// BeforeEvaluation returns data unchanged.
func (HookBase) BeforeEvaluation(_ context.Context, _ EvaluationSeriesContext, data EvaluationSeriesData) (EvaluationSeriesData, error) {
	return data, nil
}

// AfterEvaluation returns data unchanged.
func (HookBase) AfterEvaluation(_ context.Context, _ EvaluationSeriesContext, data EvaluationSeriesData, _ evaluation.Detail) (EvaluationSeriesData, error) {
	return data, nil
}

// EvaluationSeriesContext describes the variation call a hook observes.
type EvaluationSeriesContext struct {
	// FlagKey is the key of the flag evaluated.
	FlagKey string
	// Context is the evaluation context, as the caller passed it (it may be
	// invalid).
	Context evalctx.Context
	// DefaultValue is the caller's default value, as JSON.
	DefaultValue jsonvalue.Value
	// Method is the variation method called, such as
	// "Client.BoolVariation" or "Client.JSONVariationDetailCtx".
	Method string
}

// EvaluationSeriesData is the data one hook passes from one stage to the
// next. It is immutable: With returns a new value. The zero value is empty.
type EvaluationSeriesData struct {
	m map[string]any
}

// EmptyEvaluationSeriesData returns data with no entries (the zero value).
func EmptyEvaluationSeriesData() EvaluationSeriesData { return EvaluationSeriesData{} }

// With returns a copy of d with key set to value.
func (d EvaluationSeriesData) With(key string, value any) EvaluationSeriesData {
	m := make(map[string]any, len(d.m)+1)
	maps.Copy(m, d.m)
	m[key] = value
	return EvaluationSeriesData{m: m}
}

// Get returns the value stored under key.
func (d EvaluationSeriesData) Get(key string) (value any, ok bool) {
	value, ok = d.m[key]
	return value, ok
}

// Len returns the number of entries.
func (d EvaluationSeriesData) Len() int { return len(d.m) }

// Keys returns the keys, sorted.
func (d EvaluationSeriesData) Keys() []string { return slices.Sorted(maps.Keys(d.m)) }

// AsMap returns a copy of the entries.
func (d EvaluationSeriesData) AsMap() map[string]any { return maps.Clone(d.m) }

// hookErrorLogInterval is the least time between two log lines about one
// hook's failures in one stage; failures in between are counted in the next
// line, so a hook failing on every call cannot flood the log.
const hookErrorLogInterval = 10 * time.Second

type hookStage int

const (
	stageBefore hookStage = iota
	stageAfter
)

func (s hookStage) String() string {
	if s == stageBefore {
		return "beforeEvaluation"
	}
	return "afterEvaluation"
}

// hookEntry is a configured hook with its error-log state per stage.
type hookEntry struct {
	hook Hook
	name string
	logs [2]hookLogState
}

type hookLogState struct {
	last       atomic.Int64 // UnixNano of the last log line; 0: none yet
	suppressed atomic.Int64 // failures not logged since then
}

func newHookEntries(hooks []Hook) ([]hookEntry, error) {
	if len(hooks) == 0 {
		return nil, nil
	}
	entries := make([]hookEntry, len(hooks))
	for i, h := range hooks {
		if h == nil {
			return nil, fmt.Errorf("client: Config.Hooks[%d] is nil", i)
		}
		entries[i].hook = h
		entries[i].name = h.Metadata().Name
	}
	return entries, nil
}

// variationWithHooks runs the hooks around evaluateTyped.
func (c *Client) variationWithHooks(ctx context.Context, d *evaluation.Detail, method, key string, ec evalctx.Context, def jsonvalue.Value, want jsonvalue.Type, tag **cache.Tag) error {
	series := EvaluationSeriesContext{FlagKey: key, Context: ec, DefaultValue: def, Method: method}
	data := make([]EvaluationSeriesData, len(c.hooks))
	for i := range c.hooks {
		data[i] = c.runStage(ctx, i, stageBefore, series, EvaluationSeriesData{}, evaluation.Detail{})
	}
	err := c.evaluateRecorded(ctx, d, method, key, ec, def, want, tag)
	for i := len(c.hooks) - 1; i >= 0; i-- {
		c.runStage(ctx, i, stageAfter, series, data[i], *d)
	}
	return err
}

// runStage runs one stage of hook i. On an error or a panic it logs and
// returns the data the stage received.
func (c *Client) runStage(ctx context.Context, i int, stage hookStage, series EvaluationSeriesContext, in EvaluationSeriesData, d evaluation.Detail) (out EvaluationSeriesData) {
	h := &c.hooks[i]
	defer func() {
		if p := recover(); p != nil {
			c.hookFailed(h, stage, series.FlagKey, fmt.Errorf("panic: %v", p))
			out = in
		}
	}()
	var err error
	if stage == stageBefore {
		out, err = h.hook.BeforeEvaluation(ctx, series, in)
	} else {
		out, err = h.hook.AfterEvaluation(ctx, series, in, d)
	}
	if err != nil {
		c.hookFailed(h, stage, series.FlagKey, err)
		return in
	}
	return out
}

// hookFailed logs a hook failure, at most once per hookErrorLogInterval per
// hook and stage.
func (c *Client) hookFailed(h *hookEntry, stage hookStage, flagKey string, err error) {
	st := &h.logs[stage]
	now := time.Now().UnixNano()
	last := st.last.Load()
	if last != 0 && now-last < int64(hookErrorLogInterval) || !st.last.CompareAndSwap(last, now) {
		st.suppressed.Add(1)
		return
	}
	c.logger.Error("evaluation hook failed; the evaluation is unaffected",
		"hook", h.name, "stage", stage.String(), "flag", flagKey,
		"err", err,
		"unlogged_failures", st.suppressed.Swap(0))
}
