package openfeature_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/daemonflag/daemonflag/client"
	dfopenfeature "github.com/daemonflag/daemonflag/openfeature"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/writer"
)

// A provider on a bbolt store that a writer filled, registered with an
// OpenFeature API, evaluating through an OpenFeature client.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.db")

	// The writer (usually another process: daemonflag sync or relay).
	w, _ := bolt.Open(path, nil)
	defer w.Close()
	ds, _ := writer.Parse("flags.json", []byte(`{"flags": {"new-checkout": {"on": true, "variations": [false, true],
		"offVariation": 0, "salt": "s", "targets": [{"variation": 1, "values": ["alice"]}], "fallthrough": {"variation": 0}}}}`))
	writer.WriteDataset(ctx, w, ds)

	// The service.
	p, err := dfopenfeature.NewFromAddress(ctx, "bolt:"+path, client.Config{}, dfopenfeature.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	api := isolated.NewAPI() // or the package-level of.SetProviderAndWait
	defer api.Shutdown(ctx)
	if err := api.SetProviderAndWait(ctx, p); err != nil {
		fmt.Println(err)
		return
	}
	c := api.NewClient()
	for _, user := range []string{"alice", "bob"} {
		d, _ := c.BooleanValueDetails(ctx, "new-checkout", false, of.NewEvaluationContext(user, nil))
		fmt.Println(user, d.Value, d.Variant, d.Reason, d.FlagMetadata[dfopenfeature.MetaReasonKind])
	}
	// Output:
	// alice true 1 TARGETING_MATCH TARGET_MATCH
	// bob false 0 DEFAULT FALLTHROUGH
}
