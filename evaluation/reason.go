package evaluation

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// ReasonKind says why an evaluation produced its result.
type ReasonKind string

// The reason kinds LaunchDarkly defines.
const (
	// ReasonOff: the flag is off (served its off variation, or no value).
	ReasonOff ReasonKind = "OFF"
	// ReasonFallthrough: no target or rule matched.
	ReasonFallthrough ReasonKind = "FALLTHROUGH"
	// ReasonTargetMatch: the context is individually targeted.
	ReasonTargetMatch ReasonKind = "TARGET_MATCH"
	// ReasonRuleMatch: a rule matched (RuleIndex, RuleID).
	ReasonRuleMatch ReasonKind = "RULE_MATCH"
	// ReasonPrerequisiteFailed: a prerequisite did not evaluate to its
	// required variation (PrerequisiteKey).
	ReasonPrerequisiteFailed ReasonKind = "PREREQUISITE_FAILED"
	// ReasonError: the evaluation failed (ErrorKind).
	ReasonError ReasonKind = "ERROR"
)

// ErrorKind says what went wrong in an evaluation with [ReasonError].
type ErrorKind string

// The error kinds LaunchDarkly defines.
const (
	// ErrorClientNotReady: the client could not evaluate yet.
	ErrorClientNotReady ErrorKind = "CLIENT_NOT_READY"
	// ErrorFlagNotFound: no such flag.
	ErrorFlagNotFound ErrorKind = "FLAG_NOT_FOUND"
	// ErrorMalformedFlag: the flag's data is inconsistent (a variation
	// index out of range, an empty rollout, an invalid attribute
	// reference, a prerequisite or segment cycle).
	ErrorMalformedFlag ErrorKind = "MALFORMED_FLAG"
	// ErrorUserNotSpecified: the context is missing or invalid.
	ErrorUserNotSpecified ErrorKind = "USER_NOT_SPECIFIED"
	// ErrorWrongType: the value's type is not the one the caller asked for.
	ErrorWrongType ErrorKind = "WRONG_TYPE"
	// ErrorException: an unexpected error.
	ErrorException ErrorKind = "EXCEPTION"
)

// BigSegmentsStatus reports the state of big-segment data an evaluation
// used. The empty status means no big segment was involved.
type BigSegmentsStatus string

// The big-segment statuses LaunchDarkly defines.
const (
	// BigSegmentsHealthy: the membership was read from an up-to-date store.
	BigSegmentsHealthy BigSegmentsStatus = "HEALTHY"
	// BigSegmentsStale: the store has not been updated recently.
	BigSegmentsStale BigSegmentsStatus = "STALE"
	// BigSegmentsStoreError: the membership could not be read.
	BigSegmentsStoreError BigSegmentsStatus = "STORE_ERROR"
	// BigSegmentsNotConfigured: big segments are not set up, or a segment
	// has no generation.
	BigSegmentsNotConfigured BigSegmentsStatus = "NOT_CONFIGURED"
)

// Reason explains an evaluation result, as LaunchDarkly's evaluation
// reasons do. Fields that do not apply to Kind are zero. The zero Reason
// (no kind) encodes as null.
type Reason struct {
	// Kind is the reason kind.
	Kind ReasonKind
	// RuleIndex is the index of the matching rule (RULE_MATCH).
	RuleIndex int
	// RuleID is the matching rule's ID (RULE_MATCH), possibly empty.
	RuleID string
	// PrerequisiteKey is the direct prerequisite that failed
	// (PREREQUISITE_FAILED).
	PrerequisiteKey string
	// InExperiment is true when the result came from an experiment
	// (FALLTHROUGH or RULE_MATCH).
	InExperiment bool
	// ErrorKind says what went wrong (ERROR).
	ErrorKind ErrorKind
	// BigSegmentsStatus is set when the evaluation consulted a big segment.
	BigSegmentsStatus BigSegmentsStatus
}

// OffReason returns the reason for a flag that is off.
func OffReason() Reason { return Reason{Kind: ReasonOff} }

// FallthroughReason returns the reason for a flag that fell through.
func FallthroughReason(inExperiment bool) Reason {
	return Reason{Kind: ReasonFallthrough, InExperiment: inExperiment}
}

// TargetMatchReason returns the reason for an individually targeted
// context.
func TargetMatchReason() Reason { return Reason{Kind: ReasonTargetMatch} }

