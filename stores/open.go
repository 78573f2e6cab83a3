package stores

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/stores/dynamodb"
	"github.com/daemonflag/daemonflag/stores/file"
	"github.com/daemonflag/daemonflag/stores/redis"
)

// OpenOptions adjusts how Address.Open opens a store. The zero value opens
// it for reading and writing.
type OpenOptions struct {
	// ReadOnly opens a bbolt store read-only: it never creates or locks a
	// file for writing, and its write methods fail. Tools that only read
	// (inspect, export, eval) set it. Redis and DynamoDB stores ignore it.
	ReadOnly bool

	// Logger receives a Redis store's warnings and go-redis's own log lines,
	// structured and rate-limited (see redis.Options.Logger), and a file
	// store's reloads and problems. Nil: slog.Default(). Other backends
	// ignore it.
	Logger *slog.Logger
}

// Open parses addr and opens the store it names for reading and writing.
// See the package documentation for the address forms and for the optional
// interfaces the store implements. Address errors are *AddressError.
//
// Opening does no network I/O for Redis and DynamoDB (unless the DynamoDB
// address asks for create=true): an unreachable server shows up as an error
// on first use, wrapping store.ErrUnavailable.
func Open(ctx context.Context, addr string) (store.Store, error) {
	a, err := Parse(addr)
	if err != nil {
		return nil, err
	}
	return a.Open(ctx, nil)
}

// Open opens the store the address names; opts may be nil.
func (a Address) Open(ctx context.Context, opts *OpenOptions) (store.Store, error) {
	if opts == nil {
		opts = &OpenOptions{}
	}
	switch a.Backend {
	case Bolt:
		if a.Bolt == nil {
			return nil, fmt.Errorf("open %s: no bolt options", a)
		}
		o := *a.Bolt
		o.ReadOnly = o.ReadOnly || opts.ReadOnly
		s, err := bolt.Open(a.BoltPath, &o)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", a, err)
		}
		return s, nil
	case Redis:
		if a.Redis == nil {
			return nil, fmt.Errorf("open %s: no redis options", a)
		}
		o := *a.Redis
		if opts.Logger != nil {
			o.Logger = opts.Logger
		}
		s, err := redis.New(o)
		if err != nil {
			return nil, &AddressError{Address: a.redacted, Problem: oneLine(err.Error()), Example: redisExampleFor(a.Redis)}
		}
		return s, nil
	case DynamoDB:
		if a.DynamoDB == nil {
			return nil, fmt.Errorf("open %s: no dynamodb options", a)
		}
		s, err := dynamodb.New(ctx, *a.DynamoDB)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", a, err)
		}
		return s, nil
	case File:
		var o file.Options
		if a.File != nil {
			o = *a.File
		}
		if o.Logger == nil {
			o.Logger = opts.Logger
		}
		s, err := file.Open(ctx, a.FilePaths, &o)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("open store: unknown backend %q", a.Backend)
}

func redisExampleFor(o *redis.Options) string {
	switch {
	case o.Cluster:
		return ExampleRedisCluster
	case o.MasterName != "":
		return ExampleRedisSentinel
	case o.Redis.TLSConfig != nil || o.TLSCAFile != "":
		return ExampleRedisTLS
	}
	return ExampleRedis
}

// backend is what the package documentation promises of every backend.
type backend interface {
	store.Store
	store.Pinger
	store.BigSegmentReader
	store.BigSegmentWriter
	store.MembershipScanner
	store.Notifier
	store.Batcher
	store.WriteTimeReader
}

// Compile-time checks that every backend keeps the promise.
var (
	_ backend = (*bolt.Store)(nil)
	_ backend = (*redis.Store)(nil)
	_ backend = (*dynamodb.Store)(nil)
)
