package migration

import (
	"errors"
	"fmt"
)

// Stage is a migration stage: the value of a migration flag.
type Stage string

// The stages, in migration order.
const (
	Off       Stage = "off"
	DualWrite Stage = "dualwrite"
	Shadow    Stage = "shadow"
	Live      Stage = "live"
	RampDown  Stage = "rampdown"
	Complete  Stage = "complete"
)

// Stages lists every stage in migration order.
var Stages = []Stage{Off, DualWrite, Shadow, Live, RampDown, Complete}

// ErrInvalidStage is matched by the error of [ParseStage].
var ErrInvalidStage = errors.New("migration: not a migration stage")

// ParseStage returns the stage named s, or an error matching
// [ErrInvalidStage].
func ParseStage(s string) (Stage, error) {
	switch st := Stage(s); st {
	case Off, DualWrite, Shadow, Live, RampDown, Complete:
		return st, nil
	}
	return Off, fmt.Errorf("%w: %q (want off, dualwrite, shadow, live, rampdown or complete)", ErrInvalidStage, s)
}

// Origin is one of the two systems of a migration.
type Origin string

// The origins.
const (
	Old Origin = "old"
	New Origin = "new"
)

// Operation is what a tracker measures: a read or a write.
type Operation string

// The operations.
const (
	Read  Operation = "read"
	Write Operation = "write"
)

// ExecutionOrder says how a read of both origins runs. The zero value is
// [Concurrent].
type ExecutionOrder string

// The execution orders.
const (
	// Concurrent reads both origins at once (the default).
	Concurrent ExecutionOrder = "concurrent"
	// Serial reads the authoritative origin, then the other.
	Serial ExecutionOrder = "serial"
	// Random reads both, one after the other, in random order.
	Random ExecutionOrder = "random"
)

// plan is what a stage does for an operation: the authoritative origin,
// and whether the other origin runs too.
type plan struct {
	authoritative Origin
	both          bool
}

func readPlan(s Stage) plan {
	switch s {
	case Shadow:
		return plan{Old, true}
	case Live:
		return plan{New, true}
	case RampDown, Complete:
		return plan{New, false}
	default: // Off, DualWrite
		return plan{Old, false}
	}
}

func writePlan(s Stage) plan {
	switch s {
	case DualWrite, Shadow:
		return plan{Old, true}
	case Live, RampDown:
		return plan{New, true}
	case Complete:
		return plan{New, false}
	default: // Off
		return plan{Old, false}
	}
}

func other(o Origin) Origin {
	if o == Old {
		return New
	}
	return Old
}
