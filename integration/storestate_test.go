package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testservers"
)

// storeStateWatch reads a Redis dataset's flags and segments together in
// one MULTI/EXEC, over and over, and records every state in which a live
// flag names a prerequisite or a segment that the same state lacks: a mix
// of two datasets in the store itself, which no client cache can undo. It
// tells a writer that writes in the wrong order from a cache that combines
// reads from different moments.
type storeStateWatch struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu     sync.Mutex
	states int
	mixed  []string
}

// watchRedisState starts a watch on the dataset at addr (a Redis or Redis
// Cluster address of the shared test servers); it stops when the test ends
// or stop is called.
func watchRedisState(t testing.TB, backend, addr string) *storeStateWatch {
	t.Helper()
	var c goredis.UniversalClient
	switch backend {
	case "redis":
		o, err := goredis.ParseURL(testservers.RedisURL(t))
		if err != nil {
			t.Fatal(err)
		}
		c = goredis.NewClient(o)
	case "redis-cluster":
		c = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: testservers.RedisClusterAddrs(t)})
	default:
		return nil
	}
	prefix := prefixOf(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	w := &storeStateWatch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		defer c.Close()
		for ctx.Err() == nil {
			var flags, segs *goredis.MapStringStringCmd
			_, err := c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				flags = p.HGetAll(ctx, prefix+":features")
				segs = p.HGetAll(ctx, prefix+":segments")
				return nil
			})
			if err != nil {
				continue
			}
			problem := mixedState(flags.Val(), segs.Val())
			w.mu.Lock()
			w.states++
			if problem != "" && len(w.mixed) < 10 {
				w.mixed = append(w.mixed, problem)
			}
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

// stop ends the watch and returns how many states it read and the mixed
// ones.
func (w *storeStateWatch) stop() (int, []string) {
	w.cancel()
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.states, w.mixed
}

// mixedState describes the first live flag whose prerequisite or segment
// the state lacks, or returns "".
func mixedState(flags, segs map[string]string) string {
	type item struct {
		Deleted       bool `json:"deleted"`
		Version       int  `json:"version"`
		Prerequisites []struct {
			Key string `json:"key"`
		} `json:"prerequisites"`
		Rules []struct {
			Clauses []struct {
				Op     string `json:"op"`
				Values []any  `json:"values"`
			} `json:"clauses"`
		} `json:"rules"`
	}
	live := func(m map[string]string, key string) bool {
		var it item
		return m[key] != "" && json.Unmarshal([]byte(m[key]), &it) == nil && !it.Deleted
	}
	for key, data := range flags {
		var f item
		if json.Unmarshal([]byte(data), &f) != nil || f.Deleted {
			continue
		}
		var missing []string
		for _, p := range f.Prerequisites {
			if !live(flags, p.Key) {
				missing = append(missing, "prerequisite "+p.Key)
			}
		}
		for _, r := range f.Rules {
			for _, c := range r.Clauses {
				if c.Op != "segmentMatch" {
					continue
				}
				for _, v := range c.Values {
					if s, ok := v.(string); ok && !live(segs, s) {
						missing = append(missing, "segment "+s)
					}
				}
			}
		}
		if len(missing) > 0 {
			return fmt.Sprintf("%s version %d without its %s", key, f.Version, strings.Join(missing, ", "))
		}
	}
	return ""
}
