package bigsegments_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

func ExampleContextHash() {
	fmt.Println(store.ContextHash("user-key"))
	fmt.Println(store.SegmentRef("beta-testers", 2))
	// Output:
	// CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0=
	// beta-testers.g2
}

func ExampleManager() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.db")

	// A writer process fills the store (see package writer)...
	w, err := bolt.Open(path, nil)
	if err != nil {
		panic(err)
	}
	defer w.Close()
	ctx := context.Background()
	w.ApplyMembership(ctx, []store.MembershipChange{
		{ContextHash: store.ContextHash("user-key"), SegmentRef: store.SegmentRef("beta", 1)},
	})
	w.SetSynchronizedOn(ctx, time.Now())

	// ...and the client reads it: any store.BigSegmentReader will do.
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		panic(err)
	}
	defer r.Close()
	m, err := bigsegments.New(bigsegments.Options{Store: r})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	ms, status := m.Membership(ctx, "user-key")
	included, known := ms.CheckMembership("beta.g1")
	fmt.Println(included, known, status)
	fmt.Printf("%+v\n", m.Status())
	// Output:
	// true true HEALTHY
	// {Available:true Stale:false}
}
