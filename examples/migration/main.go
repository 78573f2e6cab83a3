// Command migration moves a small key-value store from a bbolt file to
// Redis behind a LaunchDarkly-style migration flag, stage by stage:
//
//	DAEMONFLAG_REDIS_URL=redis://127.0.0.1:6379 go run ./examples/migration
//
// The old origin is a bbolt bucket in a temporary file, the new origin keys
// in Redis under a prefix of its own (removed at the end). A writer moves
// the flag "kv-migration" through off, dualwrite, shadow, live, rampdown
// and complete; at each stage the service writes and reads through a
// migration.Migrator, which follows the stage table, checks that the two
// stores agree while both are read, and sends one migration_op event per
// operation. The events go to a JSON-lines file sink (events.FileSink), so
// nothing leaves the host; the command counts them at the end.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	bbolt "go.etcd.io/bbolt"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/migration"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/store/memstore"
)

const flagKey = "kv-migration"

func main() {
	url := os.Getenv("DAEMONFLAG_REDIS_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "migration: set DAEMONFLAG_REDIS_URL (for example redis://127.0.0.1:6379) to the Redis the keys move to")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdout, url); err != nil {
		fmt.Fprintln(os.Stderr, "migration:", err)
		os.Exit(1)
	}
}

// put is a write: a key and its value.
type put struct{ key, value string }

// oldStore is the bbolt side.
type oldStore struct{ db *bbolt.DB }

var bucket = []byte("kv")

func (s oldStore) read(_ context.Context, p put) (string, error) {
	var v []byte
	err := s.db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			v = append(v, b.Get([]byte(p.key))...)
		}
		return nil
	})
	if err == nil && v == nil {
		return "", fmt.Errorf("old: %q not found", p.key)
	}
	return string(v), err
}

func (s oldStore) write(_ context.Context, p put) (struct{}, error) {
	return struct{}{}, s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.Put([]byte(p.key), []byte(p.value))
	})
}

// newStore is the Redis side.
type newStore struct {
	rdb    goredis.UniversalClient
	prefix string
}

func (s newStore) read(ctx context.Context, p put) (string, error) {
	v, err := s.rdb.Get(ctx, s.prefix+p.key).Result()
	if errors.Is(err, goredis.Nil) {
		return "", fmt.Errorf("new: %q not found", p.key)
	}
	return v, err
}

func (s newStore) write(ctx context.Context, p put) (struct{}, error) {
	return struct{}{}, s.rdb.Set(ctx, s.prefix+p.key, p.value, 0).Err()
}

func stageFlag(stage migration.Stage, version int) store.KeyedItem {
	idx := slices.Index(migration.Stages, stage)
	json := fmt.Sprintf(`{"key":%q,"version":%d,"on":true,"salt":"kv",
		"variations":["off","dualwrite","shadow","live","rampdown","complete"],
		"fallthrough":{"variation":%d},"migration":{"checkRatio":1}}`, flagKey, version, idx)
	it, _ := store.ItemFromJSON([]byte(json))
	return store.KeyedItem{Key: flagKey, Item: it}
}

