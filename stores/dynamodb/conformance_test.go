package dynamodb

import (
	"testing"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/storetest"
)

func TestConformance(t *testing.T) {
	run := randomToken()
	open := func(t *testing.T, prefix string) *Store {
		s, err := New(t.Context(), testOptions(t, run+"-"+prefix))
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		return s
	}
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T, prefix string) store.Store { return open(t, prefix) },
		// DynamoDB has no multi-item atomicity at dataset sizes: Init orders
		// its writes instead (see the package documentation).
		AtomicInit: false,
		BigSegments: func(t *testing.T, prefix string) (store.BigSegmentReader, store.BigSegmentWriter) {
			s := open(t, prefix)
			return s, s
		},
	})
}
