package client

import (
	"context"
	"errors"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// The variation methods come in four forms for each value type, as in
// LaunchDarkly's Go SDK: XVariation returns the value; XVariationDetail
// also returns the evaluation detail (variation index and reason);
// XVariationCtx and XVariationDetailCtx take a context.Context, which bounds
// the wait for the store on a cache miss (a warm cache never waits) and is
// passed to hooks. The forms without a context.Context use
// context.Background().
//
// Each returns def whenever the detail has no variation index: the flag is
// off without an off variation, or the reason is ERROR. Every ERROR reason
// also returns an [*EvaluationError] (see the sentinel errors); a nil error
// means a value from the flag or an off flag's missing off variation.

// BoolVariation returns the value of a boolean flag for the evaluation
// context ec, or def (see the package documentation for when and why).
// With a warm cache and no hooks it makes no allocation.
func (c *Client) BoolVariation(key string, ec evalctx.Context, def bool) (bool, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodBoolVariation, key, ec, jsonvalue.Bool(def), jsonvalue.BoolType)
	return d.Value.Bool(), err
}

// BoolVariationCtx is [Client.BoolVariation] with a context.Context, which
// bounds a wait for the store and is passed to hooks.
func (c *Client) BoolVariationCtx(ctx context.Context, key string, ec evalctx.Context, def bool) (bool, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodBoolVariationCtx, key, ec, jsonvalue.Bool(def), jsonvalue.BoolType)
	return d.Value.Bool(), err
}

// BoolVariationDetail is [Client.BoolVariation], also returning the evaluation
// detail: the value returned, the variation index (-1 for none) and the reason.
func (c *Client) BoolVariationDetail(key string, ec evalctx.Context, def bool) (bool, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodBoolVariationDetail, key, ec, jsonvalue.Bool(def), jsonvalue.BoolType)
	return d.Value.Bool(), d, err
}

// BoolVariationDetailCtx is [Client.BoolVariationDetail] with a context.Context,
// which bounds a wait for the store and is passed to hooks.
func (c *Client) BoolVariationDetailCtx(ctx context.Context, key string, ec evalctx.Context, def bool) (bool, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodBoolVariationDetailCtx, key, ec, jsonvalue.Bool(def), jsonvalue.BoolType)
	return d.Value.Bool(), d, err
}

// IntVariation returns the value of a number flag for the evaluation context
// ec, as an int, or def. A value with a fraction is truncated toward zero, as
// LaunchDarkly does (int and float64 variations share the JSON type number).
func (c *Client) IntVariation(key string, ec evalctx.Context, def int) (int, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodIntVariation, key, ec, jsonvalue.Int(def), jsonvalue.NumberType)
	return d.Value.Int(), err
}

// IntVariationCtx is [Client.IntVariation] with a context.Context, which
// bounds a wait for the store and is passed to hooks.
func (c *Client) IntVariationCtx(ctx context.Context, key string, ec evalctx.Context, def int) (int, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodIntVariationCtx, key, ec, jsonvalue.Int(def), jsonvalue.NumberType)
	return d.Value.Int(), err
}

// IntVariationDetail is [Client.IntVariation], also returning the evaluation
// detail: the value returned, the variation index (-1 for none) and the reason.
func (c *Client) IntVariationDetail(key string, ec evalctx.Context, def int) (int, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodIntVariationDetail, key, ec, jsonvalue.Int(def), jsonvalue.NumberType)
	return d.Value.Int(), d, err
}

// IntVariationDetailCtx is [Client.IntVariationDetail] with a context.Context,
// which bounds a wait for the store and is passed to hooks.
func (c *Client) IntVariationDetailCtx(ctx context.Context, key string, ec evalctx.Context, def int) (int, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodIntVariationDetailCtx, key, ec, jsonvalue.Int(def), jsonvalue.NumberType)
	return d.Value.Int(), d, err
}

// Float64Variation returns the value of a number flag for the evaluation
// context ec, or def.
func (c *Client) Float64Variation(key string, ec evalctx.Context, def float64) (float64, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodFloat64Variation, key, ec, jsonvalue.Float(def), jsonvalue.NumberType)
	return d.Value.Float64(), err
}

// Float64VariationCtx is [Client.Float64Variation] with a context.Context, which
// bounds a wait for the store and is passed to hooks.
func (c *Client) Float64VariationCtx(ctx context.Context, key string, ec evalctx.Context, def float64) (float64, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodFloat64VariationCtx, key, ec, jsonvalue.Float(def), jsonvalue.NumberType)
	return d.Value.Float64(), err
}

// Float64VariationDetail is [Client.Float64Variation], also returning the evaluation
// detail: the value returned, the variation index (-1 for none) and the reason.
func (c *Client) Float64VariationDetail(key string, ec evalctx.Context, def float64) (float64, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodFloat64VariationDetail, key, ec, jsonvalue.Float(def), jsonvalue.NumberType)
	return d.Value.Float64(), d, err
}

