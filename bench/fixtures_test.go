package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ldredis "github.com/launchdarkly/go-server-sdk-redis-redigo/v3"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoretypes"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/redis"
)

// The benchmark data: boolean flags for each case of the warm-evaluation
// benchmarks, the segments they use, and the contexts they are evaluated
// for. Both SDKs get the same JSON documents.

// evalCase is one warm-evaluation case: a flag and a context.
type evalCase struct {
	name    string
	flagKey string
	context string // context JSON
}

const (
	benchUser = `{"kind":"user","key":"user-500","name":"Bob","email":"bob@example.com","country":"us",` +
		`"age":42,"joined":"2021-03-04T05:06:07Z","version":"2.3.4","groups":["beta","staff"]}`
	benchMulti = `{"kind":"multi","user":{"key":"user-500","email":"bob@example.com","country":"us"},` +
		`"org":{"key":"org-7","plan":"enterprise","seats":250}}`
)

// boolFlag returns a boolean flag (variations [false, true], off variation
// 0) with the given extra properties, which default to falling through to
// true.
func boolFlag(key, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	if !strings.Contains(extra, `"fallthrough"`) {
		extra += `,"fallthrough":{"variation":1}`
	}
	return `{"key":"` + key + `","version":1,"on":true,"variations":[false,true],"offVariation":0,` +
		`"salt":"` + key + `-salt"` + extra + `}`
}

// ruleFlag returns a flag with one rule of one clause that serves true; it
// falls through to false.
func ruleFlag(key, clause string) string {
	return boolFlag(key, `"fallthrough":{"variation":0},"rules":[{"id":"rule-1","variation":1,"clauses":[`+clause+`]}]`)
}

func quotedKeys(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%s%d"`, prefix, i)
	}
	return b.String()
}

// benchData returns the warm-evaluation cases and every flag and segment
// they need.
func benchData() (cases []evalCase, flags, segments map[string]string) {
	flags, segments = map[string]string{}, map[string]string{}
	add := func(name, doc, ctx string) {
		key := "bench-" + name
		flags[key] = strings.Replace(doc, `"key":"KEY"`, `"key":"`+key+`"`, 1)
		cases = append(cases, evalCase{name: name, flagKey: key, context: ctx})
	}
	rule := func(name, clause string) { add(name, ruleFlag("KEY", clause), benchUser) }

	add("fallthrough", boolFlag("KEY", ""), benchUser)
	rule("rule-in", `{"attribute":"email","op":"in","values":[`+quotedKeys("someone", 19)+`,"bob@example.com"]}`)
	rule("rule-startsWith", `{"attribute":"email","op":"startsWith","values":["alice","bob@"]}`)
	rule("rule-endsWith", `{"attribute":"email","op":"endsWith","values":["@example.org","@example.com"]}`)
	rule("rule-contains", `{"attribute":"email","op":"contains","values":["@example."]}`)
	rule("rule-matches", `{"attribute":"email","op":"matches","values":["^[a-z]+@example\\.com$"]}`)
	rule("rule-lessThan", `{"attribute":"age","op":"lessThan","values":[50]}`)
	rule("rule-before", `{"attribute":"joined","op":"before","values":["2022-01-01T00:00:00Z"]}`)
	rule("rule-after", `{"attribute":"joined","op":"after","values":[1600000000000]}`)
	rule("rule-semVerGreaterThan", `{"attribute":"version","op":"semVerGreaterThan","values":["2.3.0"]}`)
	rule("rule-semVerEqual", `{"attribute":"version","op":"semVerEqual","values":["2.3.4"]}`)
	add("rule-contextKind", ruleFlag("KEY", `{"contextKind":"org","attribute":"plan","op":"in","values":["enterprise"]}`), benchMulti)

	for _, n := range []int{10, 100, 1000} {
		add(fmt.Sprintf("targets-%d", n),
			boolFlag("KEY", `"fallthrough":{"variation":0},"targets":[{"variation":1,"values":[`+quotedKeys("user-", n)+`]}]`),
			strings.Replace(benchUser, `"user-500"`, fmt.Sprintf(`"user-%d"`, n/2), 1))
	}

	segments["seg-included"] = `{"key":"seg-included","version":1,"salt":"s1","included":[` + quotedKeys("user-", 1000) + `]}`
	segments["seg-excluded"] = `{"key":"seg-excluded","version":1,"salt":"s2","excluded":["user-500"],` +
		`"rules":[{"id":"sr","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`
	segments["seg-rule"] = `{"key":"seg-rule","version":1,"salt":"s3","included":["someone-else"],` +
		`"rules":[{"id":"sr","clauses":[{"attribute":"country","op":"in","values":["gb","us"]},` +
		`{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`
	for _, s := range []string{"included", "excluded", "rule"} {
		add("segment-"+s, ruleFlag("KEY", `{"op":"segmentMatch","values":["seg-`+s+`"]}`), benchUser)
	}

	add("rollout", boolFlag("KEY", `"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}`), benchUser)
	add("experiment", boolFlag("KEY", `"fallthrough":{"rollout":{"kind":"experiment","seed":123,`+
		`"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}`), benchUser)

	var prereqs []string
	for i := range 5 {
		key := fmt.Sprintf("bench-prereq-w%d", i)
		flags[key] = boolFlag(key, "")
		prereqs = append(prereqs, `{"key":"`+key+`","variation":1}`)
	}
	add("prereqs-width-5", boolFlag("KEY", `"prerequisites":[`+strings.Join(prereqs, ",")+`]`), benchUser)
	for i := range 5 {
		key := fmt.Sprintf("bench-prereq-d%d", i)
		extra := ""
		if i < 4 {
			extra = fmt.Sprintf(`"prerequisites":[{"key":"bench-prereq-d%d","variation":1}]`, i+1)
		}
		flags[key] = boolFlag(key, extra)
	}
	add("prereqs-depth-5", boolFlag("KEY", `"prerequisites":[{"key":"bench-prereq-d0","variation":1}]`), benchUser)
	return cases, flags, segments
}

