package redis

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// A flag and a segment as LaunchDarkly's Relay Proxy stores them: the JSON
// of LaunchDarkly's schema, field order and all.
const (
	relayFlagJSON = `{"key":"new-checkout","version":42,"on":true,"prerequisites":[],"salt":"c2FsdA==",` +
		`"sel":"abc","targets":[{"values":["user-1"],"variation":1}],"contextTargets":[],` +
		`"rules":[{"variation":1,"id":"rule-1","clauses":[{"contextKind":"user","attribute":"email",` +
		`"op":"endsWith","values":["@example.com"],"negate":false}],"trackEvents":false}],` +
		`"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":60000},{"variation":1,"weight":40000}]}},` +
		`"offVariation":0,"variations":[false,true],"clientSideAvailability":{"usingMobileKey":false,` +
		`"usingEnvironmentId":false},"clientSide":false,"trackEvents":false,"trackEventsFallthrough":false,` +
		`"debugEventsUntilDate":null,"deleted":false}`
	relaySegmentJSON = `{"key":"beta-users","included":[],"excluded":[],"includedContexts":[],` +
		`"excludedContexts":[],"salt":"c2VnLXNhbHQ=","rules":[],"version":7,"deleted":false,` +
		`"unbounded":true,"unboundedContextKind":"user","generation":3}`
	relayTombstoneJSON = `{"key":"old-flag","version":9,"deleted":true}`
)

// interopTarget is a deployment the interop tests run on: setup returns a
// raw client, the prefix, and how to open a store on that prefix.
type interopTarget struct {
	name  string
	setup func(t *testing.T) (raw goredis.UniversalClient, prefix string, open func(t *testing.T) *Store)
}

func interopTargets() []interopTarget {
	return []interopTarget{
		{"single", func(t *testing.T) (goredis.UniversalClient, string, func(*testing.T) *Store) {
			p := testPrefix("interop")
			return rawSingle(t), p, func(t *testing.T) *Store { return openSingle(t, p) }
		}},
		// LaunchDarkly's default prefix, on a server of the test's own so
		// that no other test shares the dataset.
		{"default-prefix", func(t *testing.T) (goredis.UniversalClient, string, func(*testing.T) *Store) {
			srv := startServer(t, plainArgs)
			raw := goredis.NewClient(&goredis.Options{Addr: srv.addr()})
			t.Cleanup(func() { _ = raw.Close() })
			return raw, "launchdarkly", func(t *testing.T) *Store { return mustOpen(t, Options{Addrs: []string{srv.addr()}}) }
		}},
		{"cluster", func(t *testing.T) (goredis.UniversalClient, string, func(*testing.T) *Store) {
			p := taggedPrefix("interop")
			return rawCluster(t), p, func(t *testing.T) *Store { return openCluster(t, p, false) }
		}},
		{"cluster-unhashed", func(t *testing.T) (goredis.UniversalClient, string, func(*testing.T) *Store) {
			p := testPrefix("interop-unhashed")
			return rawCluster(t), p, func(t *testing.T) *Store { return openCluster(t, p, true) }
		}},
	}
}

