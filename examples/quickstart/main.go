// Command quickstart shows daemonflag end to end, with nothing to install:
//
//	go run ./examples/quickstart
//
// It plays both parts of a daemon-mode deployment in one process. As the
// writer, it stores a few flags and a segment in a bbolt file (in a
// temporary directory) through the store's write side. As a service, it
// opens the same file read-only, creates a client, and prints how the flags
// evaluate for a few users. Then the writer turns one flag off, and the
// client's flag-change listener reports the new value.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// The dataset, in LaunchDarkly's flag and segment JSON.
var (
	segments = []string{
		`{"key":"beta-testers","version":1,"included":["carol"],"salt":"beta"}`,
	}
	flags = []string{
		// Individual targets and a rule.
		`{"key":"new-checkout","version":1,"on":true,"variations":[false,true],"offVariation":0,"salt":"nc",
		  "targets":[{"variation":1,"values":["alice"]}],
		  "rules":[{"id":"staff","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}],
		  "fallthrough":{"variation":0}}`,
		// A percentage rollout: half the users get each color.
		`{"key":"button-color","version":1,"on":true,"variations":["green","blue"],"offVariation":0,"salt":"bc",
		  "fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}}`,
		// A rule that matches a segment.
		`{"key":"beta-banner","version":1,"on":true,"variations":[false,true],"offVariation":0,"salt":"bb",
		  "rules":[{"id":"betas","variation":1,"clauses":[{"attribute":"","op":"segmentMatch","values":["beta-testers"]}]}],
		  "fallthrough":{"variation":0}}`,
		// A number flag with a rule on a custom attribute.
		`{"key":"max-cart-items","version":1,"on":true,"variations":[10,50],"offVariation":0,"salt":"mc",
		  "rules":[{"id":"pro","variation":1,"clauses":[{"attribute":"plan","op":"in","values":["pro"]}]}],
		  "fallthrough":{"variation":0}}`,
	}
	// The change the writer makes later: new-checkout is turned off.
	newCheckoutOff = `{"key":"new-checkout","version":%d,"on":false,"variations":[false,true],"offVariation":0,"salt":"nc",
		  "targets":[{"variation":1,"values":["alice"]}],
		  "rules":[{"id":"staff","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}],
		  "fallthrough":{"variation":0}}`
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "daemonflag-quickstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.db")

	// 1. The writer stores the dataset. (In production: `daemonflag`'s
	// writer or relay, or a LaunchDarkly Relay Proxy, in another process.)
	writer, err := bolt.Open(path, nil)
	if err != nil {
		return err
	}
	defer writer.Close()
	if err := writer.Init(ctx, []store.Collection{
		{Kind: store.Segments, Items: keyedItems(segments)},
		{Kind: store.Features, Items: keyedItems(flags)},
	}); err != nil {
		return fmt.Errorf("write the dataset: %w", err)
	}
	fmt.Fprintf(out, "The writer stored %d flags and %d segment in %s\n\n", len(flags), len(segments), path)

	// 2. A service opens the store read-only and creates its client. A
	// short cache TTL makes the client look for changes every 100 ms (the
	// default is LaunchDarkly's 15 s).
	reader, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer reader.Close()
	c, err := client.New(client.Config{Store: reader, Cache: cache.Options{TTL: 100 * time.Millisecond}})
	if err != nil {
		return err
	}
	defer c.Close()

	users := []evalctx.Context{
		evalctx.New("alice"),
		evalctx.NewBuilder("bob").SetString("email", "bob@example.com").Build(),
		evalctx.New("carol"),
		evalctx.NewBuilder("dave").SetString("plan", "pro").Build(),
	}
	bob := users[1]

	// Tell us when new-checkout changes for bob.
	changes := make(chan client.FlagValueChangeEvent, 1)
	remove := c.AddFlagValueChangeListener("new-checkout", bob, jsonvalue.Bool(false), func(ev client.FlagValueChangeEvent) {
		select {
		case changes <- ev:
		default:
		}
	})
	defer remove()

	// 3. Evaluate every flag for every user.
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tFLAG\tVALUE\tREASON")
	for _, u := range users {
		for _, key := range []string{"new-checkout", "button-color", "beta-banner", "max-cart-items"} {
			value, detail, err := c.JSONVariationDetail(key, u, jsonvalue.Null())
			if err != nil {
				return fmt.Errorf("evaluate %s: %w", key, err)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Key(), key, value, detail.Reason)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// 4. The writer turns new-checkout off (a new version), and the client
	// picks the change up on its next poll of the store.
	fmt.Fprintln(out, "\nThe writer turns new-checkout off...")
	start := time.Now()
	for version := 2; ; version++ {
		// The client compares each poll of the store with the previous
		// one; should this write land before its very first poll, it would
		// not be seen as a change, so the writer repeats it (with a new
		// version) if nothing is reported for a while.
		if err := upsert(ctx, writer, fmt.Sprintf(newCheckoutOff, version)); err != nil {
			return err
		}
		select {
		case ev := <-changes:
			fmt.Fprintf(out, "Listener: %s for %s changed from %s to %s (%d ms after the write)\n",
				ev.Key, bob.Key(), ev.OldValue, ev.NewValue, time.Since(start).Milliseconds())
			now, detail, err := c.BoolVariationDetail("new-checkout", bob, true)
			fmt.Fprintf(out, "BoolVariation(new-checkout, %s) = %v, reason %s, error %v\n", bob.Key(), now, detail.Reason, err)
			return nil
		case <-time.After(time.Second):
			if time.Since(start) > 10*time.Second {
				return errors.New("the client did not report the change within 10 s")
			}
		}
	}
}

// keyedItems turns flag or segment JSON documents into store items.
func keyedItems(docs []string) []store.KeyedItem {
	items := make([]store.KeyedItem, 0, len(docs))
	for _, doc := range docs {
		it, err := store.ItemFromJSON([]byte(doc))
		if err != nil {
			panic(err) // the documents above are valid
		}
		items = append(items, store.KeyedItem{Key: keyOf(doc), Item: it})
	}
	return items
}

func keyOf(doc string) string {
	var head struct{ Key string }
	if err := json.Unmarshal([]byte(doc), &head); err != nil {
		panic(err)
	}
	return head.Key
}

func upsert(ctx context.Context, w store.Writer, doc string) error {
	it, err := store.ItemFromJSON([]byte(doc))
	if err != nil {
		return err
	}
	_, err = w.Upsert(ctx, store.Features, keyOf(doc), it)
	return err
}