func run(ctx context.Context, out io.Writer, redisURL string) error {
	dir, err := os.MkdirTemp("", "daemonflag-migration-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The two origins.
	db, err := bbolt.Open(filepath.Join(dir, "old.db"), 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	opts, err := goredis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("DAEMONFLAG_REDIS_URL: %w", err)
	}
	rdb := goredis.NewClient(opts)
	defer rdb.Close()
	prefix := fmt.Sprintf("daemonflag-example-migration:%d:", time.Now().UnixNano())
	defer cleanup(rdb, prefix)
	oldS, newS := oldStore{db}, newStore{rdb, prefix}

	// The flag store the writer fills (in production: the daemonflag writer
	// or a Relay Proxy, in another process), and the service's client, which
	// writes its events to a file.
	flags := memstore.New()
	version := 1
	if err := flags.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{stageFlag(migration.Off, version)}}}); err != nil {
		return err
	}
	eventsPath := filepath.Join(dir, "events.jsonl")
	sink, err := events.NewFileSink(events.FileSinkOptions{Path: eventsPath})
	if err != nil {
		return err
	}
	defer sink.Close()
	c, err := client.New(client.Config{Store: flags, Cache: cache.Options{Mode: cache.ModeOff},
		Events: events.Config{Sink: sink, FlushInterval: time.Hour}})
	if err != nil {
		return err
	}
	defer c.Close()

	m, err := migration.NewMigrator(c, migration.Config[put, string, struct{}]{
		ReadOld: oldS.read, ReadNew: newS.read,
		WriteOld: oldS.write, WriteNew: newS.write,
		Compare: func(a, b string) bool { return a == b },
	})
	if err != nil {
		return err
	}
	svc := evalctx.NewWithKind("service", "kv-api")

	// Before the migration: data lives in bbolt only.
	for i := 1; i <= 3; i++ {
		if _, err := oldS.write(ctx, put{fmt.Sprintf("user:%d", i), fmt.Sprintf("v%d", i)}); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "bbolt holds user:1..3; Redis holds nothing")

	for _, stage := range migration.Stages {
		if stage != migration.Off {
			version++
			if _, err := flags.Upsert(ctx, store.Features, flagKey, stageFlag(stage, version).Item); err != nil {
				return err
			}
		}
		fmt.Fprintf(out, "\n== stage %s\n", stage)
		// A write of a new key.
		key := "user:" + string(stage)
		w := m.Write(ctx, flagKey, svc, migration.Off, put{key, "fresh"})
		if w.Stage != stage {
			return fmt.Errorf("the client evaluated %s, the writer set %s", w.Stage, stage)
		}
		wrote := []string{string(w.Authoritative.Origin)}
		if w.NonAuthoritative != nil {
			wrote = append(wrote, string(w.NonAuthoritative.Origin))
		}
		fmt.Fprintf(out, "write %s -> %s (authoritative first), err %v\n", key, strings.Join(wrote, ", "), w.Authoritative.Err)
		if stage == migration.DualWrite {
			// Backfill: copy what only bbolt has, so that shadow reads can agree.
			for i := 1; i <= 3; i++ {
				k := fmt.Sprintf("user:%d", i)
				v, err := oldS.read(ctx, put{key: k})
				if err != nil {
					return err
				}
				if _, err := newS.write(ctx, put{k, v}); err != nil {
					return err
				}
			}
			fmt.Fprintln(out, "backfill: copied user:1..3 to Redis")
		}
		r := m.Read(ctx, flagKey, svc, migration.Off, put{key: "user:1"})
		fmt.Fprintf(out, "read user:1 from %s = %q, err %v\n", r.Origin, r.Value, r.Err)
		if r.Err != nil {
			return fmt.Errorf("stage %s: read: %w", stage, r.Err)
		}
	}

	// Every key written during the migration is in Redis now.
	n, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nRedis holds %d keys\n", len(n))

	if !c.FlushAndWait(10 * time.Second) {
		return errors.New("events were not written in time")
	}
	ops, inconsistent, err := countOps(eventsPath)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d migration_op events written to %s, %d inconsistent reads\n", ops, filepath.Base(eventsPath), inconsistent)
	return nil
}

// countOps counts migration_op events and inconsistent reads in the
// JSON-lines file.
func countOps(path string) (ops, inconsistent int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		line := sc.Text()
		ops += strings.Count(line, `"kind":"migration_op"`)
		inconsistent += strings.Count(line, `"key":"consistent","value":false`)
	}
	return ops, inconsistent, sc.Err()
}

func cleanup(rdb *goredis.Client, prefix string) {
	ctx := context.Background()
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err == nil && len(keys) > 0 {
		rdb.Del(ctx, keys...)
	}
}
