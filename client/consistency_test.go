package client_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// mainFlag is version v of a flag that targets "t" and serves "in" to the
// members of segment seg, "out" to everyone else.
func mainFlag(v int, seg string) string {
	return fmt.Sprintf(`{"key":"main","version":%d,"on":true,"variations":["in","out"],"salt":"s",
		"targets":[{"values":["t"],"variation":0}],
		"rules":[{"id":"in-%s","variation":0,"clauses":[{"attribute":"","op":"segmentMatch","values":[%q]}]}],
		"fallthrough":{"variation":1},"offVariation":1}`, v, seg, seg)
}

func memberSegment(key string) string {
	return fmt.Sprintf(`{"key":%q,"version":1,"included":["u"],"salt":"s"}`, key)
}

// A writer moves flag main from segment seg-1 to seg-2 (seg-2 first, then
// main, then the removal of seg-1) while a client has main cached and has
// never read seg-1. The first evaluation after the change reads seg-1 from
// the store and finds it gone: the client must not evaluate the cached,
// old main against it ("out", FALLTHROUGH, an answer neither version of
// the dataset gives) but the new main against seg-2.
func TestNoMixAcrossAChange(t *testing.T) {
	for _, tt := range []struct {
		name string
		eval func(c *client.Client) (string, evaluation.Reason)
	}{
		{"variation", func(c *client.Client) (string, evaluation.Reason) {
			v, d, _ := c.StringVariationDetail("main", evalctx.New("u"), "default")
			return v, d.Reason
		}},
		{"all flags state", func(c *client.Client) (string, evaluation.Reason) {
			st := c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{WithReasons: true})
			fs, _ := st.Flag("main")
			return st.Value("main").Str(), fs.Reason
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.init([]string{mainFlag(1, "seg-1")}, []string{memberSegment("seg-1")})
			// No notifications: the client sees the change only through
			// its reads, each cached entry on its own clock.
			c := e.client(client.Config{Store: &faultyReader{Reader: e.reader}, Cache: cache.Options{TTL: time.Hour}})
			// Cache main (and the list of flags) without reading seg-1:
			// "t" is targeted.
			if v, _ := c.StringVariation("main", evalctx.New("t"), "default"); v != "in" {
				t.Fatalf("main for t = %q", v)
			}
			if st := c.AllFlagsState(bg, evalctx.New("t"), client.AllFlagsOptions{}); st.Value("main").Str() != "in" {
				t.Fatalf("all flags for t: main = %v (%v)", st.Value("main"), st.Err())
			}

			e.upsert(store.Segments, memberSegment("seg-2"))
			e.upsert(store.Features, mainFlag(2, "seg-2"))
			e.upsert(store.Segments, `{"key":"seg-1","version":2,"deleted":true}`)

			v, reason := tt.eval(c)
			if v != "in" || reason.Kind != evaluation.ReasonRuleMatch || reason.RuleID != "in-seg-2" {
				t.Errorf("main for u after the change = %q (%+v), want \"in\" by rule in-seg-2 (the new dataset)", v, reason)
			}
		})
	}
}
