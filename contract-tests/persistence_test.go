package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testservers"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/stores/dynamodb"
)

// rawStore writes LaunchDarkly-layout data straight into a database, as the
// harness's persistent-store tests do (never through daemonflag).
type rawStore interface {
	config() map[string]any // the "store" part of persistentDataStore
	write(t *testing.T, key, data string)
	markInited(t *testing.T)         // writes the "$inited" marker
	remove(t *testing.T, key string) // deletes one flag
	reset(t *testing.T)              // deletes everything
}

func token() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type redisRaw struct {
	url, prefix string
	c           *goredis.Client
}

func newRedisRaw(t *testing.T) *redisRaw {
	url := testservers.RedisURL(t)
	opts, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	r := &redisRaw{url: url, prefix: "dfct-" + token(), c: goredis.NewClient(opts)}
	t.Cleanup(func() {
		r.reset(t)
		r.c.Close()
	})
	return r
}

func (r *redisRaw) config() map[string]any {
	return map[string]any{"type": "redis", "dsn": r.url, "prefix": r.prefix}
}

func (r *redisRaw) write(t *testing.T, key, data string) {
	if err := r.c.HSet(context.Background(), r.prefix+":features", key, data).Err(); err != nil {
		t.Fatal(err)
	}
}

func (r *redisRaw) markInited(t *testing.T) {
	if err := r.c.Set(context.Background(), r.prefix+":$inited", "", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

func (r *redisRaw) remove(t *testing.T, key string) {
	if err := r.c.HDel(context.Background(), r.prefix+":features", key).Err(); err != nil {
		t.Fatal(err)
	}
}

// reset removes the dataset, the "$inited" marker first: as when a store
// loses everything at once, a reader never sees the items gone while the
// marker is still there.
func (r *redisRaw) reset(t *testing.T) {
	ctx := context.Background()
	if err := r.c.Del(ctx, r.prefix+":$inited").Err(); err != nil {
		t.Fatal(err)
	}
	iter := r.c.Scan(ctx, 0, r.prefix+":*", 1000).Iterator()
	for iter.Next(ctx) {
		r.c.Del(ctx, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
}

type dynamoRaw struct {
	endpoint, prefix string
	c                *ddb.Client
	keys             []string
	inited           bool
}

func newDynamoRaw(t *testing.T) *dynamoRaw {
	endpoint := testservers.DynamoDBEndpoint(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")}
	// The harness's table, created as the service would.
	s, err := dynamodb.New(context.Background(), dynamodb.Options{Table: contractTestsTable, Endpoint: endpoint, AWSConfig: &cfg, CreateTable: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	d := &dynamoRaw{endpoint: endpoint, prefix: "dfct-" + token(),
		c: ddb.NewFromConfig(cfg, func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })}
	t.Cleanup(func() { d.reset(t) })
	return d
}

func (d *dynamoRaw) config() map[string]any {
	return map[string]any{"type": "dynamodb", "dsn": d.endpoint, "prefix": d.prefix}
}

func (d *dynamoRaw) write(t *testing.T, key, data string) {
	item, err := jsonvalue.Parse([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := item.Get("version")
	_, err = d.c.PutItem(context.Background(), &ddb.PutItemInput{
		TableName: aws.String(contractTestsTable),
		Item: map[string]types.AttributeValue{
			"namespace": &types.AttributeValueMemberS{Value: d.prefix + ":features"},
			"key":       &types.AttributeValueMemberS{Value: key},
			"version":   &types.AttributeValueMemberN{Value: strconv.Itoa(v.Int())},
			"item":      &types.AttributeValueMemberS{Value: data},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.keys = append(d.keys, key)
}

func (d *dynamoRaw) markInited(t *testing.T) {
	_, err := d.c.PutItem(context.Background(), &ddb.PutItemInput{
		TableName: aws.String(contractTestsTable),
		Item: map[string]types.AttributeValue{
			"namespace": &types.AttributeValueMemberS{Value: d.prefix + ":$inited"},
			"key":       &types.AttributeValueMemberS{Value: d.prefix + ":$inited"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.inited = true
}

func (d *dynamoRaw) remove(t *testing.T, key string) {
	d.del(t, d.prefix+":features", key)
}

func (d *dynamoRaw) del(t *testing.T, namespace, key string) {
	_, err := d.c.DeleteItem(context.Background(), &ddb.DeleteItemInput{
		TableName: aws.String(contractTestsTable),
		Key: map[string]types.AttributeValue{
			"namespace": &types.AttributeValueMemberS{Value: namespace},
			"key":       &types.AttributeValueMemberS{Value: key},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// reset removes the dataset, the "$inited" marker first (see redisRaw.reset).
func (d *dynamoRaw) reset(t *testing.T) {
	if d.inited {
		d.del(t, d.prefix+":$inited", d.prefix+":$inited")
	}
	for _, k := range d.keys {
		d.remove(t, k)
	}
	d.keys, d.inited = nil, false
}

// The harness's flags: "fallthrough" when found.
const (
	persistFlag      = `{"key":"flag-key","version":1,"on":true,"variations":["off","match","fallthrough"],"offVariation":0,"fallthrough":{"variation":2},"salt":"s"}`
	persistOtherFlag = `{"key":"uncached-flag-key","version":1,"on":true,"variations":["off","match","fallthrough"],"offVariation":0,"fallthrough":{"variation":2},"salt":"s"}`
)

func TestPersistentStores(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(t *testing.T) rawStore
	}{
		{"redis", func(t *testing.T) rawStore { return newRedisRaw(t) }},
		{"dynamodb", func(t *testing.T) rawStore { return newDynamoRaw(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			persistenceTests(t, b.open)
		})
	}
}

func persistenceTests(t *testing.T, open func(t *testing.T) rawStore) {
	valueOf := func(h *harness, c, key string) string {
		v, _ := h.evaluate(c, key, "any", "default", false).Get("value")
		return v.Str()
	}
	newClient := func(h *harness, raw rawStore, cacheCfg map[string]any) string {
		return h.create(map[string]any{"credential": testKey,
			"persistentDataStore": map[string]any{"store": raw.config(), "cache": cacheCfg}})
	}
	// never checks that cond stays false for d.
	never := func(t *testing.T, what string, d time.Duration, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if cond() {
				t.Fatalf("%s happened", what)
			}
		}
	}

	t.Run("empty store answers FLAG_NOT_FOUND, a written flag appears", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		c := newClient(h, raw, map[string]any{"mode": "ttl", "ttl": 1})
		assertJSON(t, "empty", h.evaluate(c, "flag-key", "any", "default", true),
			`{"value":"default","reason":{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}}`)
		raw.write(t, "flag-key", persistFlag)
		eventually(t, "the written flag", func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
	})

	t.Run("cache off sees changes at once", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		raw.write(t, "flag-key", persistFlag)
		c := newClient(h, raw, map[string]any{"mode": "off"})
		if got := valueOf(h, c, "flag-key"); got != "fallthrough" {
			t.Fatalf("value %q", got)
		}
		raw.reset(t)
		eventually(t, "the flag to go", func() bool { return valueOf(h, c, "flag-key") == "default" })
	})

	t.Run("ttl keeps a hit for the TTL", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		c := newClient(h, raw, map[string]any{"mode": "ttl", "ttl": 1})
		raw.markInited(t)
		raw.write(t, "flag-key", persistFlag)
		eventually(t, "the flag", func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
		raw.remove(t, "flag-key")
		never(t, "the flag going before the TTL", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "default" })
		eventually(t, "the flag to go after the TTL", func() bool { return valueOf(h, c, "flag-key") == "default" })
	})

	// A store never marked initialized (the harness writes no "$inited"
	// marker) has nothing to lose: a flag that vanishes from it goes after
	// the TTL, as the harness's "will cache found flag for TTL" expects.
	t.Run("ttl lets a never-initialized store's flag go after the TTL", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		c := newClient(h, raw, map[string]any{"mode": "ttl", "ttl": 0.2})
		raw.write(t, "flag-key", persistFlag)
		eventually(t, "the flag", func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
		raw.reset(t)
		eventually(t, "the flag to go after the TTL", func() bool { return valueOf(h, c, "flag-key") == "default" })
	})

	// Where daemonflag differs from LaunchDarkly on purpose: a store that was
	// initialized and then loses its marker and its data (Redis restarted
	// without persistence) keeps being served from the cache until a writer
	// refills it (see package store/cache).
	t.Run("ttl keeps a flag an initialized store loses", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		raw.markInited(t) // before the client starts, so its first check sees the marker
		raw.write(t, "flag-key", persistFlag)
		c := newClient(h, raw, map[string]any{"mode": "ttl", "ttl": 0.2})
		eventually(t, "the flag", func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
		raw.reset(t)
		never(t, "the flag going", 600*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "default" })
	})

	t.Run("ttl keeps a miss for the TTL", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		c := newClient(h, raw, map[string]any{"mode": "ttl", "ttl": 1})
		if got := valueOf(h, c, "flag-key"); got != "default" {
			t.Fatalf("value %q", got)
		}
		raw.write(t, "flag-key", persistFlag)
		never(t, "the flag appearing before the TTL", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
		eventually(t, "the flag after the TTL", func() bool { return valueOf(h, c, "flag-key") == "fallthrough" })
	})

	t.Run("infinite keeps what it cached", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		raw.write(t, "flag-key", persistFlag)
		raw.write(t, "uncached-flag-key", persistOtherFlag)
		c := newClient(h, raw, map[string]any{"mode": "infinite"})
		if got := valueOf(h, c, "flag-key"); got != "fallthrough" {
			t.Fatalf("value %q", got)
		}
		raw.reset(t)
		never(t, "the uncached flag", 500*time.Millisecond, func() bool { return valueOf(h, c, "uncached-flag-key") == "fallthrough" })
		never(t, "the cached flag going", 500*time.Millisecond, func() bool { return valueOf(h, c, "flag-key") == "default" })
	})

	t.Run("the relay fills the persistent store", func(t *testing.T) {
		h, raw := newHarness(t), open(t)
		s := standardStreamer(t)
		c := h.create(map[string]any{"credential": testKey, "streaming": map[string]any{"baseUri": s.URL},
			"persistentDataStore": map[string]any{"store": raw.config(), "cache": map[string]any{"mode": "off"}}})
		assertJSON(t, "evaluate", h.evaluate(c, "string-flag", "string", "d", false), `{"value":"on"}`)
		// A second client in daemon mode on the same store reads what the
		// relay wrote.
		c2 := newClient(h, raw, map[string]any{"mode": "off"})
		assertJSON(t, "daemon mode", h.evaluate(c2, "string-flag", "string", "d", false), `{"value":"on"}`)
		s.push("patch", `{"path":"/flags/string-flag","data":{"key":"string-flag","version":9,"on":false,"variations":["x"],"offVariation":0}}`)
		eventually(t, "the patch in daemon mode", func() bool {
			v, _ := h.evaluate(c2, "string-flag", "string", "d", false).Get("value")
			return v.Str() == "x"
		})
	})
}