// TestInteropReadsRelayLayout writes a dataset and big-segment data with
// raw commands, exactly as LaunchDarkly's Relay Proxy (through its Go SDK's
// Redis integration and its big-segment synchronizer) writes them, and reads
// it through the store.
func TestInteropReadsRelayLayout(t *testing.T) {
	for _, tg := range interopTargets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := ctxT(t)
			raw, p, open := tg.setup(t)
			hash := contextHash("user-key")
			other := contextHash("other-user")
			syncMs := int64(1700000000123)
			// The SDK integration: DEL the hashes, HSET each item, SET "$inited" to "".
			for _, err := range []error{
				raw.Del(ctx, p+":features").Err(),
				raw.Del(ctx, p+":segments").Err(),
				raw.HSet(ctx, p+":features", "new-checkout", relayFlagJSON).Err(),
				raw.HSet(ctx, p+":features", "old-flag", relayTombstoneJSON).Err(),
				raw.HSet(ctx, p+":segments", "beta-users", relaySegmentJSON).Err(),
				raw.Set(ctx, p+":$inited", "", 0).Err(),
				// The big-segment synchronizer: its lock and cursor, SADD of
				// "<segmentKey>.g<generation>" per context hash, the sync time.
				raw.Set(ctx, p+":big_segments_lock", "", 0).Err(),
				raw.Set(ctx, p+":big_segments_cursor", "cursor-1", 0).Err(),
				raw.SAdd(ctx, p+":big_segment_include:"+hash, "beta-users.g3").Err(),
				raw.SAdd(ctx, p+":big_segment_include:"+hash, "other-seg.g1").Err(),
				raw.SAdd(ctx, p+":big_segment_exclude:"+other, "beta-users.g3").Err(),
				raw.Set(ctx, p+":big_segments_synchronized_on", strconv.FormatInt(syncMs, 10), 0).Err(),
			} {
				if err != nil {
					t.Fatalf("raw write: %v", err)
				}
			}

			s := open(t)
			if ok, err := s.Initialized(ctx); err != nil || !ok {
				t.Fatalf("Initialized = %v, %v; want true", ok, err)
			}
			it, found, err := s.Get(ctx, store.Features, "new-checkout")
			if err != nil || !found {
				t.Fatalf("Get = %v, %v", found, err)
			}
			if string(it.Data) != relayFlagJSON || it.Version != 42 || it.Deleted {
				t.Errorf("Get = version %d deleted %v data %s; want the relay bytes, version 42", it.Version, it.Deleted, it.Data)
			}
			all, err := s.GetAll(ctx, store.Features)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 {
				t.Fatalf("GetAll(features) = %d items, want 2", len(all))
			}
			for _, ki := range all {
				if ki.Key == "old-flag" && (!ki.Item.Deleted || ki.Item.Version != 9 || string(ki.Item.Data) != relayTombstoneJSON) {
					t.Errorf("tombstone read as %+v", ki.Item)
				}
			}
			seg, found, err := s.Get(ctx, store.Segments, "beta-users")
			if err != nil || !found || seg.Version != 7 || string(seg.Data) != relaySegmentJSON {
				t.Errorf("Get segment = %+v, %v, %v", seg, found, err)
			}

			m, err := s.Membership(ctx, hash)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(m.Included)
			if !slices.Equal(m.Included, []string{"beta-users.g3", "other-seg.g1"}) || len(m.Excluded) != 0 {
				t.Errorf("Membership(user-key) = %+v", m)
			}
			m, err = s.Membership(ctx, other)
			if err != nil || len(m.Included) != 0 || !slices.Equal(m.Excluded, []string{"beta-users.g3"}) {
				t.Errorf("Membership(other-user) = %+v, %v", m, err)
			}
			at, ok, err := s.SynchronizedOn(ctx)
			if err != nil || !ok || at.UnixMilli() != syncMs {
				t.Errorf("SynchronizedOn = %v, %v, %v; want %d ms", at, ok, err, syncMs)
			}
			// An Upsert over the relay's item compares with its version.
			older := mustItem(t, `{"key":"new-checkout","version":41}`)
			if applied, err := s.Upsert(ctx, store.Features, "new-checkout", older); err != nil || applied {
				t.Errorf("Upsert of an older version = %v, %v; want not applied", applied, err)
			}
		})
	}
}

