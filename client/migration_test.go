package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/migration"
)

const migrationFlagJSON = `{"key":"mig","version":2,"on":true,"variations":["off","dualwrite","shadow","live","rampdown","complete","bogus"],
	"fallthrough":{"variation":3},"targets":[{"variation":6,"values":["bogus-user"]}]}`

func TestMigrationVariation(t *testing.T) {
	r := newEventReceiver(t)
	c := eventsClient(t, r, []string{migrationFlagJSON})
	stage, tr, err := c.MigrationVariation("mig", evalctx.New("u"), migration.Off)
	if err != nil || stage != migration.Live || tr == nil {
		t.Fatalf("MigrationVariation = %q, %v, %v", stage, tr, err)
	}
	stage, _, err = c.MigrationVariation("mig", evalctx.New("bogus-user"), migration.Shadow)
	if stage != migration.Shadow || !errors.Is(err, client.ErrWrongType) {
		t.Errorf("a non-stage value: %q, %v; want the default and ErrWrongType", stage, err)
	}
	stage, _, err = c.MigrationVariationCtx(context.Background(), "missing", evalctx.New("u"), migration.DualWrite)
	if stage != migration.DualWrite || !errors.Is(err, client.ErrFlagNotFound) {
		t.Errorf("a missing flag: %q, %v", stage, err)
	}
	// A migrator through the real client: one event per operation.
	var oldCalls, newCalls int
	m, err := migration.NewMigrator(c, migration.Config[string, string, string]{
		ReadOld:  func(context.Context, string) (string, error) { oldCalls++; return "v", nil },
		ReadNew:  func(context.Context, string) (string, error) { newCalls++; return "v", nil },
		WriteOld: func(context.Context, string) (string, error) { oldCalls++; return "", nil },
		WriteNew: func(context.Context, string) (string, error) { newCalls++; return "", errors.New("new is down") },
		Compare:  func(a, b string) bool { return a == b },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res := m.Read(context.Background(), "mig", evalctx.New("u"), migration.Off, "k"); res.Origin != migration.New || res.Value != "v" {
		t.Errorf("read %+v", res)
	}
	w := m.Write(context.Background(), "mig", evalctx.New("u"), migration.Off, "k")
	if w.Authoritative.Err == nil || w.NonAuthoritative != nil || oldCalls != 1 || newCalls != 2 {
		t.Errorf("live write with the new origin failing: %+v (old %d, new %d calls)", w, oldCalls, newCalls)
	}
	if !c.FlushAndWait(10 * time.Second) {
		t.Fatal("flush timed out")
	}
	evs := r.take()
	k := kinds(evs)
	if k["migration_op"] != 2 || k["summary"] != 1 || k["index"] != 2 {
		t.Fatalf("kinds %v: %v", k, evs)
	}
	for _, e := range evs {
		if e["kind"] != "migration_op" {
			continue
		}
		ev := e["evaluation"].(map[string]any)
		if ev["value"] != "live" || ev["default"] != "off" || ev["version"] != 2.0 || ev["variation"] != 3.0 {
			t.Errorf("evaluation %v", ev)
		}
		if r := ev["reason"].(map[string]any); r["kind"] != string(evaluation.ReasonFallthrough) {
			t.Errorf("reason %v", r)
		}
	}
}
