package otel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	dfotel "github.com/daemonflag/daemonflag/otel"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// The hook adds a feature_flag.evaluation event to the request's span.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.db")
	w, _ := bolt.Open(path, nil)
	defer w.Close()
	ds, _ := writer.Parse("flags.json", []byte(`{"flagValues": {"banner": "hello"}}`))
	writer.WriteDataset(ctx, w, ds)
	r, _ := bolt.Open(path, &bolt.Options{ReadOnly: true})
	defer r.Close()

	hook := dfotel.NewHook(dfotel.HookOptions{})
	c, _ := client.New(client.Config{Store: r, Hooks: []client.Hook{hook}})
	defer c.Close()
	hook.Bind(c)

	recorder := tracetest.NewSpanRecorder() // in a service: the SDK with an exporter
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(recorder))
	reqCtx, span := tp.Tracer("service").Start(ctx, "GET /")
	c.StringVariationCtx(reqCtx, "banner", evalctx.New("user-1"), "")
	span.End()

	ev := recorder.Ended()[0].Events()[0]
	fmt.Println(ev.Name)
	for _, a := range ev.Attributes {
		fmt.Println(a.Key, a.Value.Emit())
	}
	// Output:
	// feature_flag.evaluation
	// feature_flag.key banner
	// feature_flag.provider.name daemonflag
	// feature_flag.context.id user-1
	// feature_flag.version 1
	// feature_flag.result.variant 0
	// feature_flag.result.reason default
}
