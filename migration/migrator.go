package migration

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
)

// Evaluator evaluates migration flags: *client.Client implements it.
type Evaluator interface {
	// MigrationVariationCtx returns the stage for ec (def when the flag's
	// value is not a stage) and a tracker for the operation.
	MigrationVariationCtx(ctx context.Context, key string, ec evalctx.Context, def Stage) (Stage, *Tracker, error)
}

// Func is one origin's implementation of an operation: it receives the
// operation's payload and returns its result.
type Func[P, T any] func(ctx context.Context, payload P) (T, error)

// Config configures a [Migrator] for one operation pair: payloads of type
// P, reads returning R, writes returning W. Zero values are the documented
// defaults.
type Config[P, R, W any] struct {
	// ReadOld and ReadNew read from each origin. Both are required.
	ReadOld, ReadNew Func[P, R]
	// WriteOld and WriteNew write to each origin. Both are required.
	WriteOld, WriteNew Func[P, W]
	// Compare reports whether two successful reads agree. Nil: consistency
	// is not checked.
	Compare func(old, new R) bool
	// ReadOrder is how a read of both origins runs. Zero: [Concurrent].
	ReadOrder ExecutionOrder
	// NoLatency turns latency tracking off. Zero: latency is tracked.
	NoLatency bool
	// NoErrors turns error tracking off. Zero: errors are tracked.
	NoErrors bool
	// Logger receives a line when an operation's event cannot be built.
	// Nil: slog.Default().
	Logger *slog.Logger
}

// ErrConfig is matched by the error of [NewMigrator] for an incomplete
// configuration.
var ErrConfig = errors.New("migration: invalid migrator configuration")

// Migrator runs reads and writes through a migration flag, following the
// stage table of the package documentation, and sends one migration_op
// event per operation. Create one with [NewMigrator]; it is safe for concurrent use.
type Migrator[P, R, W any] struct {
	eval Evaluator
	cfg  Config[P, R, W]
	log  *slog.Logger
}

