package main

import (
	"context"
	"encoding/json"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// evaluateParams are the parameters of the "evaluate" command.
type evaluateParams struct {
	FlagKey      string          `json:"flagKey"`
	Context      json.RawMessage `json:"context"`
	User         json.RawMessage `json:"user"`
	ValueType    string          `json:"valueType"`
	DefaultValue jsonvalue.Value `json:"defaultValue"`
	Detail       bool            `json:"detail"`
}

// evaluateResponse is the answer of "evaluate": the value, and with detail
// the variation index (when there is one) and the reason.
type evaluateResponse struct {
	Value          jsonvalue.Value    `json:"value"`
	VariationIndex *int               `json:"variationIndex,omitempty"`
	Reason         *evaluation.Reason `json:"reason,omitempty"`
}

// evaluationContext reads the "context" (current JSON format) or "user"
// (old user format) parameter. A context that does not validate is still
// returned, invalid, so that the client answers USER_NOT_SPECIFIED as
// LaunchDarkly's SDKs do; only a missing context is the request's fault.
func evaluationContext(ctxJSON, userJSON json.RawMessage) (evalctx.Context, error) {
	switch {
	case len(ctxJSON) > 0 && string(ctxJSON) != "null":
		c, _ := evalctx.Parse(ctxJSON)
		return c, nil
	case len(userJSON) > 0 && string(userJSON) != "null":
		c, _ := evalctx.ParseOldUser(userJSON)
		return c, nil
	}
	return evalctx.Context{}, badRequest("no context or user")
}

func (e *entity) evaluate(ctx context.Context, p *evaluateParams) (any, error) {
	if p == nil {
		return nil, badRequest("no evaluate parameters")
	}
	if p.FlagKey == "" {
		return nil, badRequest("no flagKey")
	}
	ec, err := evaluationContext(p.Context, p.User)
	if err != nil {
		return nil, err
	}
	c := e.client
	var (
		value  jsonvalue.Value
		detail evaluation.Detail
	)
	// Each value type calls its own typed method, so that the hooks see
	// the method a program would call. Evaluation errors are in the
	// detail; the error return adds nothing the harness checks.
	switch p.ValueType {
	case "bool":
		v, d := variation(ctx, p, ec, p.DefaultValue.Bool(), c.BoolVariationCtx, c.BoolVariationDetailCtx)
		value, detail = jsonvalue.Bool(v), d
	case "int":
		v, d := variation(ctx, p, ec, p.DefaultValue.Int(), c.IntVariationCtx, c.IntVariationDetailCtx)
		value, detail = jsonvalue.Int(v), d
	case "double":
		v, d := variation(ctx, p, ec, p.DefaultValue.Float64(), c.Float64VariationCtx, c.Float64VariationDetailCtx)
		value, detail = jsonvalue.Float(v), d
	case "string":
		v, d := variation(ctx, p, ec, p.DefaultValue.Str(), c.StringVariationCtx, c.StringVariationDetailCtx)
		value, detail = jsonvalue.String(v), d
	case "any", "":
		value, detail = variation(ctx, p, ec, p.DefaultValue, c.JSONVariationCtx, c.JSONVariationDetailCtx)
	default:
		return nil, badRequest("unknown valueType %q (want bool, int, double, string or any)", p.ValueType)
	}
	resp := evaluateResponse{Value: value}
	if p.Detail {
		if detail.VariationIndex >= 0 {
			resp.VariationIndex = &detail.VariationIndex
		}
		resp.Reason = &detail.Reason
	}
	return resp, nil
}

// variation evaluates the flag of p with a typed variation method: the
// detail one when p asks for detail, the plain one (and a zero detail)
// otherwise.
func variation[T any](ctx context.Context, p *evaluateParams, ec evalctx.Context, def T,
	plain func(context.Context, string, evalctx.Context, T) (T, error),
	withDetail func(context.Context, string, evalctx.Context, T) (T, evaluation.Detail, error)) (T, evaluation.Detail) {
	if p.Detail {
		v, d, _ := withDetail(ctx, p.FlagKey, ec, def)
		return v, d
	}
	v, _ := plain(ctx, p.FlagKey, ec, def)
	return v, evaluation.Detail{}
}

// evaluateAllParams are the parameters of the "evaluateAll" command.
type evaluateAllParams struct {
	Context                    json.RawMessage `json:"context"`
	User                       json.RawMessage `json:"user"`
	WithReasons                bool            `json:"withReasons"`
	ClientSideOnly             bool            `json:"clientSideOnly"`
	DetailsOnlyForTrackedFlags bool            `json:"detailsOnlyForTrackedFlags"`
}

func (e *entity) evaluateAll(ctx context.Context, p *evaluateAllParams) (any, error) {
	if p == nil {
		p = &evaluateAllParams{}
	}
	ec, err := evaluationContext(p.Context, p.User)
	if err != nil {
		return nil, err
	}
	state := e.client.AllFlagsState(ctx, ec, client.AllFlagsOptions{
		WithReasons:                p.WithReasons,
		ClientSideOnly:             p.ClientSideOnly,
		DetailsOnlyForTrackedFlags: p.DetailsOnlyForTrackedFlags,
	})
	return map[string]any{"state": state}, nil
}

func (e *entity) bigSegmentStoreStatus() (any, error) {
	st := e.client.BigSegmentStoreStatus()
	return map[string]bool{"available": st.Available, "stale": st.Stale}, nil
}

// secureModeHashParams are the parameters of the "secureModeHash" command.
type secureModeHashParams struct {
	Context json.RawMessage `json:"context"`
	User    json.RawMessage `json:"user"`
}

func (e *entity) secureModeHash(p *secureModeHashParams) (any, error) {
	if p == nil {
		return nil, badRequest("no secureModeHash parameters")
	}
	ec, err := evaluationContext(p.Context, p.User)
	if err != nil {
		return nil, err
	}
	return map[string]string{"result": e.client.SecureModeHash(ec)}, nil
}
