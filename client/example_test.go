package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// exampleFlags is what a writer process would have stored.
var exampleFlags = []string{
	`{"key":"new-ui","version":1,"on":true,"variations":[true,false],"offVariation":1,
		"fallthrough":{"variation":1},"targets":[{"variation":0,"values":["user-1"]}]}`,
	`{"key":"banner-text","version":1,"on":true,"variations":["Welcome!","Hello, beta tester!"],
		"fallthrough":{"variation":0},"clientSideAvailability":{"usingEnvironmentId":true},
		"rules":[{"id":"beta-rule","variation":1,"clauses":[{"attribute":"beta","op":"in","values":[true]}]}]}`,
	`{"key":"limits","version":1,"on":true,"variations":[{"requests":100},{"requests":1000}],"fallthrough":{"variation":0}}`,
}

// exampleStore writes exampleFlags into a new bbolt file, as the writer
// process would, and returns the file's path, the writer's store and a
// cleanup function.
func exampleStore() (path string, writer *bolt.Store, cleanup func()) {
	dir, err := os.MkdirTemp("", "client-example")
	if err != nil {
		log.Fatal(err)
	}
	path = filepath.Join(dir, "flags.db")
	writer, err = bolt.Open(path, &bolt.Options{NoSync: true})
	if err != nil {
		log.Fatal(err)
	}
	var items []store.KeyedItem
	for _, f := range exampleFlags {
		it, err := store.ItemFromJSON([]byte(f))
		if err != nil {
			log.Fatal(err)
		}
		var head struct{ Key string }
		json.Unmarshal([]byte(f), &head)
		items = append(items, store.KeyedItem{Key: head.Key, Item: it})
	}
	if err := writer.Init(context.Background(), []store.Collection{{Kind: store.Features, Items: items}}); err != nil {
		log.Fatal(err)
	}
	return path, writer, func() {
		writer.Close()
		os.RemoveAll(dir)
	}
}

// exampleClient opens the store file read-only, as a service would, and
// creates a client on it.
func exampleClient(path string, cfg client.Config) (*client.Client, func()) {
	st, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	cfg.Store = st
	c, err := client.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	return c, func() {
		c.Close()  // first the client,
		st.Close() // then the store it read
	}
}

func Example() {
	path, _, cleanup := exampleStore() // a writer process filled this file
	defer cleanup()

	// A service opens the store read-only and creates one client.
	st, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	c, err := client.New(client.Config{Store: st})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for _, key := range []string{"user-1", "user-2"} {
		on, err := c.BoolVariation("new-ui", evalctx.New(key), false)
		fmt.Println(key, on, err)
	}
	// Output:
	// user-1 true <nil>
	// user-2 false <nil>
}

func ExampleNew() {
	// A store is required: the client never picks a file of its own.
	_, err := client.New(client.Config{})
	fmt.Println(errors.Is(err, client.ErrNoStore))
	// Output:
	// true
}

func ExampleClient_BoolVariation() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{})
	defer done()

	on, err := c.BoolVariation("new-ui", evalctx.New("user-1"), false)
	fmt.Println(on, err)

	// A missing flag gives the default, and an error saying why.
	on, err = c.BoolVariation("no-such-flag", evalctx.New("user-1"), true)
	fmt.Println(on, errors.Is(err, client.ErrFlagNotFound))
	// Output:
	// true <nil>
	// true true
}

func ExampleClient_StringVariationDetail() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{})
	defer done()

	beta := evalctx.NewBuilder("user-7").SetBool("beta", true).Build()
	text, detail, err := c.StringVariationDetail("banner-text", beta, "")
	fmt.Println(text, detail.VariationIndex, detail.Reason, err)

	// A value of another type: the default, with reason WRONG_TYPE.
	n, detail, err := c.IntVariationDetail("banner-text", beta, 42)
	fmt.Println(n, detail.VariationIndex, detail.Reason, errors.Is(err, client.ErrWrongType))
	// Output:
	// Hello, beta tester! 1 {"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"beta-rule"} <nil>
	// 42 -1 {"kind":"ERROR","errorKind":"WRONG_TYPE"} true
}