// Float64VariationDetailCtx is [Client.Float64VariationDetail] with a context.Context,
// which bounds a wait for the store and is passed to hooks.
func (c *Client) Float64VariationDetailCtx(ctx context.Context, key string, ec evalctx.Context, def float64) (float64, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodFloat64VariationDetailCtx, key, ec, jsonvalue.Float(def), jsonvalue.NumberType)
	return d.Value.Float64(), d, err
}

// StringVariation returns the value of a string flag for the evaluation
// context ec, or def.
func (c *Client) StringVariation(key string, ec evalctx.Context, def string) (string, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodStringVariation, key, ec, jsonvalue.String(def), jsonvalue.StringType)
	return d.Value.Str(), err
}

// StringVariationCtx is [Client.StringVariation] with a context.Context, which
// bounds a wait for the store and is passed to hooks.
func (c *Client) StringVariationCtx(ctx context.Context, key string, ec evalctx.Context, def string) (string, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodStringVariationCtx, key, ec, jsonvalue.String(def), jsonvalue.StringType)
	return d.Value.Str(), err
}

// StringVariationDetail is [Client.StringVariation], also returning the evaluation
// detail: the value returned, the variation index (-1 for none) and the reason.
func (c *Client) StringVariationDetail(key string, ec evalctx.Context, def string) (string, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodStringVariationDetail, key, ec, jsonvalue.String(def), jsonvalue.StringType)
	return d.Value.Str(), d, err
}

// StringVariationDetailCtx is [Client.StringVariationDetail] with a context.Context,
// which bounds a wait for the store and is passed to hooks.
func (c *Client) StringVariationDetailCtx(ctx context.Context, key string, ec evalctx.Context, def string) (string, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodStringVariationDetailCtx, key, ec, jsonvalue.String(def), jsonvalue.StringType)
	return d.Value.Str(), d, err
}

// JSONVariation returns the value of a flag of any JSON type for the
// evaluation context ec, or def. There is no type check: any value is
// returned as it is.
func (c *Client) JSONVariation(key string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodJSONVariation, key, ec, def, jsonvalue.NullType)
	return d.Value, err
}

// JSONVariationCtx is [Client.JSONVariation] with a context.Context, which
// bounds a wait for the store and is passed to hooks.
func (c *Client) JSONVariationCtx(ctx context.Context, key string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodJSONVariationCtx, key, ec, def, jsonvalue.NullType)
	return d.Value, err
}

// JSONVariationDetail is [Client.JSONVariation], also returning the evaluation
// detail: the value returned, the variation index (-1 for none) and the reason.
func (c *Client) JSONVariationDetail(key string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(context.Background(), &d, methodJSONVariationDetail, key, ec, def, jsonvalue.NullType)
	return d.Value, d, err
}

// JSONVariationDetailCtx is [Client.JSONVariationDetail] with a context.Context,
// which bounds a wait for the store and is passed to hooks.
func (c *Client) JSONVariationDetailCtx(ctx context.Context, key string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, error) {
	var d evaluation.Detail
	err := c.variation(ctx, &d, methodJSONVariationDetailCtx, key, ec, def, jsonvalue.NullType)
	return d.Value, d, err
}

// Method names reported to hooks in EvaluationSeriesContext.Method.
const (
	methodBoolVariation             = "Client.BoolVariation"
	methodBoolVariationCtx          = "Client.BoolVariationCtx"
	methodBoolVariationDetail       = "Client.BoolVariationDetail"
	methodBoolVariationDetailCtx    = "Client.BoolVariationDetailCtx"
	methodIntVariation              = "Client.IntVariation"
	methodIntVariationCtx           = "Client.IntVariationCtx"
	methodIntVariationDetail        = "Client.IntVariationDetail"
	methodIntVariationDetailCtx     = "Client.IntVariationDetailCtx"
	methodFloat64Variation          = "Client.Float64Variation"
	methodFloat64VariationCtx       = "Client.Float64VariationCtx"
	methodFloat64VariationDetail    = "Client.Float64VariationDetail"
	methodFloat64VariationDetailCtx = "Client.Float64VariationDetailCtx"
	methodStringVariation           = "Client.StringVariation"
	methodStringVariationCtx        = "Client.StringVariationCtx"
	methodStringVariationDetail     = "Client.StringVariationDetail"
	methodStringVariationDetailCtx  = "Client.StringVariationDetailCtx"
	methodJSONVariation             = "Client.JSONVariation"
	methodJSONVariationCtx          = "Client.JSONVariationCtx"
	methodJSONVariationDetail       = "Client.JSONVariationDetail"
	methodJSONVariationDetailCtx    = "Client.JSONVariationDetailCtx"
)

// variation is every typed variation call: the hooks, if any, around the
// evaluation.
func (c *Client) variation(ctx context.Context, d *evaluation.Detail, method, key string, ec evalctx.Context, def jsonvalue.Value, want jsonvalue.Type) error {
	var err error
	var tag *cache.Tag // the flag key's tag in the cache, where stats keeps its counters
	switch {
	case c.hooks != nil:
		err = c.variationWithHooks(ctx, d, method, key, ec, def, want, &tag)
	case c.events != nil:
		err = c.variationWithEvents(ctx, d, method, key, ec, def, want, &tag)
	default:
		err = c.evaluateTyped(ctx, d, key, ec, def, want, nil, &tag)
	}
	if c.stats != nil {
		c.stats.evaluated(key, tag, &d.Reason)
	}
	return err
}

