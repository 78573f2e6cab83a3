// Command openfeature evaluates daemonflag flags through the OpenFeature Go
// SDK, with nothing to install:
//
//	cd examples/openfeature && go run .
//
// As the writer, it writes a flag data file into a bbolt store (in a
// temporary directory) with daemonflag's writer. As a service, it registers
// the daemonflag OpenFeature provider on that store, evaluates flags through
// an OpenFeature client, and prints value, variant, reason and LaunchDarkly's
// reason kind. Then the writer changes a flag and the SDK's
// PROVIDER_CONFIGURATION_CHANGED handler reports it.
//
// This directory is its own Go module (so the core module never depends on
// the OpenFeature SDK); its go.mod points at the repository's modules with
// replace directives.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	dfopenfeature "github.com/daemonflag/daemonflag/openfeature"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

const flagFile = `{
  "flags": {
    "new-checkout": {"on": true, "variations": [false, true], "offVariation": 0, "salt": "nc",
      "targets": [{"variation": 1, "values": ["alice"]}],
      "rules": [{"id": "staff", "variation": 1, "clauses": [{"attribute": "email", "op": "endsWith", "values": ["@example.com"]}]}],
      "fallthrough": {"variation": 0}},
    "button-color": {"on": true, "variations": ["green", "blue"], "offVariation": 0, "salt": "bc",
      "fallthrough": {"rollout": {"variations": [{"variation": 0, "weight": 50000}, {"variation": 1, "weight": 50000}]}}},
    "page-size": {"on": true, "variations": [20, 50], "offVariation": 0, "salt": "ps",
      "rules": [{"id": "org-plan", "variation": 1, "clauses": [{"contextKind": "organization", "attribute": "plan", "op": "in", "values": ["pro"]}]}],
      "fallthrough": {"variation": 0}}
  }
}`

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "openfeature example:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "daemonflag-openfeature-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.db")

	// 1. The writer (in production: `daemonflag sync` or `daemonflag relay`
	// in another process) fills the store.
	w, err := bolt.Open(path, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	ds, err := writer.Parse("flags.json", []byte(flagFile))
	if err != nil {
		return err
	}
	if _, err := writer.WriteDataset(ctx, w, ds); err != nil {
		return err
	}

	// 2. The service registers the provider. SetProviderAndWait returns
	// once the store holds a dataset. (An isolated API keeps the example
	// self-contained; a service would use the package-level functions.)
	p, err := dfopenfeature.NewFromAddress(ctx, "bolt:"+path,
		client.Config{Cache: cache.Options{TTL: 100 * time.Millisecond}}, dfopenfeature.Options{})
	if err != nil {
		return err
	}
	api := isolated.NewAPI()
	defer api.Shutdown(ctx)
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		return err
	}
	changed := make(chan of.EventDetails, 16)
	onChange := func(d of.EventDetails) { changed <- d }
	api.AddHandler(of.ProviderConfigChange, &onChange)
	c := api.NewClient()

	// 3. Evaluate for a few contexts.
	contexts := []struct {
		label string
		ec    of.EvaluationContext
	}{
		{"alice", of.NewEvaluationContext("alice", nil)},
		{"bob", of.NewEvaluationContext("bob", map[string]any{"email": "bob@example.com"})},
		{"carol@acme", of.NewTargetlessEvaluationContext(map[string]any{"kind": "multi",
			"user": map[string]any{"key": "carol"}, "organization": map[string]any{"key": "acme", "plan": "pro"}})},
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CONTEXT\tFLAG\tVALUE\tVARIANT\tREASON\tLAUNCHDARKLY REASON")
	for _, cx := range contexts {
		b, _ := c.BooleanValueDetails(ctx, "new-checkout", false, cx.ec)
		s, _ := c.StringValueDetails(ctx, "button-color", "grey", cx.ec)
		n, _ := c.IntValueDetails(ctx, "page-size", 10, cx.ec)
		for _, r := range []struct {
			flag  string
			value any
			d     of.EvaluationDetails
		}{{"new-checkout", b.Value, b.EvaluationDetails}, {"button-color", s.Value, s.EvaluationDetails}, {"page-size", n.Value, n.EvaluationDetails}} {
			fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%s\t%v\n", cx.label, r.flag, r.value, r.d.Variant, r.d.Reason, r.d.FlagMetadata[dfopenfeature.MetaReasonKind])
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// 4. The writer turns new-checkout off; the SDK's handler hears it.
	fmt.Fprintln(out, "\nThe writer turns new-checkout off...")
	deadline := time.Now().Add(10 * time.Second)
	for version := 2; ; version++ {
		// The change poll's first pass is its baseline; a write before it
		// is not a change, so the writer repeats it until one is heard.
		doc := fmt.Sprintf(`{"key":"new-checkout","version":%d,"on":false,"variations":[false,true],"offVariation":0,"salt":"nc","fallthrough":{"variation":0}}`, version)
		if _, err := writer.UpsertFlag(ctx, w, []byte(doc)); err != nil {
			return err
		}
		select {
		case d := <-changed:
			fmt.Fprintf(out, "PROVIDER_CONFIGURATION_CHANGED from %s: %v\n", d.ProviderName, d.FlagChanges)
			b, _ := c.BooleanValueDetails(ctx, "new-checkout", true, contexts[0].ec)
			fmt.Fprintf(out, "new-checkout for alice: %v, reason %s\n", b.Value, b.Reason)
			return nil
		case <-time.After(time.Second):
			if time.Now().After(deadline) {
				return errors.New("no PROVIDER_CONFIGURATION_CHANGED within 10 s")
			}
		}
	}
}
