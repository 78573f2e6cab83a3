package openfeature

import (
	"context"
	"strconv"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store/cache"
)

// StaleReason is the reason of a value served from the last good data while
// the store is unavailable or has lost its dataset. (OpenFeature defines
// STALE; the Go SDK has no constant for it.)
const StaleReason of.Reason = "STALE"

// Flag metadata keys: LaunchDarkly's evaluation detail, which OpenFeature's
// reason and variant cannot carry.
const (
	MetaReasonKind        = "reasonKind"        // string: LaunchDarkly's reason kind (OFF, FALLTHROUGH, TARGET_MATCH, RULE_MATCH, PREREQUISITE_FAILED, ERROR)
	MetaErrorKind         = "errorKind"         // string: LaunchDarkly's error kind, for ERROR
	MetaVariationIndex    = "variationIndex"    // int64: the variation served; absent when the default was
	MetaRuleIndex         = "ruleIndex"         // int64: the matched rule, for RULE_MATCH
	MetaRuleID            = "ruleId"            // string: the matched rule's ID, for RULE_MATCH when it has one
	MetaPrerequisiteKey   = "prerequisiteKey"   // string: the failed prerequisite, for PREREQUISITE_FAILED
	MetaInExperiment      = "inExperiment"      // bool: true when the result is part of an experiment; absent otherwise
	MetaBigSegmentsStatus = "bigSegmentsStatus" // string: HEALTHY, STALE, STORE_ERROR or NOT_CONFIGURED, when a big segment was consulted
	MetaFlagVersion       = "flagVersion"       // int64: the flag's version in the store
	MetaContextID         = "contextId"         // string: the context's fully qualified key
)

