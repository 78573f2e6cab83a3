package relay_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

// Run relays from a streaming service into a store until its context ends.
// Here the service is a local test server standing in for LaunchDarkly or
// a Relay Proxy.
func ExampleRun() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `event: put
data: {"path":"/","data":{"flags":{"greeting":{"key":"greeting","version":1,"on":false,"offVariation":0,"variations":["hello"]}},"segments":{}}}

`)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer srv.Close()

	st := memstore.New()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- relay.Run(ctx, st, relay.Options{
			SDKKey:        "sdk-example",
			Endpoints:     relay.RelayProxyEndpoints(srv.URL),
			ApplicationID: "example-app",
			Logger:        slog.New(slog.DiscardHandler),
			OnUpdate: func(u relay.Update) {
				fmt.Printf("dataset written: %d flag(s)\n", u.Flags)
				cancel()
			},
		})
	}()
	fmt.Println("Run returned", <-done)
	it, _, _ := st.Get(context.Background(), store.Features, "greeting")
	fmt.Println("greeting version", it.Version)
	// Output:
	// dataset written: 1 flag(s)
	// Run returned <nil>
	// greeting version 1
}
