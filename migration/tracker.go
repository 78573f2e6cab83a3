package migration

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

// ErrTracker is matched by the error of [Tracker.Event] and [Tracker.Send]
// when the tracker holds something that cannot have happened (no operation,
// no origin invoked, a measurement for an origin that was not invoked):
// then no event is sent.
var ErrTracker = errors.New("migration: impossible tracker state")

// Evaluation is the migration flag's evaluation a tracker reports.
type Evaluation struct {
	// FlagKey is the migration flag's key.
	FlagKey string
	// Flag is the flag (nil when it was not found): its version, sampling
	// ratio and migration.checkRatio are used.
	Flag *model.Flag
	// Context is the evaluation context.
	Context evalctx.Context
	// Detail is the evaluation's result (the default stage's value when
	// the flag's value is not a stage).
	Detail evaluation.Detail
	// Default is the default stage the caller gave.
	Default Stage
}

// Tracker measures one migration operation, as LaunchDarkly's
// MigrationOpTracker does, and sends its "migration_op" event. Get one from
// the client's MigrationVariation (or [NewTracker]); it is safe for
// concurrent use, so concurrent reads may record into it. Use a tracker for
// one operation only.
type Tracker struct {
	ev     Evaluation
	record func([]byte, evalctx.Context)
	now    func() time.Time

	mu         sync.Mutex
	op         Operation
	invoked    [2]bool
	errs       [2]bool
	latency    [2]time.Duration
	hasLatency [2]bool
	consistent *bool
	checkRatio int
	sent       bool
}

// NewTracker returns a tracker for an evaluation; record receives the
// encoded event without its context, and the context, which the event
// processor adds redacted (as "context", LaunchDarkly's format); nil: the
// event is built and checked, then dropped. The client calls it with its
// event processor's RecordRaw.
func NewTracker(ev Evaluation, record func([]byte, evalctx.Context)) *Tracker {
	return &Tracker{ev: ev, record: record, now: time.Now}
}

func idx(o Origin) (int, bool) {
	switch o {
	case Old:
		return 0, true
	case New:
		return 1, true
	}
	return 0, false
}

// Operation sets the operation measured.
func (t *Tracker) Operation(op Operation) {
	t.mu.Lock()
	t.op = op
	t.mu.Unlock()
}

// Invoked records that origin o ran.
func (t *Tracker) Invoked(o Origin) {
	if i, ok := idx(o); ok {
		t.mu.Lock()
		t.invoked[i] = true
		t.mu.Unlock()
	}
}

// Error records that origin o failed.
func (t *Tracker) Error(o Origin) {
	if i, ok := idx(o); ok {
		t.mu.Lock()
		t.errs[i] = true
		t.mu.Unlock()
	}
}

// Latency records how long origin o took.
func (t *Tracker) Latency(o Origin, d time.Duration) {
	if i, ok := idx(o); ok {
		t.mu.Lock()
		t.latency[i], t.hasLatency[i] = d, true
		t.mu.Unlock()
	}
}

// CheckRatio is the flag's migration.checkRatio: consistency is checked for
// one operation in that many (1 when the flag does not say; 0 or less:
// never).
func (t *Tracker) CheckRatio() int {
	if f := t.ev.Flag; f != nil && f.Migration != nil && f.Migration.CheckRatio != nil {
		return *f.Migration.CheckRatio
	}
	return 1
}

// Consistent runs check, if this operation is sampled by the check ratio,
// and records its answer. It reports whether check ran.
func (t *Tracker) Consistent(check func() bool) bool {
	ratio := t.CheckRatio()
	if !sample(ratio) {
		return false
	}
	ok := check()
	t.mu.Lock()
	t.consistent, t.checkRatio = &ok, ratio
	t.mu.Unlock()
	return true
}

func sample(ratio int) bool {
	switch {
	case ratio <= 0:
		return false
	case ratio == 1:
		return true
	}
	return rand.IntN(ratio) == 0
}

// Event returns the "migration_op" event's JSON without its "context"
// (which the event processor adds, redacted), or an error matching
// [ErrTracker] for an impossible state.
func (t *Tracker) Event() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.eventLocked()
}

