package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ldeval "github.com/launchdarkly/go-server-sdk-evaluation/v3"
	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/model"
)

// Both evaluators over the same data: data providers built from the same
// JSON documents, big-segment providers built from the same memberships, and
// outcomes in one comparable form.

// ourData is our evaluator's DataProvider over decoded documents.
type ourData struct {
	flags    map[string]*model.Flag
	segments map[string]*model.Segment
}

func (d *ourData) Flag(_ context.Context, key string) *model.Flag {
	if f := d.flags[key]; f != nil && !f.Deleted {
		return f
	}
	return nil
}

func (d *ourData) Segment(_ context.Context, key string) *model.Segment {
	if s := d.segments[key]; s != nil && !s.Deleted {
		return s
	}
	return nil
}

// ldData is LaunchDarkly's evaluator's DataProvider over decoded documents.
type ldData struct {
	flags    map[string]*ldmodel.FeatureFlag
	segments map[string]*ldmodel.Segment
}

func (d *ldData) GetFeatureFlag(key string) *ldmodel.FeatureFlag {
	if f := d.flags[key]; f != nil && !f.Deleted {
		return f
	}
	return nil
}

func (d *ldData) GetSegment(key string) *ldmodel.Segment {
	if s := d.segments[key]; s != nil && !s.Deleted {
		return s
	}
	return nil
}

var ldSerialization = ldmodel.NewJSONDataModelSerialization()

// decodeLDFlag decodes a flag with LaunchDarkly's model (which preprocesses).
func decodeLDFlag(data []byte) (*ldmodel.FeatureFlag, error) {
	f, err := ldSerialization.UnmarshalFeatureFlag(data)
	if err != nil {
		return nil, err
	}
	return &f, nil
}

// decodeLDSegment decodes a segment with LaunchDarkly's model.
func decodeLDSegment(data []byte) (*ldmodel.Segment, error) {
	s, err := ldSerialization.UnmarshalSegment(data)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// bigSegmentData is one set of memberships, served to both evaluators.
type bigSegmentData struct {
	members map[string]map[string]bool
	status  string
}

type ourMembership map[string]bool

func (m ourMembership) CheckMembership(ref string) (included, known bool) {
	included, known = m[ref]
	return included, known
}

type ourBigSegments struct{ d bigSegmentData }

func (p ourBigSegments) Membership(_ context.Context, key string) (evaluation.Membership, evaluation.BigSegmentsStatus) {
	st := evaluation.BigSegmentsStatus(p.d.status)
	m, ok := p.d.members[key]
	if !ok || st == evaluation.BigSegmentsStoreError {
		return nil, st
	}
	return ourMembership(m), st
}

type ldMembership map[string]bool

func (m ldMembership) CheckMembership(ref string) ldvalue.OptionalBool {
	if v, ok := m[ref]; ok {
		return ldvalue.NewOptionalBool(v)
	}
	return ldvalue.OptionalBool{}
}

type ldBigSegments struct{ d bigSegmentData }

func (p ldBigSegments) GetMembership(key string) (ldeval.BigSegmentMembership, ldreason.BigSegmentsStatus) {
	st := ldreason.BigSegmentsStatus(p.d.status)
	m, ok := p.d.members[key]
	if !ok || st == ldreason.BigSegmentsStoreError {
		return nil, st
	}
	return ldMembership(m), st
}

// outcome is one evaluation result in a form both SDKs map to: JSON values
// (decoded with encoding/json, so equal JSON compares equal) and the
// prerequisite evaluations reported on the way.
type outcome struct {
	Value        any             `json:"value"`
	Variation    int             `json:"variationIndex"`
	Reason       any             `json:"reason"`
	IsExperiment bool            `json:"isExperiment"`
	Prereqs      []prereqOutcome `json:"prerequisites,omitempty"`
}

type prereqOutcome struct {
	Flag      string `json:"flag"`
	Prereq    string `json:"prerequisite"`
	Value     any    `json:"value"`
	Variation int    `json:"variationIndex"`
	Reason    any    `json:"reason"`
}

// jsonAny decodes JSON text into a comparable tree.
func jsonAny(b []byte) any {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Sprintf("invalid JSON %q: %v", b, err)
	}
	return v
}

func ourDetailParts(d evaluation.Detail) (value any, variation int, reason any) {
	rb, _ := d.Reason.MarshalJSON()
	return jsonAny(d.Value.JSON()), d.VariationIndex, jsonAny(rb)
}

func ldDetailParts(d ldreason.EvaluationDetail) (value any, variation int, reason any) {
	rb, _ := json.Marshal(d.Reason)
	return jsonAny([]byte(d.Value.JSONString())), d.VariationIndex.OrElse(-1), jsonAny(rb)
}

