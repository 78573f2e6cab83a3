package bigsegments_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testservers"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
	dynamostore "github.com/daemonflag/daemonflag/stores/dynamodb"
	redisstore "github.com/daemonflag/daemonflag/stores/redis"
	"github.com/daemonflag/daemonflag/stores/testaddrs"
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

// openRedis opens a store on the test Redis server under a prefix of its
// own, whose keys it deletes at the end.
func openRedis(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter) {
	url := testservers.RedisURL(t)
	prefix := "dftest-bigsegments-" + testaddrs.Token()
	s, err := redisstore.New(redisstore.Options{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("redis store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		c := goredis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup of %s:*: %v", prefix, err)
		}
	})
	return s, s
}

// openDynamoDB opens a store on a new table of the test DynamoDB server,
// deleted at the end.
func openDynamoDB(t testing.TB) (store.BigSegmentReader, store.BigSegmentWriter) {
	endpoint := testservers.DynamoDBEndpoint(t)
	cfg := aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("daemonflag-test", "daemonflag-test", ""),
	}
	table := "dftest-bigsegments-" + testaddrs.Token()
	ctx := context.Background()
	s, err := dynamostore.New(ctx, dynamostore.Options{Table: table, Endpoint: endpoint, AWSConfig: &cfg, CreateTable: true})
	if err != nil {
		t.Fatalf("dynamodb store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		c := ddb.NewFromConfig(cfg, func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })
		if _, err := c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("cleanup: delete table %s: %v", table, err)
		}
	})
	sh := uncancelable{s}
	return sh, sh
}

// uncancelable passes calls to a store without their contexts' cancellation.
// dynalite, the test DynamoDB server, crashes when a client abandons a
// request midway ("Error: aborted" from its request handler), which a
// canceled context does; that would take the server from every test using
// it.
type uncancelable struct{ s *dynamostore.Store }

func (u uncancelable) Membership(ctx context.Context, h string) (store.Membership, error) {
	return u.s.Membership(context.WithoutCancel(ctx), h)
}

func (u uncancelable) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	return u.s.SynchronizedOn(context.WithoutCancel(ctx))
}

func (u uncancelable) ApplyMembership(ctx context.Context, cs []store.MembershipChange) error {
	return u.s.ApplyMembership(context.WithoutCancel(ctx), cs)
}

func (u uncancelable) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	return u.s.SetSynchronizedOn(context.WithoutCancel(ctx), t)
}

func (u uncancelable) Close() error { return u.s.Close() }

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

// eventually fails t unless cond becomes true within a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