// NewMigrator returns a migrator evaluating its flags with eval (a *client.Client).
func NewMigrator[P, R, W any](eval Evaluator, cfg Config[P, R, W]) (*Migrator[P, R, W], error) {
	switch {
	case eval == nil:
		return nil, errors.Join(ErrConfig, errors.New("no evaluator (pass the client)"))
	case cfg.ReadOld == nil || cfg.ReadNew == nil:
		return nil, errors.Join(ErrConfig, errors.New("ReadOld and ReadNew are required"))
	case cfg.WriteOld == nil || cfg.WriteNew == nil:
		return nil, errors.Join(ErrConfig, errors.New("WriteOld and WriteNew are required"))
	}
	switch cfg.ReadOrder {
	case "":
		cfg.ReadOrder = Concurrent
	case Concurrent, Serial, Random:
	default:
		return nil, errors.Join(ErrConfig, errors.New("ReadOrder must be concurrent, serial or random"))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Migrator[P, R, W]{eval: eval, cfg: cfg, log: log}, nil
}

// Result is one origin's outcome.
type Result[T any] struct {
	// Origin is where the result came from.
	Origin Origin
	// Value is the result; the zero value when Err is set.
	Value T
	// Err is the origin's error.
	Err error
}

// ReadResult is the outcome of [Migrator.Read]: the authoritative origin's
// result, and the stage used.
type ReadResult[R any] struct {
	Result[R]
	// Stage is the stage the read followed.
	Stage Stage
}

// WriteResult is the outcome of [Migrator.Write].
type WriteResult[W any] struct {
	// Authoritative is the authoritative origin's result.
	Authoritative Result[W]
	// NonAuthoritative is the other origin's result; nil when it did not
	// run (the stage writes one origin, or the authoritative write failed).
	NonAuthoritative *Result[W]
	// Stage is the stage the write followed.
	Stage Stage
}

// run calls one origin, recording invocation, latency and error.
func run[P, T any](ctx context.Context, t *Tracker, o Origin, fn Func[P, T], payload P, latency, errs bool) Result[T] {
	t.Invoked(o)
	start := time.Now()
	v, err := fn(ctx, payload)
	if latency {
		t.Latency(o, time.Since(start))
	}
	if err != nil && errs {
		t.Error(o)
	}
	if err != nil {
		var zero T
		v = zero
	}
	return Result[T]{Origin: o, Value: v, Err: err}
}

// Read evaluates the migration flag key for ec and reads from the origins
// the stage names, returning the authoritative origin's result. It sends
// the operation's event (a failure to build it is logged).
func (m *Migrator[P, R, W]) Read(ctx context.Context, key string, ec evalctx.Context, def Stage, payload P) ReadResult[R] {
	stage, t, _ := m.eval.MigrationVariationCtx(ctx, key, ec, def)
	t.Operation(Read)
	p := readPlan(stage)
	fn := func(o Origin) Func[P, R] {
		if o == Old {
			return m.cfg.ReadOld
		}
		return m.cfg.ReadNew
	}
	c := &m.cfg
	if !p.both {
		res := run(ctx, t, p.authoritative, fn(p.authoritative), payload, !c.NoLatency, !c.NoErrors)
		m.send(t, key)
		return ReadResult[R]{Result: res, Stage: stage}
	}
	auth, oth := p.authoritative, other(p.authoritative)
	var ra, ro Result[R]
	switch c.ReadOrder {
	case Concurrent:
		var wg sync.WaitGroup
		wg.Go(func() { ro = run(ctx, t, oth, fn(oth), payload, !c.NoLatency, !c.NoErrors) })
		ra = run(ctx, t, auth, fn(auth), payload, !c.NoLatency, !c.NoErrors)
		wg.Wait()
	case Random:
		if rand.IntN(2) == 0 {
			ra = run(ctx, t, auth, fn(auth), payload, !c.NoLatency, !c.NoErrors)
			ro = run(ctx, t, oth, fn(oth), payload, !c.NoLatency, !c.NoErrors)
		} else {
			ro = run(ctx, t, oth, fn(oth), payload, !c.NoLatency, !c.NoErrors)
			ra = run(ctx, t, auth, fn(auth), payload, !c.NoLatency, !c.NoErrors)
		}
	default: // Serial: the authoritative origin first
		ra = run(ctx, t, auth, fn(auth), payload, !c.NoLatency, !c.NoErrors)
		ro = run(ctx, t, oth, fn(oth), payload, !c.NoLatency, !c.NoErrors)
	}
	if c.Compare != nil && ra.Err == nil && ro.Err == nil {
		oldV, newV := ra.Value, ro.Value
		if auth == New {
			oldV, newV = newV, oldV
		}
		t.Consistent(func() bool { return c.Compare(oldV, newV) })
	}
	m.send(t, key)
	return ReadResult[R]{Result: ra, Stage: stage}
}

// Write evaluates the migration flag key for ec and writes to the origins
// the stage names: the authoritative origin first, then the other unless
// the authoritative write failed. It sends the operation's event.
func (m *Migrator[P, R, W]) Write(ctx context.Context, key string, ec evalctx.Context, def Stage, payload P) WriteResult[W] {
	stage, t, _ := m.eval.MigrationVariationCtx(ctx, key, ec, def)
	t.Operation(Write)
	p := writePlan(stage)
	fn := func(o Origin) Func[P, W] {
		if o == Old {
			return m.cfg.WriteOld
		}
		return m.cfg.WriteNew
	}
	c := &m.cfg
	out := WriteResult[W]{Stage: stage}
	out.Authoritative = run(ctx, t, p.authoritative, fn(p.authoritative), payload, !c.NoLatency, !c.NoErrors)
	if p.both && out.Authoritative.Err == nil {
		o := other(p.authoritative)
		r := run(ctx, t, o, fn(o), payload, !c.NoLatency, !c.NoErrors)
		out.NonAuthoritative = &r
	}
	m.send(t, key)
	return out
}

func (m *Migrator[P, R, W]) send(t *Tracker, key string) {
	if err := t.Send(); err != nil {
		m.log.Error("migration operation event not sent", "flag", key, "err", err)
	}
}
