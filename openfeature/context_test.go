package openfeature

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

func TestToContext(t *testing.T) {
	when := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		flat of.FlattenedContext
		want evalctx.Context
	}{
		{"targeting key", of.FlattenedContext{"targetingKey": "u1"}, evalctx.New("u1")},
		{"key attribute", of.FlattenedContext{"key": "u1"}, evalctx.New("u1")},
		{"targetingKey wins over key", of.FlattenedContext{"targetingKey": "u1", "key": "u2"}, evalctx.New("u1")},
		{"kind", of.FlattenedContext{"targetingKey": "o1", "kind": "organization"}, evalctx.NewWithKind("organization", "o1")},
		{"built-ins and custom attributes", of.FlattenedContext{
			"targetingKey": "u1", "name": "Ann", "anonymous": true, "privateAttributes": []any{"email", "/address/street"},
			"email": "ann@example.com", "age": 29, "score": 1.5, "big": int64(1 << 40), "beta": false,
			"address": map[string]any{"street": "Main", "city": "Wellington"}, "groups": []any{"a", "b"},
			"signup": when,
		}, evalctx.NewBuilder("u1").Name("Ann").Anonymous(true).Private("email", "/address/street").
			SetString("email", "ann@example.com").SetInt("age", 29).SetFloat64("score", 1.5).
			SetFloat64("big", float64(1<<40)).SetBool("beta", false).
			Set("address", jsonvalue.Object(map[string]jsonvalue.Value{"street": jsonvalue.String("Main"), "city": jsonvalue.String("Wellington")})).
			Set("groups", jsonvalue.Array(jsonvalue.String("a"), jsonvalue.String("b"))).
			SetString("signup", "2026-12-02T10:00:00Z").Build()},
		{"private attributes as []string", of.FlattenedContext{"targetingKey": "u1", "privateAttributes": []string{"email"}},
			evalctx.NewBuilder("u1").Private("email").Build()},
		{"multi-kind", of.FlattenedContext{
			"kind": "multi", "targetingKey": "ignored", "environment": "prod",
			"user":         map[string]any{"key": "u1", "name": "Ann", "kind": "ignored"},
			"organization": map[string]any{"targetingKey": "o1", "tier": "gold", "privateAttributes": []any{"tier"}},
		}, evalctx.NewMulti(evalctx.NewBuilder("u1").Name("Ann").Build(),
			evalctx.NewBuilder("o1").Kind("organization").SetString("tier", "gold").Private("tier").Build())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ToContext(tc.flat)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tc.want) {
				gj, _ := got.MarshalJSON()
				wj, _ := tc.want.MarshalJSON()
				t.Errorf("got  %s\nwant %s", gj, wj)
			}
		})
	}
}

func TestToContextErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		flat of.FlattenedContext
		code of.ErrorCode
		attr string // the message names it
	}{
		{"no key", of.FlattenedContext{"email": "a"}, of.TargetingKeyMissingCode, "targetingKey"},
		{"empty key", of.FlattenedContext{"targetingKey": ""}, of.TargetingKeyMissingCode, "targetingKey"},
		{"nil context", nil, of.TargetingKeyMissingCode, "targetingKey"},
		{"key not a string", of.FlattenedContext{"key": 5}, of.InvalidContextCode, `"key"`},
		{"kind not a string", of.FlattenedContext{"targetingKey": "u", "kind": true}, of.InvalidContextCode, `"kind"`},
		{"invalid kind", of.FlattenedContext{"targetingKey": "u", "kind": "no spaces"}, of.InvalidContextCode, `"kind"`},
		{"kind named kind", of.FlattenedContext{"targetingKey": "u", "kind": "kind"}, of.InvalidContextCode, `"kind"`},
		{"anonymous not a bool", of.FlattenedContext{"targetingKey": "u", "anonymous": "yes"}, of.InvalidContextCode, `"anonymous"`},
		{"name not a string", of.FlattenedContext{"targetingKey": "u", "name": 1}, of.InvalidContextCode, `"name"`},
		{"private not a list", of.FlattenedContext{"targetingKey": "u", "privateAttributes": "email"}, of.InvalidContextCode, `"privateAttributes"`},
		{"private element not a string", of.FlattenedContext{"targetingKey": "u", "privateAttributes": []any{"a", 2}}, of.InvalidContextCode, `"privateAttributes"[1]`},
		{"NaN attribute", of.FlattenedContext{"targetingKey": "u", "score": math.NaN()}, of.InvalidContextCode, `"score"`},
		{"channel attribute", of.FlattenedContext{"targetingKey": "u", "ch": make(chan int)}, of.InvalidContextCode, `"ch"`},
		{"multi without contexts", of.FlattenedContext{"kind": "multi", "targetingKey": "u"}, of.InvalidContextCode, `"kind"`},
		{"multi nested without key", of.FlattenedContext{"kind": "multi", "org": map[string]any{"name": "x"}}, of.TargetingKeyMissingCode, `org.key`},
		{"multi nested bad kind name", of.FlattenedContext{"kind": "multi", "bad kind": map[string]any{"key": "x"}}, of.InvalidContextCode, `"bad kind"`},
		{"multi nested bad attribute", of.FlattenedContext{"kind": "multi", "org": map[string]any{"key": "x", "anonymous": 1}}, of.InvalidContextCode, `"org.anonymous"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ToContext(tc.flat)
			var ce *contextError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a context error", err)
			}
			if ce.code != tc.code {
				t.Errorf("code = %s, want %s (%v)", ce.code, tc.code, err)
			}
			if !strings.Contains(err.Error(), tc.attr) {
				t.Errorf("message %q does not name %s", err, tc.attr)
			}
		})
	}
}