// evaluateTyped evaluates flag key for ec into d and applies the typed-call
// rules (default value, WRONG_TYPE). The path for a cached flag makes no
// allocation. (The detail is written through a pointer: copying it between
// the layers of a call costs more than the client's own work.) rec, when not
// nil, receives what events need (see events.go); tag, when not nil, the
// flag key's tag in the cache (see stats.evaluated), when the call got as
// far as looking the flag up.
func (c *Client) evaluateTyped(ctx context.Context, d *evaluation.Detail, key string, ec evalctx.Context, def jsonvalue.Value, want jsonvalue.Type, rec *evalRecord, tag **cache.Tag) error {
	if err := c.notReady(); err != nil {
		return c.errorResult(d, key, def, evaluation.ErrorClientNotReady, err)
	}
	if err := c.noData(); err != nil {
		return c.errorResult(d, key, def, evaluation.ErrorClientNotReady, err)
	}
	// One reading of the cache's clock for the whole evaluation, taken
	// before the context is read: the reading waits for the loads before
	// it, and the context's is a cache miss in a mix of many contexts.
	now := c.cache.Now()
	if err := ec.Err(); err != nil {
		return c.errorResult(d, key, def, evaluation.ErrorUserNotSpecified, err)
	}
	var flag *model.Flag
	for try := 1; ; try++ {
		removals := c.cache.Removals()
		if try > 1 {
			now = c.cache.Now()
		}
		var err error
		var t *cache.Tag
		flag, t, now, err = c.cache.GetFlagTagged(ctx, key, now)
		if tag != nil {
			*tag = t
		}
		if err != nil {
			return c.errorResult(d, key, def, readErrorKind(err), err)
		}
		if rec != nil {
			rec.ready, rec.flag = true, flag
		}
		if flag == nil {
			return c.errorResult(d, key, def, evaluation.ErrorFlagNotFound, nil)
		}
		if rec == nil {
			c.eval.EvaluateDetailAt(ctx, flag, ec, now, d)
		} else {
			var res evaluation.Result
			c.evaluate(ctx, flag, ec, now, rec, &res)
			*d = res.Detail
		}
		if c.cache.Removals() == removals || try == maxEvalTries {
			break
		}
		// The cache removed an item while this evaluation ran: it may
		// have read a flag from before a change and a segment or
		// prerequisite from after it. Evaluate again (see Cache.Removals).
	}
	switch {
	case d.VariationIndex < 0:
		d.Value = def // no value: off without an off variation, or an error
	case !evaluation.CheckType(d.Value, want):
		return c.errorResult(d, key, def, evaluation.ErrorWrongType, nil)
	}
	if d.Reason.Kind == evaluation.ReasonError {
		if d.Reason.ErrorKind == evaluation.ErrorMalformedFlag {
			c.logMalformed(flag)
		}
		return c.evalError(key, d.Reason.ErrorKind, nil)
	}
	return nil
}

// The cache gives the evaluator its prerequisites and segments at the
// reading of its clock taken for the flag's own lookup.
var _ evaluation.ClockedProvider = (*cache.Cache)(nil)

// maxEvalTries bounds how many times one call evaluates a flag again when
// the cache removed an item meanwhile; removals are rare, so a second
// evaluation practically always runs undisturbed.
const maxEvalTries = 3

// readErrorKind maps an error of the cache to the reason's error kind:
// MALFORMED_FLAG for an item the store holds but that cannot be decoded,
// CLIENT_NOT_READY when Close raced the call, EXCEPTION otherwise (the store
// failed with no last good value to serve, or ctx ended), as LaunchDarkly
// reports store errors.
func readErrorKind(err error) evaluation.ErrorKind {
	switch {
	case errors.Is(err, store.ErrMalformedItem):
		return evaluation.ErrorMalformedFlag
	case errors.Is(err, cache.ErrClosed):
		return evaluation.ErrorClientNotReady
	default:
		return evaluation.ErrorException
	}
}

// errorResult sets d to def with an error reason and returns the error.
func (c *Client) errorResult(d *evaluation.Detail, key string, def jsonvalue.Value, kind evaluation.ErrorKind, cause error) error {
	*d = evaluation.Detail{Value: def, VariationIndex: evaluation.NoVariation, Reason: evaluation.ErrorReason(kind)}
	return c.evalError(key, kind, cause)
}

type malformedKey struct {
	key     string
	version int
}

// logMalformed logs, once per flag version, that a flag's data is
// inconsistent. (The cache logs items it cannot decode.)
func (c *Client) logMalformed(f *model.Flag) {
	if c.malformed.first(malformedKey{f.Key, f.Version}) {
		c.logger.Warn("flag is malformed; its evaluations return the default value",
			"flag", f.Key, "version", f.Version)
	}
}
