package writer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daemonflag/daemonflag/store/memstore"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

// Load a flag data file, validate it and write it to a bbolt store.
func ExampleWriteDataset() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "flags.yaml")
	_ = os.WriteFile(file, []byte(`
flags:
  new-ui:
    on: true
    variations: [false, true]
    targets: [{values: [alice], variation: 1}]
    fallthrough: {variation: 0}
flagValues:
  banner: "Welcome!"
`), 0o644)

	d, err := writer.LoadFiles(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := stores.Open(context.Background(), "bolt:"+filepath.Join(dir, "flags.db"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	sum, err := writer.WriteDataset(context.Background(), s, d)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d flags written, %d changed\n", sum.Flags, sum.Changed)
	// Output: 2 flags written, 2 changed
}

// Validation errors name the file, line and column of each problem.
func ExampleValidate() {
	d, err := writer.Parse("flags.json", []byte(`{"flags": {
  "a": {"on": true, "variations": [1, 2], "fallthrough": {"variation": 2}},
  "b": {"on": false, "variations": [1], "prerequisites": [{"key": "c", "variation": 0}]}
}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	warnings, err := writer.Validate(d)
	for _, w := range warnings {
		fmt.Println(w)
	}
	if ve, ok := err.(*writer.ValidationError); ok {
		for _, p := range ve.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// flags.json:3:3: warning: flag "b": fallthrough: neither a variation nor a rollout (an error for LaunchDarkly's evaluator once the flag is turned on)
	// flags.json:3:3: warning: flag "b": prerequisites[0]: flag "c" is not defined (the prerequisite fails until it exists)
	// flags.json:2:3: flag "a": fallthrough.variation: variation 2 is out of range (the flag has 2 variations)
}

// A dry run prints the plan; the deletion guard refuses to empty a store.
func ExampleWrite() {
	ctx := context.Background()
	s := memstore.New()
	d, _ := writer.Parse("v1.json", []byte(`{"flagValues": {"a": 1, "b": 2}}`))
	if _, err := writer.Write(ctx, s, d, writer.WriteOptions{}); err != nil {
		fmt.Println(err)
		return
	}
	d, _ = writer.Parse("v2.json", []byte(`{"flagValues": {"a": 10, "c": 3}}`))
	sum, _ := writer.Write(ctx, s, d, writer.WriteOptions{DryRun: true})
	for _, c := range sum.Changes {
		fmt.Println(c)
	}
	empty, _ := writer.Parse("typo.json", []byte(`{"flags": {}}`))
	_, err := writer.Write(ctx, s, empty, writer.WriteOptions{})
	fmt.Println(err)
	// Output:
	// changed flag "a" (version 1 -> 2)
	// new     flag "c" (version 1)
	// deleted flag "b" (version 1; tombstone at 2)
	// refusing to delete 2 of the store's 2 live flags (all of them); nothing written (allow it explicitly to confirm)
}