// TestInteropWritesRelayLayout writes through the store and checks the keys
// with raw commands, as LaunchDarkly's SDKs would read them: names, Redis
// types, exact bytes, no TTLs, nothing else under the prefix.
func TestInteropWritesRelayLayout(t *testing.T) {
	for _, tg := range interopTargets() {
		t.Run(tg.name, func(t *testing.T) {
			ctx := ctxT(t)
			raw, p, open := tg.setup(t)
			s := open(t)
			flag := mustItem(t, relayFlagJSON)
			seg := mustItem(t, relaySegmentJSON)
			err := s.Init(ctx, []store.Collection{
				{Kind: store.Features, Items: []store.KeyedItem{{Key: "new-checkout", Item: flag}}},
				{Kind: store.Segments, Items: []store.KeyedItem{{Key: "beta-users", Item: seg}}},
			})
			if err != nil {
				t.Fatal(err)
			}
			// A tombstone without Data is stored as LaunchDarkly's tombstone JSON.
			if _, err := s.Upsert(ctx, store.Features, "gone", store.Item{Version: 5, Deleted: true}); err != nil {
				t.Fatal(err)
			}
			hash := contextHash("user-key")
			err = s.ApplyMembership(ctx, []store.MembershipChange{
				{ContextHash: hash, SegmentRef: "beta-users.g3"},
				{ContextHash: hash, SegmentRef: "other.g1", Excluded: true},
			})
			if err != nil {
				t.Fatal(err)
			}
			sync := time.UnixMilli(1700000000456)
			if err := s.SetSynchronizedOn(ctx, sync); err != nil {
				t.Fatal(err)
			}

			wantTypes := map[string]string{
				p + ":features":                     "hash",
				p + ":segments":                     "hash",
				p + ":$inited":                      "string",
				p + ":big_segment_include:" + hash:  "set",
				p + ":big_segment_exclude:" + hash:  "set",
				p + ":big_segments_synchronized_on": "string",
				// Ours, added to the layout (LaunchDarkly's SDKs ignore it):
				// the write time and the write mark.
				p + ":$last_write": "string",
				p + ":$write_mark": "string",
			}
			for key, typ := range wantTypes {
				if got := raw.Type(ctx, key).Val(); got != typ {
					t.Errorf("TYPE %s = %q, want %q", key, got, typ)
				}
				if ttl := raw.TTL(ctx, key).Val(); ttl != -1 {
					t.Errorf("TTL %s = %v, want none (-1)", key, ttl)
				}
			}
			if got := raw.HGet(ctx, p+":features", "new-checkout").Val(); got != relayFlagJSON {
				t.Errorf("HGET features new-checkout = %s", got)
			}
			if got := raw.HGet(ctx, p+":features", "gone").Val(); got != `{"key":"gone","version":5,"deleted":true}` {
				t.Errorf("HGET features gone = %s", got)
			}
			if got := raw.HGet(ctx, p+":segments", "beta-users").Val(); got != relaySegmentJSON {
				t.Errorf("HGET segments beta-users = %s", got)
			}
			if got, err := raw.Get(ctx, p+":$inited").Result(); err != nil || got != "" {
				t.Errorf("GET $inited = %q, %v; want the empty string", got, err)
			}
			if got := raw.SMembers(ctx, p+":big_segment_include:"+hash).Val(); !slices.Equal(got, []string{"beta-users.g3"}) {
				t.Errorf("SMEMBERS include = %q", got)
			}
			if got := raw.SMembers(ctx, p+":big_segment_exclude:"+hash).Val(); !slices.Equal(got, []string{"other.g1"}) {
				t.Errorf("SMEMBERS exclude = %q", got)
			}
			if got := raw.Get(ctx, p+":big_segments_synchronized_on").Val(); got != "1700000000456" {
				t.Errorf("GET big_segments_synchronized_on = %q", got)
			}
			// Nothing else under the prefix (no temporary Init keys either).
			got := scanAll(t, raw, globEscape(p)+":*")
			got = append(got, scanAll(t, raw, "{"+globEscape(p)+":*")...)
			slices.Sort(got)
			want := make([]string, 0, len(wantTypes))
			for k := range wantTypes {
				want = append(want, k)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("keys under the prefix:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// scanAll lists the keys matching pattern on every server of c.
func scanAll(t *testing.T, c goredis.UniversalClient, pattern string) []string {
	t.Helper()
	ctx := ctxT(t)
	var out []string
	scan := func(node goredis.Cmdable) {
		iter := node.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			out = append(out, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if cc, ok := c.(*goredis.ClusterClient); ok {
		var (
			mu    sync.Mutex
			nodes []*goredis.Client
		)
		_ = cc.ForEachMaster(ctx, func(_ context.Context, n *goredis.Client) error {
			mu.Lock()
			nodes = append(nodes, n)
			mu.Unlock()
			return nil
		})
		for _, n := range nodes {
			scan(n)
		}
		return out
	}
	scan(c)
	return out
}
