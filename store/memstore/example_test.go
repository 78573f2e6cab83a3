package memstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/memstore"
)

func Example() {
	ctx := context.Background()
	s := memstore.New()
	defer s.Close()

	it, err := store.ItemFromJSON([]byte(`{"key":"f","version":1,"on":true}`))
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: it}}}}); err != nil {
		log.Fatal(err)
	}
	// Another handle sees the data, as another process would.
	reader := s.Connect()
	got, found, _ := reader.Get(ctx, store.Features, "f")
	fmt.Println(found, got.Version)

	// An outage, for testing what the code under test does then.
	s.SetError(fmt.Errorf("%w: injected", store.ErrUnavailable))
	_, _, err = reader.Get(ctx, store.Features, "f")
	fmt.Println(errors.Is(err, store.ErrUnavailable))
	// Output:
	// true 1
	// true
}