// RuleMatchReason returns the reason for a matching rule.
func RuleMatchReason(index int, id string, inExperiment bool) Reason {
	return Reason{Kind: ReasonRuleMatch, RuleIndex: index, RuleID: id, InExperiment: inExperiment}
}

// PrerequisiteFailedReason returns the reason for a failed prerequisite.
func PrerequisiteFailedReason(key string) Reason {
	return Reason{Kind: ReasonPrerequisiteFailed, PrerequisiteKey: key}
}

// ErrorReason returns the reason for a failed evaluation.
func ErrorReason(kind ErrorKind) Reason { return Reason{Kind: ReasonError, ErrorKind: kind} }

// String returns the reason's JSON.
func (r Reason) String() string {
	return string(r.AppendJSON(nil))
}

// MarshalJSON writes LaunchDarkly's reason JSON: "kind", then only the
// properties that apply ("ruleIndex" and "ruleId" for RULE_MATCH, "ruleId"
// only when not empty; "inExperiment" only when true; "prerequisiteKey";
// "errorKind"; "bigSegmentsStatus" only when set). The zero Reason is null.
func (r Reason) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 64)), nil
}

// AppendJSON appends the reason's JSON (as [Reason.MarshalJSON] writes it)
// to dst.
func (r Reason) AppendJSON(dst []byte) []byte {
	if r.Kind == "" {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"kind":`...)
	dst = jsonvalue.String(string(r.Kind)).AppendJSON(dst)
	if r.Kind == ReasonRuleMatch {
		dst = append(dst, `,"ruleIndex":`...)
		dst = strconv.AppendInt(dst, int64(r.RuleIndex), 10)
		if r.RuleID != "" {
			dst = append(dst, `,"ruleId":`...)
			dst = jsonvalue.String(r.RuleID).AppendJSON(dst)
		}
	}
	if r.InExperiment {
		dst = append(dst, `,"inExperiment":true`...)
	}
	if r.Kind == ReasonPrerequisiteFailed {
		dst = append(dst, `,"prerequisiteKey":`...)
		dst = jsonvalue.String(r.PrerequisiteKey).AppendJSON(dst)
	}
	if r.Kind == ReasonError {
		dst = append(dst, `,"errorKind":`...)
		dst = jsonvalue.String(string(r.ErrorKind)).AppendJSON(dst)
	}
	if r.BigSegmentsStatus != "" {
		dst = append(dst, `,"bigSegmentsStatus":`...)
		dst = jsonvalue.String(string(r.BigSegmentsStatus)).AppendJSON(dst)
	}
	return append(dst, '}')
}

// UnmarshalJSON reads LaunchDarkly's reason JSON; null gives the zero
// Reason. Unknown properties are ignored.
func (r *Reason) UnmarshalJSON(data []byte) error {
	v, err := jsonvalue.Parse(data)
	if err != nil {
		return err
	}
	if v.IsNull() {
		*r = Reason{}
		return nil
	}
	if !v.IsObject() {
		return errors.New("evaluation: reason must be a JSON object or null")
	}
	var out Reason
	str := func(name string) (string, error) {
		p, ok := v.Get(name)
		if !ok || p.IsNull() {
			return "", nil
		}
		if !p.IsString() {
			return "", errors.New("evaluation: reason property " + strconv.Quote(name) + " must be a string")
		}
		return p.Str(), nil
	}
	var s string
	if s, err = str("kind"); err != nil {
		return err
	}
	out.Kind = ReasonKind(s)
	if out.RuleID, err = str("ruleId"); err != nil {
		return err
	}
	if out.PrerequisiteKey, err = str("prerequisiteKey"); err != nil {
		return err
	}
	if s, err = str("errorKind"); err != nil {
		return err
	}
	out.ErrorKind = ErrorKind(s)
	if s, err = str("bigSegmentsStatus"); err != nil {
		return err
	}
	out.BigSegmentsStatus = BigSegmentsStatus(s)
	if p, ok := v.Get("ruleIndex"); ok && !p.IsNull() {
		if !p.IsInt() {
			return errors.New(`evaluation: reason property "ruleIndex" must be a whole number`)
		}
		out.RuleIndex = p.Int()
	}
	if p, ok := v.Get("inExperiment"); ok && !p.IsNull() {
		if !p.IsBool() {
			return errors.New(`evaluation: reason property "inExperiment" must be a boolean`)
		}
		out.InExperiment = p.Bool()
	}
	*r = out
	return nil
}

var _ json.Marshaler = Reason{}