func (t *Tracker) eventLocked() ([]byte, error) {
	ev := &t.ev
	switch {
	case ev.FlagKey == "":
		return nil, fmt.Errorf("%w: no flag key", ErrTracker)
	case t.op != Read && t.op != Write:
		return nil, fmt.Errorf("%w: operation %q is not read or write", ErrTracker, t.op)
	case ev.Context.Err() != nil:
		return nil, fmt.Errorf("%w: invalid context: %w", ErrTracker, ev.Context.Err())
	case !t.invoked[0] && !t.invoked[1]:
		return nil, fmt.Errorf("%w: no origin was invoked", ErrTracker)
	}
	for i, o := range [2]Origin{Old, New} {
		if !t.invoked[i] && (t.errs[i] || t.hasLatency[i]) {
			return nil, fmt.Errorf("%w: a measurement for the %s origin, which was not invoked", ErrTracker, o)
		}
	}
	if t.consistent != nil && !(t.invoked[0] && t.invoked[1]) {
		return nil, fmt.Errorf("%w: a consistency check without both origins invoked", ErrTracker)
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"kind":"migration_op","creationDate":`...)
	b = strconv.AppendInt(b, t.now().UnixMilli(), 10)
	b = append(b, `,"operation":`...)
	b = jsonvalue.String(string(t.op)).AppendJSON(b)
	b = append(b, `,"evaluation":{"key":`...)
	b = jsonvalue.String(ev.FlagKey).AppendJSON(b)
	b = append(b, `,"value":`...)
	b = ev.Detail.Value.AppendJSON(b)
	b = append(b, `,"default":`...)
	b = jsonvalue.String(string(ev.Default)).AppendJSON(b)
	b = append(b, `,"reason":`...)
	b = ev.Detail.Reason.AppendJSON(b)
	if ev.Detail.VariationIndex >= 0 {
		b = append(b, `,"variation":`...)
		b = strconv.AppendInt(b, int64(ev.Detail.VariationIndex), 10)
	}
	if ev.Flag != nil {
		b = append(b, `,"version":`...)
		b = strconv.AppendInt(b, int64(ev.Flag.Version), 10)
	}
	b = append(b, '}')
	if r := samplingRatio(ev.Flag); r != 1 {
		b = append(b, `,"samplingRatio":`...)
		b = strconv.AppendInt(b, int64(r), 10)
	}
	b = append(b, `,"measurements":[`...)
	b = appendOrigins(b, "invoked", t.invoked, func(b []byte, i int) []byte { return append(b, "true"...) })
	if t.consistent != nil {
		b = append(b, `,{"key":"consistent","value":`...)
		b = strconv.AppendBool(b, *t.consistent)
		b = append(b, `,"samplingRatio":`...)
		b = strconv.AppendInt(b, int64(t.checkRatio), 10)
		b = append(b, '}')
	}
	if t.hasLatency[0] || t.hasLatency[1] {
		b = append(b, ',')
		b = appendOrigins(b, "latency_ms", t.hasLatency, func(b []byte, i int) []byte {
			return strconv.AppendInt(b, t.latency[i].Milliseconds(), 10) // whole ms, as LaunchDarkly sends
		})
	}
	if t.errs[0] || t.errs[1] {
		b = append(b, ',')
		b = appendOrigins(b, "error", t.errs, func(b []byte, i int) []byte { return append(b, "true"...) })
	}
	b = append(b, "]}"...)
	return b, nil
}

func appendOrigins(b []byte, key string, present [2]bool, value func([]byte, int) []byte) []byte {
	b = append(b, `{"key":"`...)
	b = append(b, key...)
	b = append(b, `","values":{`...)
	first := true
	for i, o := range [2]Origin{Old, New} {
		if !present[i] {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, o...)
		b = append(b, `":`...)
		b = value(b, i)
	}
	return append(b, "}}"...)
}

func samplingRatio(f *model.Flag) int {
	if f != nil && f.SamplingRatio != nil {
		return *f.SamplingRatio
	}
	return 1
}

// Send builds the event and records it (sampled by the flag's
// samplingRatio). It returns an error matching [ErrTracker] for an
// impossible state (nothing is sent), and an error for a second Send.
func (t *Tracker) Send() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sent {
		return fmt.Errorf("%w: the event was already sent", ErrTracker)
	}
	b, err := t.eventLocked()
	if err != nil {
		return err
	}
	t.sent = true
	if t.record != nil && sample(samplingRatio(t.ev.Flag)) {
		t.record(b, t.ev.Context)
	}
	return nil
}