func evalOurs(ev *evaluation.Evaluator, f *model.Flag, c evalctx.Context) outcome {
	var o outcome
	rec := func(e evaluation.PrerequisiteEvent) {
		p := prereqOutcome{Flag: e.FlagKey, Prereq: e.Flag.Key}
		p.Value, p.Variation, p.Reason = ourDetailParts(e.Result.Detail)
		o.Prereqs = append(o.Prereqs, p)
	}
	r := ev.EvaluateWithRecorder(context.Background(), f, c, rec)
	o.Value, o.Variation, o.Reason = ourDetailParts(r.Detail)
	o.IsExperiment = r.IsExperiment
	return o
}

func evalLD(ev ldeval.Evaluator, f *ldmodel.FeatureFlag, c ldcontext.Context) outcome {
	var o outcome
	rec := func(e ldeval.PrerequisiteFlagEvent) {
		p := prereqOutcome{Flag: e.TargetFlagKey, Prereq: e.PrerequisiteFlag.Key}
		p.Value, p.Variation, p.Reason = ldDetailParts(e.PrerequisiteResult.Detail)
		o.Prereqs = append(o.Prereqs, p)
	}
	r := ev.Evaluate(f, c, rec)
	o.Value, o.Variation, o.Reason = ldDetailParts(r.Detail)
	o.IsExperiment = r.IsExperiment
	return o
}

// diffOutcomes names the first field in which two outcomes differ, or "".
func diffOutcomes(ours, ld outcome) string {
	switch {
	case !reflect.DeepEqual(ours.Value, ld.Value):
		return "value"
	case ours.Variation != ld.Variation:
		return "variationIndex"
	case !reflect.DeepEqual(ours.Reason, ld.Reason):
		return "reason"
	case ours.IsExperiment != ld.IsExperiment:
		return "isExperiment"
	case !reflect.DeepEqual(ours.Prereqs, ld.Prereqs):
		return "prerequisites"
	}
	return ""
}

// parseContexts parses one context document with both SDKs.
func parseContexts(data []byte) (evalctx.Context, ldcontext.Context, error, error) {
	ours, oerr := evalctx.Parse(data)
	var ld ldcontext.Context
	lerr := json.Unmarshal(data, &ld)
	if lerr == nil {
		lerr = ld.Err()
	}
	if oerr == nil {
		oerr = ours.Err()
	}
	return ours, ld, oerr, lerr
}

// sides is a world decoded by both SDKs, with an evaluator each.
type sides struct {
	ours   *ourData
	ld     *ldData
	ourEv  *evaluation.Evaluator
	ldEv   ldeval.Evaluator
	decode []string // decoding disagreements
}

// newSides decodes flag and segment documents with both SDKs. A document
// only one SDK can decode is recorded in decode; one neither can decode is
// left out of both.
func newSides(flags, segments [][]byte, big *bigSegmentData) *sides {
	s := &sides{
		ours: &ourData{flags: map[string]*model.Flag{}, segments: map[string]*model.Segment{}},
		ld:   &ldData{flags: map[string]*ldmodel.FeatureFlag{}, segments: map[string]*ldmodel.Segment{}},
	}
	for _, doc := range flags {
		of, oerr := model.DecodeFlag(doc)
		lf, lerr := decodeLDFlag(doc)
		if (oerr == nil) != (lerr == nil) {
			s.decode = append(s.decode, fmt.Sprintf("flag %s: ours: %v; LaunchDarkly: %v", doc, oerr, lerr))
		}
		if oerr == nil {
			s.ours.flags[of.Key] = of
		}
		if lerr == nil {
			s.ld.flags[lf.Key] = lf
		}
	}
	for _, doc := range segments {
		os, oerr := model.DecodeSegment(doc)
		ls, lerr := decodeLDSegment(doc)
		if (oerr == nil) != (lerr == nil) {
			s.decode = append(s.decode, fmt.Sprintf("segment %s: ours: %v; LaunchDarkly: %v", doc, oerr, lerr))
		}
		if oerr == nil {
			s.ours.segments[os.Key] = os
		}
		if lerr == nil {
			s.ld.segments[ls.Key] = ls
		}
	}
	if big != nil {
		s.ourEv = evaluation.New(s.ours, ourBigSegments{*big})
		s.ldEv = ldeval.NewEvaluatorWithOptions(s.ld, ldeval.EvaluatorOptionBigSegmentProvider(ldBigSegments{*big}))
	} else {
		s.ourEv = evaluation.New(s.ours, nil)
		s.ldEv = ldeval.NewEvaluator(s.ld)
	}
	return s
}

// evaluate evaluates flag key for a context with both SDKs. ok is false when
// either SDK lacks the flag (a decoding disagreement is reported apart).
func (s *sides) evaluate(key string, oc evalctx.Context, lc ldcontext.Context) (ours, ld outcome, ok bool) {
	of, lf := s.ours.flags[key], s.ld.flags[key]
	if of == nil || lf == nil {
		return ours, ld, false
	}
	return evalOurs(s.ourEv, of, oc), evalLD(s.ldEv, lf, lc), true
}
