package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// ErrClosed is returned by every method of a [Store] after Close.
var ErrClosed = errors.New("redis store: closed")

// ErrConflict is wrapped by the error Upsert returns when other writers kept
// changing the collection for [Options.UpsertAttempts] attempts in a row.
// The item was not written; the caller may try again.
var ErrConflict = errors.New("redis store: gave up after repeated concurrent modifications")

// hints explain the Redis error replies a user of this store can meet, by
// their first word.
var hints = map[string]string{
	"WRONGTYPE": "a key of this dataset holds another Redis type: is another application using the prefix?",
	"MOVED":     "the server is a Redis Cluster node: connect with a cluster client (a redis+cluster:// URL or Options.Cluster)",
	"ASK":       "the server is a Redis Cluster node: connect with a cluster client (a redis+cluster:// URL or Options.Cluster)",
	"CROSSSLOT": "the dataset's keys are in different hash slots: use a prefix with a {hash tag}, such as {launchdarkly}",
	"NOAUTH":    "the server requires authentication: set Redis.Username and Redis.Password (or the URL's user:password@)",
	"WRONGPASS": "check Redis.Username and Redis.Password (or the URL's user:password@)",
	"NOPERM":    "the ACL user lacks a command or key pattern this store needs (the package documentation lists them)",
}

// transient are error replies of a server that cannot serve now but will
// (loading its data, a failover or resharding in progress).
var transient = map[string]bool{
	"LOADING":     true,
	"CLUSTERDOWN": true,
	"MASTERDOWN":  true,
	"TRYAGAIN":    true,
	"READONLY":    true,
	"BUSY":        true,
}

// wrapErr describes err from operation op (such as `get features "k"`).
// Errors that say the store cannot be reached or cannot answer now wrap
// store.ErrUnavailable; Redis error replies carry a hint; a canceled context
// stays itself.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var reply goredis.Error
	switch {
	case errors.Is(err, ErrClosed), errors.Is(err, context.Canceled):
		return fmt.Errorf("redis %s: %w", op, err)
	case errors.As(err, &reply):
		code, _, _ := strings.Cut(reply.Error(), " ")
		if transient[code] {
			return fmt.Errorf("redis %s: %w: %w", op, store.ErrUnavailable, err)
		}
		if h, ok := hints[code]; ok {
			return fmt.Errorf("redis %s: %w (%s)", op, err, h)
		}
		return fmt.Errorf("redis %s: %w", op, err)
	default:
		// Everything else comes from the transport: refused or failed
		// dials, timeouts (a context deadline included), broken
		// connections, TLS handshakes, an exhausted pool.
		return fmt.Errorf("redis %s: %w: %w", op, store.ErrUnavailable, err)
	}
}
