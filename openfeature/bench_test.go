package openfeature

import (
	"context"
	"path/filepath"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// benchClient is a client on a bbolt store holding the evaluation fixture.
func benchClient(b *testing.B) *client.Client {
	b.Helper()
	path := filepath.Join(b.TempDir(), "flags.db")
	w, err := bolt.Open(path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	t := &testing.T{}
	(&fixture{w: w}).writeFiles(t, "testdata/evaluation-flags.json")
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { r.Close() })
	c, err := client.New(client.Config{Store: r, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

var benchAttrs = map[string]any{"email": "ann@example.com", "plan": "pro", "age": 29}

// BenchmarkBoolean compares a warm boolean evaluation through the
// OpenFeature SDK and this provider with the bare client (the same context:
// a key and three attributes).
func BenchmarkBoolean(b *testing.B) {
	c := benchClient(b)
	ctx := context.Background()
	b.Run("bare client", func(b *testing.B) {
		ec := evalctx.NewBuilder("user-1").SetString("email", "ann@example.com").SetString("plan", "pro").SetInt("age", 29).Build()
		b.ReportAllocs()
		for b.Loop() {
			if v, _ := c.BoolVariation("boolean-flag", ec, false); !v {
				b.Fatal("false")
			}
		}
	})
	b.Run("bare client, context built per call", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ec := evalctx.NewBuilder("user-1").SetString("email", "ann@example.com").SetString("plan", "pro").SetInt("age", 29).Build()
			if v, _ := c.BoolVariation("boolean-flag", ec, false); !v {
				b.Fatal("false")
			}
		}
	})
	b.Run("provider direct", func(b *testing.B) {
		p := New(c, Options{})
		flat := of.FlattenedContext{"targetingKey": "user-1", "email": "ann@example.com", "plan": "pro", "age": 29}
		b.ReportAllocs()
		for b.Loop() {
			if r := p.BooleanEvaluation(ctx, "boolean-flag", false, flat); !r.Value {
				b.Fatal("false")
			}
		}
	})
	b.Run("SDK BooleanValue", func(b *testing.B) {
		api := isolated.NewAPI()
		defer api.Shutdown(ctx)
		if err := api.SetProviderAndWait(ctx, New(c, Options{})); err != nil {
			b.Fatal(err)
		}
		oc := api.NewClient()
		ec := of.NewEvaluationContext("user-1", benchAttrs)
		b.ReportAllocs()
		for b.Loop() {
			if v, _ := oc.BooleanValue(ctx, "boolean-flag", false, ec); !v {
				b.Fatal("false")
			}
		}
	})
}

// BenchmarkToContext measures the context mapping against building the
// same context with the builder: the mapping should allocate no more.
func BenchmarkToContext(b *testing.B) {
	b.Run("builder", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = evalctx.NewBuilder("user-1").SetString("email", "ann@example.com").SetString("plan", "pro").SetInt("age", 29).Build()
		}
	})
	b.Run("ToContext", func(b *testing.B) {
		flat := of.FlattenedContext{"targetingKey": "user-1", "email": "ann@example.com", "plan": "pro", "age": 29}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToContext(flat); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ToContext multi", func(b *testing.B) {
		flat := of.FlattenedContext{"kind": "multi", "user": map[string]any{"key": "u1", "email": "a@b"}, "org": map[string]any{"key": "o1"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ToContext(flat); err != nil {
				b.Fatal(err)
			}
		}
	})
}
