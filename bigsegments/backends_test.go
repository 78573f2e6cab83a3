package bigsegments_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
)

// backend opens a fresh, empty big-segment dataset on a real store.
type backend struct {
	name string
	open func(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter)
}

// backends lists the stores the behaviour tests run on. Redis and DynamoDB
// skip (or fail, with DAEMONFLAG_REQUIRE_BACKENDS=1) when their servers are
// not configured.
func backends() []backend {
	return []backend{
		{"bolt", openBolt},
		{"redis", openRedis},
		{"dynamodb", openDynamoDB},
	}
}

// openBolt opens a writer and a separate read-only reader on a new bbolt
// store file, as a writer process and a client process would.
func openBolt(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter) {
	path := filepath.Join(t.TempDir(), "bigsegments.db")
	w, err := bolt.Open(path, nil)
	if err != nil {
		t.Fatalf("bolt store: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	r, err := bolt.Open(path, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("bolt store (read-only): %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r, w
}

// openRedis opens a store on the test Redis server.
func openRedis(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter) {
	s := testaddrs.OpenRedisBigSegments(t)
	return s, s
}

// openDynamoDB opens a store on the test DynamoDB server.
func openDynamoDB(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter) {
	s := testaddrs.OpenDynamoDBBigSegments(t)
	return s, s
}

// forEachBackend runs fn as a subtest on each backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, r store.BigSegmentReader, w store.BigSegmentWriter)) {
	t.Helper()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			r, w := b.open(t)
			fn(t, r, w)
		})
	}
}

var errInjected = errors.New("injected store failure")

// probe wraps a real store's read side, counting reads and failing them on
// demand.
type probe struct {
	store.BigSegmentReader
	reads          atomic.Int64 // Membership calls that reached the store
	syncReads      atomic.Int64 // SynchronizedOn calls
	failMembership atomic.Bool
	failSync       atomic.Bool
	// gate, when non-nil, holds every Membership call until it is closed;
	// entered receives one value per call that is waiting.
	gate    chan struct{}
	entered chan struct{}
}

func (p *probe) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	p.reads.Add(1)
	if p.gate != nil {
		p.entered <- struct{}{}
		<-p.gate
	}
	if p.failMembership.Load() {
		return store.Membership{}, errInjected
	}
	return p.BigSegmentReader.Membership(ctx, contextHash)
}

func (p *probe) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	p.syncReads.Add(1)
	if p.failSync.Load() {
		return time.Time{}, false, errInjected
	}
	return p.BigSegmentReader.SynchronizedOn(ctx)
}

// eventually is the repository's one wait helper (internal/testwait).
var eventually = testwait.Eventually