// manyFlags returns n flags of a typical shape (targets, two rules, a
// percentage rollout), keyed "<prefix>-00042".
func manyFlags(prefix string, n int) map[string]string {
	flags := make(map[string]string, n)
	for i := range n {
		key := fmt.Sprintf("%s-%05d", prefix, i)
		flags[key] = boolFlag(key, `"targets":[{"variation":1,"values":[`+quotedKeys("vip-", 10)+`]}],`+
			`"rules":[{"id":"r1","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.org"]}]},`+
			`{"id":"r2","variation":0,"clauses":[{"attribute":"country","op":"in","values":["fr","de","it"]}]}],`+
			`"fallthrough":{"rollout":{"variations":[{"variation":0,"weight":30000},{"variation":1,"weight":70000}]}}`)
	}
	return flags
}

// collections turns JSON documents into store collections.
func collections(tb testing.TB, flags, segments map[string]string) []store.Collection {
	tb.Helper()
	colls := []store.Collection{{Kind: store.Segments}, {Kind: store.Features}}
	for i, docs := range []map[string]string{segments, flags} {
		for key, doc := range docs {
			it, err := store.ItemFromJSON([]byte(doc))
			if err != nil {
				tb.Fatalf("item %s: %v\n%s", key, err, doc)
			}
			colls[i].Items = append(colls[i].Items, store.KeyedItem{Key: key, Item: it})
		}
	}
	return colls
}

// writeRedisDataset writes flags and segments with our Redis store under a
// new prefix (deleted when the test binary ends) and returns the prefix.
func writeRedisDataset(tb testing.TB, url, what string, flags, segments map[string]string) string {
	tb.Helper()
	prefix := randomPrefix(what)
	registerRedisPrefix(url, prefix)
	st := openOurRedis(tb, url, prefix)
	defer st.Close()
	if err := st.Init(context.Background(), collections(tb, flags, segments)); err != nil {
		tb.Fatalf("writing dataset to Redis: %v", err)
	}
	return prefix
}

func openOurRedis(tb testing.TB, url, prefix string) *redis.Store {
	tb.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Fatalf("redis.ParseURL(%q): %v", url, err)
	}
	opts.Prefix = prefix
	st, err := redis.New(*opts)
	if err != nil {
		tb.Fatalf("redis.New: %v", err)
	}
	return st
}

var quietLogger = slog.New(slog.DiscardHandler)

// ourSetup configures our client the way a comparison needs it.
type ourSetup struct {
	ttl      time.Duration // cache TTL; zero: the default (15 s)
	reads    *atomic.Int64 // counts store reads when set
	bigSegs  store.BigSegmentReader
	bigCache int
}

// newOurClient opens our Redis store and a client on it; both are closed at
// cleanup.
func newOurClient(tb testing.TB, url, prefix string, s ourSetup) *client.Client {
	tb.Helper()
	c, closeFn := openOurClient(tb, url, prefix, s)
	tb.Cleanup(closeFn)
	return c
}