// BooleanEvaluation evaluates a boolean flag (client.BoolVariationDetailCtx).
func (p *Provider) BooleanEvaluation(ctx context.Context, flag string, def bool, flat of.FlattenedContext) of.BoolResolutionDetail {
	v, r := evaluate(p, ctx, flag, def, flat, p.client.BoolVariationDetailCtx)
	return of.BoolResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// StringEvaluation evaluates a string flag.
func (p *Provider) StringEvaluation(ctx context.Context, flag string, def string, flat of.FlattenedContext) of.StringResolutionDetail {
	v, r := evaluate(p, ctx, flag, def, flat, p.client.StringVariationDetailCtx)
	return of.StringResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// FloatEvaluation evaluates a number flag.
func (p *Provider) FloatEvaluation(ctx context.Context, flag string, def float64, flat of.FlattenedContext) of.FloatResolutionDetail {
	v, r := evaluate(p, ctx, flag, def, flat, p.client.Float64VariationDetailCtx)
	return of.FloatResolutionDetail{Value: v, ProviderResolutionDetail: r}
}

// IntEvaluation evaluates a number flag as an integer. A value with a
// fraction is truncated toward zero, as LaunchDarkly's IntVariation does
// (JSON has one number type, so 2.5 is not a type mismatch); a value that
// is not a number is TYPE_MISMATCH.
func (p *Provider) IntEvaluation(ctx context.Context, flag string, def int64, flat of.FlattenedContext) of.IntResolutionDetail {
	v, r := evaluate(p, ctx, flag, int(def), flat, p.client.IntVariationDetailCtx)
	return of.IntResolutionDetail{Value: int64(v), ProviderResolutionDetail: r}
}

// evaluate maps the context and evaluates through one of the client's
// typed variations; on a context that cannot map it returns def.
func evaluate[T any](p *Provider, ctx context.Context, flag string, def T, flat of.FlattenedContext,
	variation func(context.Context, string, evalctx.Context, T) (T, evaluation.Detail, error)) (T, of.ProviderResolutionDetail) {
	ec, cerr := toContext(flat)
	if cerr != nil {
		return def, contextFailure(cerr)
	}
	v, d, err := variation(ctx, flag, ec, def)
	return v, p.resolution(ctx, flag, ec, d, err)
}

// ObjectEvaluation evaluates a flag whose value is a JSON object or array,
// returned as map[string]any or []any (numbers float64), as encoding/json
// decodes them. A flag value of another JSON type is TYPE_MISMATCH. The
// default value is returned as given whenever there is no variation.
func (p *Provider) ObjectEvaluation(ctx context.Context, flag string, def any, flat of.FlattenedContext) of.InterfaceResolutionDetail {
	ec, cerr := toContext(flat)
	if cerr != nil {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: contextFailure(cerr)}
	}
	jdef, _ := jsonvalue.FromAny(def) // only hooks see it: def itself is returned without a variation
	_, d, err := p.client.JSONVariationDetailCtx(ctx, flag, ec, jdef)
	if err == nil && d.VariationIndex >= 0 && !d.Value.IsObject() && !d.Value.IsArray() {
		return of.InterfaceResolutionDetail{Value: def, ProviderResolutionDetail: of.ProviderResolutionDetail{
			ResolutionError: of.NewTypeMismatchResolutionError("flag " + strconv.Quote(flag) + " has a " + d.Value.Type().String() + " value, not an object or array"),
			Reason:          of.ErrorReason,
			FlagMetadata:    p.metadata(ctx, flag, ec, d),
		}}
	}
	var v any = def
	if d.VariationIndex >= 0 && err == nil {
		v = d.Value.Any()
	}
	return of.InterfaceResolutionDetail{Value: v, ProviderResolutionDetail: p.resolution(ctx, flag, ec, d, err)}
}

func contextFailure(cerr *contextError) of.ProviderResolutionDetail {
	return of.ProviderResolutionDetail{ResolutionError: cerr.resolution(), Reason: of.ErrorReason}
}

// resolution maps a daemonflag evaluation detail to OpenFeature's: the
// variant is the variation index as a string ("" when the default was
// served), the reason one of OpenFeature's (see the package documentation),
// the flag metadata LaunchDarkly's detail.
func (p *Provider) resolution(ctx context.Context, flag string, ec evalctx.Context, d evaluation.Detail, err error) of.ProviderResolutionDetail {
	md, split := p.metadataSplit(ctx, flag, ec, d)
	if d.Reason.Kind == evaluation.ReasonError {
		return of.ProviderResolutionDetail{ResolutionError: p.resolutionError(d.Reason.ErrorKind, err), Reason: of.ErrorReason, FlagMetadata: md}
	}
	r := Reason(d.Reason, split)
	if p.client.DataStoreStatus().Stale {
		r = StaleReason
	}
	var variant string
	if d.VariationIndex >= 0 {
		variant = strconv.Itoa(d.VariationIndex)
	}
	return of.ProviderResolutionDetail{Reason: r, Variant: variant, FlagMetadata: md}
}

// Reason maps a LaunchDarkly reason to OpenFeature's standard reasons (see
// client.StandardReason): TARGET_MATCH -> TARGETING_MATCH; RULE_MATCH ->
// TARGETING_MATCH, or SPLIT when split (a percentage rollout or an
// experiment); FALLTHROUGH -> DEFAULT, or SPLIT when split; OFF -> DISABLED;
// PREREQUISITE_FAILED -> DEFAULT (the off variation: targeting did not
// run); ERROR -> ERROR. (The provider reports STALE instead while the store
// is unavailable.)
func Reason(r evaluation.Reason, split bool) of.Reason {
	return of.Reason(client.StandardReason(r, split))
}

// resolutionError maps a LaunchDarkly error kind to a resolution error.
func (p *Provider) resolutionError(kind evaluation.ErrorKind, err error) of.ResolutionError {
	msg := string(kind)
	if err != nil {
		msg = err.Error()
	}
	switch kind {
	case evaluation.ErrorFlagNotFound:
		if p.client.DataStoreStatus().State == cache.NotInitialized {
			return of.NewProviderNotReadyResolutionError(msg + ": the flag store holds no dataset (no writer yet, or a prefix that is not the writer's)")
		}
		return of.NewFlagNotFoundResolutionError(msg)
	case evaluation.ErrorWrongType:
		return of.NewTypeMismatchResolutionError(msg)
	case evaluation.ErrorMalformedFlag:
		return of.NewParseErrorResolutionError(msg, err)
	case evaluation.ErrorUserNotSpecified:
		return of.NewInvalidContextResolutionError(msg)
	case evaluation.ErrorClientNotReady:
		return of.NewProviderNotReadyResolutionError(msg)
	}
	if st := p.client.DataStoreStatus(); st.State != cache.Available && !st.Stale {
		// The store fails and the client never had data: nothing can be
		// evaluated until it answers.
		return of.NewProviderNotReadyResolutionError(msg)
	}
	return of.NewGeneralResolutionError(msg, err)
}

// metadata is metadataSplit without the split.
func (p *Provider) metadata(ctx context.Context, flag string, ec evalctx.Context, d evaluation.Detail) of.FlagMetadata {
	md, _ := p.metadataSplit(ctx, flag, ec, d)
	return md
}

// metadataSplit builds the flag metadata of a result, and reports whether
// its variation came from a rollout or experiment.
func (p *Provider) metadataSplit(ctx context.Context, flag string, ec evalctx.Context, d evaluation.Detail) (of.FlagMetadata, bool) {
	r := d.Reason
	md := make(of.FlagMetadata, 6)
	md[MetaReasonKind] = reasonKindValue(r.Kind)
	md[MetaContextID] = ec.FullyQualifiedKey()
	if d.VariationIndex >= 0 {
		md[MetaVariationIndex] = int64(d.VariationIndex)
	}
	switch r.Kind {
	case evaluation.ReasonRuleMatch:
		md[MetaRuleIndex] = int64(r.RuleIndex)
		if r.RuleID != "" {
			md[MetaRuleID] = r.RuleID
		}
	case evaluation.ReasonPrerequisiteFailed:
		md[MetaPrerequisiteKey] = r.PrerequisiteKey
	case evaluation.ReasonError:
		md[MetaErrorKind] = string(r.ErrorKind)
	}
	if r.InExperiment {
		md[MetaInExperiment] = true
	}
	if r.BigSegmentsStatus != "" {
		md[MetaBigSegmentsStatus] = string(r.BigSegmentsStatus)
	}
	info, ok := p.client.FlagInfo(ctx, flag, r)
	if ok {
		md[MetaFlagVersion] = int64(info.Version)
	}
	return md, info.Split
}

// reasonKindValue returns the reason kind as an interface value without
// allocating for the kinds LaunchDarkly defines (constants need no boxing).
func reasonKindValue(k evaluation.ReasonKind) any {
	switch k {
	case evaluation.ReasonOff:
		return string(evaluation.ReasonOff)
	case evaluation.ReasonFallthrough:
		return string(evaluation.ReasonFallthrough)
	case evaluation.ReasonTargetMatch:
		return string(evaluation.ReasonTargetMatch)
	case evaluation.ReasonRuleMatch:
		return string(evaluation.ReasonRuleMatch)
	case evaluation.ReasonPrerequisiteFailed:
		return string(evaluation.ReasonPrerequisiteFailed)
	case evaluation.ReasonError:
		return string(evaluation.ReasonError)
	}
	return string(k)
}
