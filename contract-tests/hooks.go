package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

// The evaluation stages, as the harness names them.
const (
	stageBefore = "beforeEvaluation"
	stageAfter  = "afterEvaluation"
)

// postingHook is the harness's hook: each stage POSTs what it saw to the
// hook's callback URI, then adds the configured data for the stage to the
// series data; a stage configured with an error returns it instead, without
// posting.
type postingHook struct {
	client.HookBase
	cfg    hookConfig
	log    *slog.Logger
	client *http.Client
}

func newPostingHook(cfg hookConfig, logger *slog.Logger) *postingHook {
	return &postingHook{cfg: cfg, log: logger.With("hook", cfg.Name), client: &http.Client{Timeout: callbackTimeout}}
}

// Metadata names the hook.
func (h *postingHook) Metadata() client.HookMetadata { return client.HookMetadata{Name: h.cfg.Name} }

// BeforeEvaluation posts the series context and data.
func (h *postingHook) BeforeEvaluation(ctx context.Context, series client.EvaluationSeriesContext, data client.EvaluationSeriesData) (client.EvaluationSeriesData, error) {
	return h.stage(ctx, stageBefore, series, data, nil)
}

// AfterEvaluation posts the series context, data and evaluation detail.
func (h *postingHook) AfterEvaluation(ctx context.Context, series client.EvaluationSeriesContext, data client.EvaluationSeriesData, detail evaluation.Detail) (client.EvaluationSeriesData, error) {
	return h.stage(ctx, stageAfter, series, data, &detail)
}

// hookPayload is what a hook posts, in the harness's format.
type hookPayload struct {
	Stage            string             `json:"stage"`
	SeriesContext    seriesContextJSON  `json:"evaluationSeriesContext"`
	SeriesData       map[string]any     `json:"evaluationSeriesData"`
	EvaluationDetail *evaluationDetailJ `json:"evaluationDetail,omitempty"`
}

type seriesContextJSON struct {
	FlagKey      string          `json:"flagKey"`
	Context      json.RawMessage `json:"context"`
	DefaultValue jsonvalue.Value `json:"defaultValue"`
	Method       string          `json:"method"`
}

type evaluationDetailJ struct {
	Value          jsonvalue.Value    `json:"value"`
	VariationIndex *int               `json:"variationIndex,omitempty"`
	Reason         *evaluation.Reason `json:"reason,omitempty"`
}

func (h *postingHook) stage(ctx context.Context, stage string, series client.EvaluationSeriesContext, data client.EvaluationSeriesData, detail *evaluation.Detail) (client.EvaluationSeriesData, error) {
	if msg, ok := h.cfg.Errors[stage]; ok && msg != nil {
		return data, errors.New(*msg)
	}
	ctxJSON, err := series.Context.MarshalJSON()
	if err != nil {
		ctxJSON = []byte("null") // an invalid context has no JSON
	}
	p := hookPayload{
		Stage: stage,
		SeriesContext: seriesContextJSON{
			FlagKey: series.FlagKey, Context: ctxJSON, DefaultValue: series.DefaultValue, Method: series.Method,
		},
		SeriesData: map[string]any{},
	}
	for _, k := range data.Keys() {
		p.SeriesData[k], _ = data.Get(k)
	}
	if detail != nil {
		p.EvaluationDetail = &evaluationDetailJ{Value: detail.Value, Reason: &detail.Reason}
		if detail.VariationIndex >= 0 {
			p.EvaluationDetail.VariationIndex = &detail.VariationIndex
		}
	}
	if err := h.post(ctx, p); err != nil {
		h.log.Warn("hook callback failed", "stage", stage, "err", err)
	}
	added := h.cfg.Data[stage]
	for _, k := range slices.Sorted(maps.Keys(added)) {
		data = data.With(k, added[k])
	}
	return data, nil
}

func (h *postingHook) post(ctx context.Context, p hookPayload) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, h.cfg.CallbackURI, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}
