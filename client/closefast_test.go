package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/stores"
)

// A client closed right after New, while its cache is still subscribing to
// the store's notifications, closes promptly (it once waited forever on
// Redis).
func TestCloseRightAfterNew(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		s, err := stores.Open(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for range 2000 {
			c, err := client.New(client.Config{Store: s, Logger: discardLogger()})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { c.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return within 10 s")
			}
		}
	})
}