// openOurClient opens our Redis store and a client on it, and returns a
// function that closes both.
func openOurClient(tb testing.TB, url, prefix string, s ourSetup) (*client.Client, func()) {
	tb.Helper()
	st := openOurRedis(tb, url, prefix)
	var r store.Reader = st
	if s.reads != nil {
		r = countingReader{st, s.reads}
	}
	cfg := client.Config{Store: r, Logger: quietLogger, Cache: cache.Options{TTL: s.ttl}}
	if s.bigSegs != nil {
		cfg.BigSegments = client.BigSegmentsConfig{Store: s.bigSegs, CacheSize: s.bigCache}
	}
	c, err := client.New(cfg)
	if err != nil {
		st.Close()
		tb.Fatalf("client.New: %v", err)
	}
	return c, func() {
		c.Close()
		st.Close()
	}
}

// countingReader counts the reads a client makes of its store.
type countingReader struct {
	store.Reader
	reads *atomic.Int64
}

func (r countingReader) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	r.reads.Add(1)
	return r.Reader.Get(ctx, kind, key)
}

func (r countingReader) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	r.reads.Add(1)
	return r.Reader.GetAll(ctx, kind)
}

func (r countingReader) Initialized(ctx context.Context) (bool, error) {
	r.reads.Add(1)
	return r.Reader.Initialized(ctx)
}

// ldSetup configures LaunchDarkly's client the way a comparison needs it.
type ldSetup struct {
	ttl      time.Duration // persistent-store cache TTL; zero: LaunchDarkly's default (15 s)
	reads    *atomic.Int64
	bigSegs  bool // configure the redigo big-segment store on the same prefix
	bigCache int
}

// ldConfig returns LaunchDarkly's daemon-mode configuration on Redis:
// ExternalUpdatesOnly, the redigo persistent store with a cache, no events.
func ldConfig(url, prefix string, s ldSetup) ld.Config {
	var storeConf subsystems.ComponentConfigurer[subsystems.PersistentDataStore] = ldredis.DataStore().URL(url).Prefix(prefix)
	if s.reads != nil {
		storeConf = countingLDConfigurer{storeConf, s.reads}
	}
	ttl := s.ttl
	if ttl == 0 {
		ttl = ldcomponents.PersistentDataStoreDefaultCacheTime
	}
	cfg := ld.Config{
		DataSource:       ldcomponents.ExternalUpdatesOnly(),
		DataStore:        ldcomponents.PersistentDataStore(storeConf).CacheTime(ttl),
		Events:           ldcomponents.NoEvents(),
		Logging:          ldcomponents.NoLogging(),
		DiagnosticOptOut: true,
	}
	if s.bigSegs {
		b := ldcomponents.BigSegments(ldredis.BigSegmentStore().URL(url).Prefix(prefix))
		if s.bigCache > 0 {
			b = b.ContextCacheSize(s.bigCache)
		}
		cfg.BigSegments = b
	}
	return cfg
}

// newLDClient starts LaunchDarkly's client in daemon mode on Redis; it is
// closed at cleanup.
func newLDClient(tb testing.TB, url, prefix string, s ldSetup) *ld.LDClient {
	tb.Helper()
	c := openLDClient(tb, url, prefix, s)
	tb.Cleanup(func() { c.Close() })
	return c
}

// openLDClient starts LaunchDarkly's client in daemon mode on Redis and
// waits until it is initialized.
func openLDClient(tb testing.TB, url, prefix string, s ldSetup) *ld.LDClient {
	tb.Helper()
	c, err := ld.MakeCustomClient("sdk-bench-key", ldConfig(url, prefix, s), 10*time.Second)
	if err != nil {
		tb.Fatalf("LaunchDarkly MakeCustomClient: %v", err)
	}
	return c
}

// countingLDConfigurer wraps a persistent-store configurer so that the store
// it builds counts reads.
type countingLDConfigurer struct {
	inner subsystems.ComponentConfigurer[subsystems.PersistentDataStore]
	reads *atomic.Int64
}

func (c countingLDConfigurer) Build(ctx subsystems.ClientContext) (subsystems.PersistentDataStore, error) {
	s, err := c.inner.Build(ctx)
	if err != nil {
		return nil, err
	}
	return countingLDStore{s, c.reads}, nil
}

type countingLDStore struct {
	subsystems.PersistentDataStore
	reads *atomic.Int64
}

func (s countingLDStore) Get(kind ldstoretypes.DataKind, key string) (ldstoretypes.SerializedItemDescriptor, error) {
	s.reads.Add(1)
	return s.PersistentDataStore.Get(kind, key)
}

func (s countingLDStore) GetAll(kind ldstoretypes.DataKind) ([]ldstoretypes.KeyedSerializedItemDescriptor, error) {
	s.reads.Add(1)
	return s.PersistentDataStore.GetAll(kind)
}

func (s countingLDStore) IsInitialized() bool {
	s.reads.Add(1)
	return s.PersistentDataStore.IsInitialized()
}
