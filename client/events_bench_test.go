package client_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/events"
)

// eventsBenchConfig sends events to a local receiver that accepts
// everything, flushing every 100 ms so that full events do not pile up.
func eventsBenchConfig(b *testing.B) client.Config {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	b.Cleanup(srv.Close)
	return client.Config{Events: events.Config{Endpoint: srv.URL, SDKKey: "k", FlushInterval: 100 * time.Millisecond,
		Capacity: 1 << 20}}
}

// BenchmarkBoolVariationEventsSummaryNoAlloc is BenchmarkBoolVariationNoAlloc
// with events on for a flag without trackEvents: the evaluation is only
// counted in the summary. It must not allocate.
func BenchmarkBoolVariationEventsSummaryNoAlloc(b *testing.B) {
	c, _ := benchClient(b, eventsBenchConfig(b))
	benchBoolVariation(b, c)
}

// BenchmarkBoolVariationEventsFull evaluates a flag with trackEvents: every
// evaluation also queues a full feature event (encoded and sent by the
// background goroutine).
func BenchmarkBoolVariationEventsFull(b *testing.B) {
	e := newEnv(b)
	e.init([]string{strings.Replace(benchFlag(), `"salt":"salt",`, `"salt":"salt","trackEvents":true,`, 1)}, nil)
	c := e.client(eventsBenchConfig(b))
	if err := c.WaitForInitialization(bg); err != nil {
		b.Fatal(err)
	}
	benchBoolVariation(b, c)
	b.StopTimer()
	if st := c.EventStats(); st.EventsDropped > 0 {
		b.Logf("%d events dropped over capacity", st.EventsDropped)
	}
}
