package client_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store/cache"
)

func TestFlagInfo(t *testing.T) {
	e := newEnv(t)
	e.init(append(testFlags,
		`{"key":"rollout-flag","version":7,"on":true,"variations":[1,2],"salt":"r",
		  "rules":[{"id":"fixed","variation":0,"clauses":[{"attribute":"plan","op":"in","values":["pro"]}]},
		           {"id":"split","rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]},
		            "clauses":[{"attribute":"plan","op":"in","values":["team"]}]}],
		  "fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}}`), testSegments)
	c := e.client(client.Config{})
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		flag    string
		ec      evalctx.Context
		version int
		split   bool
	}{
		{"fixed fallthrough", "bool-flag", evalctx.New("u"), 1, false},
		{"target", "bool-flag", evalctx.New("excluded-user"), 1, false},
		{"rollout fallthrough", "rollout-flag", evalctx.New("u"), 7, true},
		{"fixed rule", "rollout-flag", evalctx.NewBuilder("u").SetString("plan", "pro").Build(), 7, false},
		{"rollout rule", "rollout-flag", evalctx.NewBuilder("u").SetString("plan", "team").Build(), 7, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, d, err := c.JSONVariationDetail(tc.flag, tc.ec, jsonvalue.Null())
			if err != nil {
				t.Fatal(err)
			}
			info, ok := c.FlagInfo(ctx, tc.flag, d.Reason)
			if !ok || info.Version != tc.version || info.Split != tc.split {
				t.Errorf("FlagInfo = %+v, %v; want version %d, split %v (reason %s)", info, ok, tc.version, tc.split, d.Reason)
			}
		})
	}
	if _, ok := c.FlagInfo(ctx, "no-such-flag", evaluation.FallthroughReason(false)); ok {
		t.Error("FlagInfo of a missing flag reports ok")
	}
}

func TestAddFlagChangeBatchListener(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{Cache: cache.Options{TTL: 20 * time.Millisecond, ChangePollInterval: 10 * time.Millisecond}})
	batches := make(chan []string, 16)
	remove := c.AddFlagChangeBatchListener(func(keys []string) { batches <- keys })
	defer remove()
	others := slices.DeleteFunc(slices.Clone(testFlags), func(f string) bool { return strings.Contains(f, `"key":"string-flag"`) })
	// The change poll's first pass is its baseline: replace the dataset
	// (two flags changed in one Init) until a batch is heard.
	deadline := time.Now().Add(10 * time.Second)
	for v := 2; ; v++ {
		e.init(append(slices.Clone(others),
			fmt.Sprintf(`{"key":"string-flag","version":%d,"on":true,"variations":["a","b"],"fallthrough":{"variation":1}}`, v),
			fmt.Sprintf(`{"key":"new-flag","version":%d,"on":true,"variations":[1],"fallthrough":{"variation":0}}`, v)), testSegments)
		select {
		case b := <-batches:
			if !slices.Equal(b, []string{"new-flag", "string-flag"}) {
				t.Errorf("batch = %v, want [new-flag string-flag] together", b)
			}
			return
		case <-time.After(200 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatal("no batch of changes")
			}
		}
	}
}
