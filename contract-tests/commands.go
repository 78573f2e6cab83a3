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
		def := p.DefaultValue.Bool()
		var v bool
		if p.Detail {
			v, detail, _ = c.BoolVariationDetailCtx(ctx, p.FlagKey, ec, def)
		} else {
			v, _ = c.BoolVariationCtx(ctx, p.FlagKey, ec, def)
		}
		value = jsonvalue.Bool(v)
	case "int":
		def := p.DefaultValue.Int()
		var v int
		if p.Detail {
			v, detail, _ = c.IntVariationDetailCtx(ctx, p.FlagKey, ec, def)
		} else {
			v, _ = c.IntVariationCtx(ctx, p.FlagKey, ec, def)
		}
		value = jsonvalue.Int(v)
	case "double":
		def := p.DefaultValue.Float64()
		var v float64
		if p.Detail {
			v, detail, _ = c.Float64VariationDetailCtx(ctx, p.FlagKey, ec, def)
		} else {
			v, _ = c.Float64VariationCtx(ctx, p.FlagKey, ec, def)
		}
		value = jsonvalue.Float(v)
	case "string":
		def := p.DefaultValue.Str()
		var v string
		if p.Detail {
			v, detail, _ = c.StringVariationDetailCtx(ctx, p.FlagKey, ec, def)
		} else {
			v, _ = c.StringVariationCtx(ctx, p.FlagKey, ec, def)
		}
		value = jsonvalue.String(v)
	case "any", "":
		if p.Detail {
			value, detail, _ = c.JSONVariationDetailCtx(ctx, p.FlagKey, ec, p.DefaultValue)
		} else {
			value, _ = c.JSONVariationCtx(ctx, p.FlagKey, ec, p.DefaultValue)
		}
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
	var opts []client.AllFlagsOption
	if p.WithReasons {
		opts = append(opts, client.WithReasons())
	}
	if p.ClientSideOnly {
		opts = append(opts, client.ClientSideOnly())
	}
	if p.DetailsOnlyForTrackedFlags {
		opts = append(opts, client.DetailsOnlyForTrackedFlags())
	}
	state := e.client.AllFlagsState(ctx, ec, opts...)
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
