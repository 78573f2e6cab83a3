package client

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
	"github.com/daemonflag/daemonflag/store/cache"
)

// defaultEventsCloseTimeout bounds the last flush in Close.
const defaultEventsCloseTimeout = 5 * time.Second

// startEvents starts the event processor when Config.Events enables it.
func (c *Client) startEvents(cfg Config) error {
	if cfg.Offline || !cfg.Events.Enabled() {
		return nil
	}
	ecfg := cfg.Events
	if ecfg.Logger == nil {
		ecfg.Logger = c.logger
	}
	p, err := events.New(ecfg)
	if err != nil {
		return fmt.Errorf("client: events: %w", err)
	}
	c.events = p
	c.eventsCloseTimeout = ecfg.CloseTimeout
	if c.eventsCloseTimeout <= 0 {
		c.eventsCloseTimeout = defaultEventsCloseTimeout
	}
	return nil
}

// closeEvents delivers what is queued, within the close timeout.
func (c *Client) closeEvents() {
	if c.events == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.eventsCloseTimeout)
	defer cancel()
	if err := c.events.Close(ctx); err != nil {
		c.logger.Warn("events not all delivered before the close timeout", "err", err)
	}
}

// evalRecord carries what an evaluation's events need out of
// evaluateTyped: whether it got as far as looking the flag up, the flag,
// whether the result counts as an experiment, and the prerequisites
// evaluated.
type evalRecord struct {
	ready      bool
	flag       *model.Flag
	experiment bool
	prereqs    []evaluation.PrerequisiteEvent
}

// prereqCollector gathers prerequisite evaluations. It lives on the heap
// (only for flags with prerequisites), so that the evalRecord of every
// other evaluation stays on the stack.
type prereqCollector struct {
	list []evaluation.PrerequisiteEvent
}

func (pc *prereqCollector) add(pe evaluation.PrerequisiteEvent) { pc.list = append(pc.list, pe) }

// evaluate runs the evaluator into res, recording into rec when it is not
// nil. now is the cache's clock when flag was looked up (see
// cache.Cache.Now).
func (c *Client) evaluate(ctx context.Context, flag *model.Flag, ec evalctx.Context, now int64, rec *evalRecord, res *evaluation.Result) {
	if rec == nil || len(flag.Prerequisites) == 0 {
		c.eval.EvaluateAt(ctx, flag, ec, now, nil, res)
		if rec != nil {
			rec.experiment = res.IsExperiment
		}
		return
	}
	pc := &prereqCollector{}
	c.eval.EvaluateAt(ctx, flag, ec, now, pc.add, res)
	rec.experiment, rec.prereqs = res.IsExperiment, pc.list
}

// variationWithEvents is a variation call without hooks and with events.
func (c *Client) variationWithEvents(ctx context.Context, d *evaluation.Detail, method, key string, ec evalctx.Context, def jsonvalue.Value, want jsonvalue.Type, tag **cache.Tag) error {
	var rec evalRecord
	err := c.evaluateTyped(ctx, d, key, ec, def, want, &rec, tag)
	c.recordEvaluation(method, key, ec, def, d, &rec)
	return err
}

// evaluateRecorded is evaluateTyped plus events, when they are on.
func (c *Client) evaluateRecorded(ctx context.Context, d *evaluation.Detail, method, key string, ec evalctx.Context, def jsonvalue.Value, want jsonvalue.Type, tag **cache.Tag) error {
	if c.events == nil {
		return c.evaluateTyped(ctx, d, key, ec, def, want, nil, tag)
	}
	return c.variationWithEvents(ctx, d, method, key, ec, def, want, tag)
}

// recordEvaluation gives the processor the evaluation (after its
// prerequisites, as LaunchDarkly orders them). Detail methods ask for the
// reason in full events.
func (c *Client) recordEvaluation(method, key string, ec evalctx.Context, def jsonvalue.Value, d *evaluation.Detail, rec *evalRecord) {
	if !rec.ready {
		return
	}
	withReason := strings.Contains(method, "Detail")
	for i := range rec.prereqs {
		pe := &rec.prereqs[i]
		c.events.RecordEvaluation(&events.Evaluation{
			FlagKey: pe.Flag.Key, Flag: pe.Flag, Context: ec, Detail: pe.Result.Detail,
			WithReason: withReason, IsExperiment: pe.Result.IsExperiment, PrereqOf: pe.FlagKey,
		})
	}
	c.events.RecordEvaluation(&events.Evaluation{
		FlagKey: key, Flag: rec.flag, Context: ec, Detail: *d, Default: def,
		WithReason: withReason, IsExperiment: rec.experiment && d.Reason.Kind != evaluation.ReasonError,
	})
}
