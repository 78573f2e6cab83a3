package cache_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// The cache is the evaluator's data provider.
var _ evaluation.DataProvider = (*cache.Cache)(nil)

func Example() {
	dir, err := os.MkdirTemp("", "cache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "flags.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// A writer (usually another process) stores the dataset.
	ctx := context.Background()
	flag, _ := store.ItemFromJSON([]byte(`{"key":"new-ui","version":3,"on":true,
		"variations":[true,false],"fallthrough":{"variation":0},"offVariation":1}`))
	err = st.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "new-ui", Item: flag}}}})
	if err != nil {
		log.Fatal(err)
	}

	c := cache.New(st, cache.Options{}) // 15 s TTL, refresh-ahead, jitter
	defer c.Close()
	fmt.Println("initialized:", c.Initialized(ctx))

	f, err := c.GetFlag(ctx, "new-ui")
	fmt.Println(f.Key, f.Version, f.On, err)

	missing, err := c.GetFlag(ctx, "no-such-flag")
	fmt.Println(missing == nil, err)
	fmt.Println("status:", c.Status().State)
	// Output:
	// initialized: true
	// new-ui 3 true <nil>
	// true <nil>
	// status: available
}

func ExampleCache_OnChange() {
	dir, err := os.MkdirTemp("", "cache-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := bolt.Open(filepath.Join(dir, "flags.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	item := func(json string) store.Item { it, _ := store.ItemFromJSON([]byte(json)); return it }
	st.Init(ctx, []store.Collection{
		{Kind: store.Segments, Items: []store.KeyedItem{{Key: "beta", Item: item(`{"key":"beta","version":1}`)}}},
		{Kind: store.Features, Items: []store.KeyedItem{{Key: "new-ui", Item: item(`{"key":"new-ui","version":1,
			"variations":[true,false],"fallthrough":{"variation":1},
			"rules":[{"id":"r","variation":0,"clauses":[{"op":"segmentMatch","values":["beta"]}]}]}`)}}},
	})

	c := cache.New(st, cache.Options{ChangePollInterval: 10 * time.Millisecond})
	defer c.Close()
	changed := make(chan []string, 1)
	remove := c.OnChange(func(keys []string) {
		select {
		case changed <- keys:
		default: // never block the cache's poll
		}
	})
	defer remove()

	// Adding a context to the segment changes how new-ui evaluates. (The
	// first poll is only a baseline, so keep changing the segment until a
	// poll after the baseline sees a change.)
	for v := 2; ; v++ {
		st.Upsert(ctx, store.Segments, "beta", item(fmt.Sprintf(`{"key":"beta","version":%d,"included":["user-%d"]}`, v, v)))
		select {
		case keys := <-changed:
			fmt.Println(keys)
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Output:
	// [new-ui]
}
