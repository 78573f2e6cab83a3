package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// TestConcurrentUse hammers one client from many goroutines (variations of
// every type, all-flags states, listeners coming and going, status reads)
// while a writer keeps changing the store, then closes it under load. Run
// with -race.
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	var hookCalls atomic.Int64
	c, err := client.New(client.Config{
		Store:  e.reader,
		Logger: discardLogger(),
		Cache:  cache.Options{TTL: 2 * time.Millisecond, ChangePollInterval: 3 * time.Millisecond},
		Hooks:  []client.Hook{countingHook{&hookCalls}},
		BigSegments: client.BigSegmentsConfig{Store: e.reader, StatusPollInterval: 5 * time.Millisecond,
			CacheTTL: time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var afterClose atomic.Int64
	worker := func(fn func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fn(i)
			}
		}()
	}
	for w := range 4 {
		worker(func(i int) {
			ec := evalctx.New(fmt.Sprintf("user-%d-%d", w, i%50))
			_, err := c.BoolVariation("bool-flag", ec, false)
			if errors.Is(err, client.ErrClientNotReady) {
				afterClose.Add(1)
			} else if err != nil {
				t.Errorf("BoolVariation: %v", err)
			}
			c.IntVariation("int-flag", ec, 0)
			c.Float64VariationDetail("float-flag", ec, 0)
			c.StringVariationCtx(bg, "prereq-flag", ec, "")
			c.JSONVariationDetailCtx(bg, "segment-flag", ec, jsonvalue.Null())
			c.BoolVariation("missing", ec, false)
		})
	}
	worker(func(int) { c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{WithReasons: true}) })
	worker(func(int) {
		remove := c.AddFlagChangeListener(func(client.FlagChangeEvent) {})
		removeValue := c.AddFlagValueChangeListener("bool-flag", evalctx.New("u"), jsonvalue.Null(), func(client.FlagValueChangeEvent) {})
		c.DataStoreStatus()
		c.BigSegmentStoreStatus()
		time.Sleep(time.Millisecond)
		remove()
		removeValue()
	})
	worker(func(i int) {
		e.upsert(store.Features, fmt.Sprintf(`{"key":"bool-flag","version":%d,"on":%v,"variations":[false,true],
			"offVariation":0,"fallthrough":{"variation":1}}`, i+2, i%2 == 0))
		time.Sleep(2 * time.Millisecond)
	})

	time.Sleep(300 * time.Millisecond)
	c.Close()
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	if hookCalls.Load() == 0 {
		t.Error("hooks never ran")
	}
	if afterClose.Load() == 0 {
		t.Error("no evaluation saw the client closed")
	}
	if _, d, err := c.BoolVariationDetail("bool-flag", evalctx.New("u"), true); d.Reason.ErrorKind != evaluation.ErrorClientNotReady || err == nil {
		t.Errorf("after Close: %+v, %v", d, err)
	}
}

type countingHook struct{ n *atomic.Int64 }

func (countingHook) Metadata() client.HookMetadata { return client.HookMetadata{Name: "counting"} }

func (h countingHook) BeforeEvaluation(_ context.Context, _ client.EvaluationSeriesContext, d client.EvaluationSeriesData) (client.EvaluationSeriesData, error) {
	h.n.Add(1)
	return d.With("n", 1), nil
}

func (h countingHook) AfterEvaluation(_ context.Context, _ client.EvaluationSeriesContext, d client.EvaluationSeriesData, _ evaluation.Detail) (client.EvaluationSeriesData, error) {
	if _, ok := d.Get("n"); !ok {
		return d, errors.New("series data lost")
	}
	return d, nil
}
