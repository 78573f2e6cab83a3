package client

import (
	"context"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/migration"
)

const (
	methodMigrationVariation    = "Client.MigrationVariation"
	methodMigrationVariationCtx = "Client.MigrationVariationCtx"
)

// MigrationVariation evaluates a migration flag (a string flag whose value
// is a stage) for ec, as LaunchDarkly's MigrationVariation does. It returns
// the stage and a tracker for the operation the caller runs (see package
// migration, whose Migrator does this for you). A flag value that is not a
// stage gives def with reason ERROR/WRONG_TYPE and an error matching
// [ErrWrongType]; the other errors are those of [Client.StringVariation],
// also with def. The evaluation is counted in events like any other
// (hooks do not run for it); the tracker's event is sent by its Send.
func (c *Client) MigrationVariation(key string, ec evalctx.Context, def migration.Stage) (migration.Stage, *migration.Tracker, error) {
	return c.migrationVariation(context.Background(), methodMigrationVariation, key, ec, def)
}

// MigrationVariationCtx is [Client.MigrationVariation] with a
// context.Context, which bounds a wait for the store.
func (c *Client) MigrationVariationCtx(ctx context.Context, key string, ec evalctx.Context, def migration.Stage) (migration.Stage, *migration.Tracker, error) {
	return c.migrationVariation(ctx, methodMigrationVariationCtx, key, ec, def)
}

func (c *Client) migrationVariation(ctx context.Context, method, key string, ec evalctx.Context, def migration.Stage) (migration.Stage, *migration.Tracker, error) {
	defValue := jsonvalue.String(string(def))
	var (
		d   evaluation.Detail
		rec evalRecord
	)
	err := c.evaluateTyped(ctx, &d, key, ec, defValue, jsonvalue.StringType, &rec, nil)
	stage := def
	if err == nil {
		if s, perr := migration.ParseStage(d.Value.Str()); perr == nil {
			stage = s
		} else {
			err = c.errorResult(&d, key, defValue, evaluation.ErrorWrongType, perr)
		}
	}
	if c.events != nil {
		c.recordEvaluation(method, key, ec, defValue, &d, &rec)
	}
	t := migration.NewTracker(migration.Evaluation{FlagKey: key, Flag: rec.flag, Context: ec, Detail: d, Default: def},
		c.events.RecordRaw)
	return stage, t, err
}

var _ migration.Evaluator = (*Client)(nil)
