package client

import "github.com/daemonflag/daemonflag/evaluation"

// Standard reasons and error codes: the vocabulary OpenFeature and
// OpenTelemetry's feature-flag semantic conventions share. They are spelled
// as OpenFeature spells them; OpenTelemetry's feature_flag.result.reason and
// error.type are the lowercase forms.
const (
	StandardTargetingMatch = "TARGETING_MATCH"
	StandardSplit          = "SPLIT"
	StandardDefault        = "DEFAULT"
	StandardDisabled       = "DISABLED"
	StandardStale          = "STALE"
	StandardError          = "ERROR"
	StandardUnknown        = "UNKNOWN"
)

// StandardReason maps a LaunchDarkly reason to a standard one:
// TARGET_MATCH -> TARGETING_MATCH; RULE_MATCH -> TARGETING_MATCH, or SPLIT
// when split (the rule serves a percentage rollout or an experiment; see
// [FlagInfo]); FALLTHROUGH -> DEFAULT for a fixed variation, SPLIT when
// split; OFF -> DISABLED; PREREQUISITE_FAILED -> DEFAULT (the flag's off
// variation, a preconfigured value: targeting did not run); ERROR -> ERROR;
// anything else UNKNOWN. Integrations report STALE instead while the store
// is unavailable and the last good values are served (Status.Stale).
func StandardReason(r evaluation.Reason, split bool) string {
	switch r.Kind {
	case evaluation.ReasonTargetMatch:
		return StandardTargetingMatch
	case evaluation.ReasonRuleMatch:
		if split {
			return StandardSplit
		}
		return StandardTargetingMatch
	case evaluation.ReasonFallthrough:
		if split {
			return StandardSplit
		}
		return StandardDefault
	case evaluation.ReasonOff:
		return StandardDisabled
	case evaluation.ReasonPrerequisiteFailed:
		return StandardDefault
	case evaluation.ReasonError:
		return StandardError
	}
	return StandardUnknown
}

// StandardErrorCode maps a LaunchDarkly error kind to a standard error code:
// FLAG_NOT_FOUND; WRONG_TYPE -> TYPE_MISMATCH; MALFORMED_FLAG ->
// PARSE_ERROR; USER_NOT_SPECIFIED -> INVALID_CONTEXT; CLIENT_NOT_READY ->
// PROVIDER_NOT_READY; EXCEPTION (and anything else) -> GENERAL.
func StandardErrorCode(k evaluation.ErrorKind) string {
	switch k {
	case evaluation.ErrorFlagNotFound:
		return "FLAG_NOT_FOUND"
	case evaluation.ErrorWrongType:
		return "TYPE_MISMATCH"
	case evaluation.ErrorMalformedFlag:
		return "PARSE_ERROR"
	case evaluation.ErrorUserNotSpecified:
		return "INVALID_CONTEXT"
	case evaluation.ErrorClientNotReady:
		return "PROVIDER_NOT_READY"
	}
	return "GENERAL"
}

// ErrorMessage is the message of the error a variation call with error kind
// k returns, without the flag key and cause ("flag not found").
func ErrorMessage(k evaluation.ErrorKind) string { return sentinel(k).Error() }
