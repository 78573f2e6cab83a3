package bolt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// A writer process writes the dataset; client processes open the same path
// read-only and see each published dataset whole.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "flags")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "daemonflag.db")
	ctx := context.Background()

	w, err := bolt.Open(path, nil)
	if err != nil {
		panic(err)
	}
	defer w.Close()
	flag, _ := store.ItemFromJSON([]byte(`{"key":"new-ui","version":1,"on":true}`))
	err = w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "new-ui", Item: flag}}}})
	if err != nil {
		panic(err)
	}

	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	ok, _ := r.Initialized(ctx)
	it, found, _ := r.Get(ctx, store.Features, "new-ui")
	fmt.Println(ok, found, it.Version, string(it.Data))

	newer, _ := store.ItemFromJSON([]byte(`{"key":"new-ui","version":2,"on":false}`))
	applied, _ := w.Upsert(ctx, store.Features, "new-ui", newer)
	it, _, _ = r.Get(ctx, store.Features, "new-ui")
	fmt.Println(applied, it.Version)
	// Output:
	// true true 1 {"key":"new-ui","version":1,"on":true}
	// true 2
}