func ExampleClient_JSONVariation() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{})
	defer done()

	limits, err := c.JSONVariation("limits", evalctx.New("user-1"), jsonvalue.Null())
	requests, _ := limits.Get("requests")
	fmt.Println(limits, requests.Int(), err)
	// Output:
	// {"requests":100} 100 <nil>
}

func ExampleClient_AllFlagsState() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{})
	defer done()

	// The bootstrap JSON for a client-side SDK: only client-side flags.
	state := c.AllFlagsState(context.Background(), evalctx.New("user-1"), client.AllFlagsOptions{ClientSideOnly: true, WithReasons: true})
	js, _ := json.Marshal(state)
	fmt.Println(string(js))
	// Output:
	// {"$valid":true,"banner-text":"Welcome!","$flagsState":{"banner-text":{"variation":0,"version":1,"reason":{"kind":"FALLTHROUGH"}}}}
}

func ExampleClient_AddFlagValueChangeListener() {
	path, writer, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{
		// Look for changes every 10 ms (by default: every cache TTL, 15 s).
		Cache: cache.Options{ChangePollInterval: 10 * time.Millisecond},
	})
	defer done()

	changes := make(chan client.FlagValueChangeEvent, 10)
	remove := c.AddFlagValueChangeListener("new-ui", evalctx.New("user-2"), jsonvalue.Bool(false),
		func(ev client.FlagValueChangeEvent) { changes <- ev })
	defer remove()

	// The writer turns new-ui on for everybody. (Until the change poll has
	// read the store once, there is nothing to compare with, so the writer
	// here repeats the change with a new version until it is reported.)
	for version := 2; ; version++ {
		flag, _ := store.ItemFromJSON(fmt.Appendf(nil, `{"key":"new-ui","version":%d,"on":true,
			"variations":[true,false],"offVariation":1,"fallthrough":{"variation":0}}`, version))
		writer.Upsert(context.Background(), store.Features, "new-ui", flag)
		select {
		case ev := <-changes:
			fmt.Printf("%s for user-2: %v -> %v\n", ev.Key, ev.OldValue, ev.NewValue)
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Output:
	// new-ui for user-2: false -> true
}

func ExampleClient_DataStoreStatus() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{})
	defer done()

	if err := c.WaitForInitialization(context.Background()); err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.DataStoreStatus().State)
	// Output:
	// available
}

func ExampleClient_SecureModeHash() {
	c, err := client.New(client.Config{Offline: true, SecureModeKey: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println(c.SecureModeHash(evalctx.New("Message")))
	// Output:
	// aa747c502a898200f9e4fa21bac68136f886a0e27aec70ba06daf2e2a5cb5597
}

// printHook prints every variation call it observes, and the time between
// its two stages (series data carries the start time).
type printHook struct{ client.HookBase }

func (printHook) Metadata() client.HookMetadata { return client.HookMetadata{Name: "print"} }

func (printHook) BeforeEvaluation(_ context.Context, s client.EvaluationSeriesContext, data client.EvaluationSeriesData) (client.EvaluationSeriesData, error) {
	return data.With("start", time.Now()), nil
}

func (printHook) AfterEvaluation(_ context.Context, s client.EvaluationSeriesContext, data client.EvaluationSeriesData, d evaluation.Detail) (client.EvaluationSeriesData, error) {
	start, _ := data.Get("start")
	_ = time.Since(start.(time.Time)) // a real hook would record this
	fmt.Println(s.Method, s.FlagKey, "default", s.DefaultValue, "->", d.Value, d.Reason)
	return data, nil
}

func ExampleHook() {
	path, _, cleanup := exampleStore()
	defer cleanup()
	c, done := exampleClient(path, client.Config{Hooks: []client.Hook{printHook{}}})
	defer done()

	c.BoolVariation("new-ui", evalctx.New("user-1"), false)
	c.StringVariationDetail("missing-flag", evalctx.New("user-1"), "fallback")
	// Output:
	// Client.BoolVariation new-ui default false -> true {"kind":"TARGET_MATCH"}
	// Client.StringVariationDetail missing-flag default "fallback" -> "fallback" {"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}
}
