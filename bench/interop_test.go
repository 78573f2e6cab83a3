package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/launchdarkly/go-sdk-common/v3/ldlog"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ldddb "github.com/launchdarkly/go-server-sdk-dynamodb/v4"
	ldredis "github.com/launchdarkly/go-server-sdk-redis-redigo/v3"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/interfaces"
	"github.com/launchdarkly/go-server-sdk/v7/interfaces/flagstate"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoreimpl"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoretypes"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/membership"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores/dynamodb"
	"github.com/daemonflag/daemonflag/writer"
)

// Interop tests: a dataset written by our writer is read by LaunchDarkly's
// SDK (through its redigo and DynamoDB integrations) and by our client, and
// a dataset written by LaunchDarkly's SDK through the same integrations (as
// a LaunchDarkly Relay Proxy writes it) is read by both; the two clients
// must return the same value, variation index and reason for every flag and
// every context, and the same all-flags state.

const interopSeed = 4242

// interopData is the dataset of the interop tests: the benchmark flags, a
// few typical flags, random worlds of the differential generator that our
// writer accepts, and a big-segment flag; and the contexts to evaluate.
type interopData struct {
	flags, segments map[string]string
	contexts        []string
	// bigIncluded are the user keys included in the big segment "big-seg".
	bigIncluded []string
}

func newInteropData(t *testing.T) *interopData {
	t.Helper()
	_, flags, segments := benchData()
	maps.Copy(flags, manyFlags("typical", 20))
	flags["big-flag"] = ruleFlag("big-flag", `{"op":"segmentMatch","values":["big-seg"]}`)
	segments["big-seg"] = `{"key":"big-seg","version":3,"unbounded":true,"generation":2,"salt":"b"}`
	d := &interopData{flags: flags, segments: segments}
	for i := 0; i < 10; i += 2 {
		d.bigIncluded = append(d.bigIncluded, fmt.Sprintf("user-%d", i))
	}

	g := newGen(interopSeed)
	kept := 0
	for w := 0; kept < 60 && w < 1000; w++ {
		wf, ws := renameWorld(g.world(), fmt.Sprintf("w%d-", w))
		ds, err := writer.Parse("world.json", mustJSON(map[string]any{"flags": wf, "segments": ws}))
		if err == nil {
			_, err = writer.Validate(ds)
		}
		if err != nil {
			continue // our writer refuses what LaunchDarkly calls malformed
		}
		kept++
		for k, v := range wf {
			flags[k] = string(mustJSON(v))
		}
		for k, v := range ws {
			segments[k] = string(mustJSON(v))
		}
	}
	if kept < 20 {
		t.Fatalf("only %d random worlds passed validation", kept)
	}

	d.contexts = []string{benchUser, benchMulti, `{"kind":"user","key":"user-2"}`, `{"kind":"user","key":"user-3"}`,
		`{"key":"user-4","email":"x@example.com","custom":{"groups":["beta"]}}`,
		`{"kind":"multi","user":{"key":"user-0"},"org":{"key":"org-1"}}`}
	for range 40 {
		d.contexts = append(d.contexts, string(mustJSON(g.context())))
	}
	return d
}

// renameWorld prefixes the keys of a world's flags and segments and the
// references to them, so that several worlds fit in one dataset.
func renameWorld(w *world, prefix string) (flags, segments map[string]any) {
	tree := jsonAny(mustJSON(w)).(map[string]any)
	rename := func(v any) any {
		if s, ok := v.(string); ok {
			return prefix + s
		}
		return v
	}
	flags, segments = map[string]any{}, map[string]any{}
	renameClauses := func(item map[string]any) {
		rules, _ := item["rules"].([]any)
		for _, r := range rules {
			cs, _ := r.(map[string]any)["clauses"].([]any)
			for _, c := range cs {
				cm := c.(map[string]any)
				if cm["op"] == "segmentMatch" {
					vs, _ := cm["values"].([]any)
					for i := range vs {
						vs[i] = rename(vs[i])
					}
				}
			}
		}
	}
	fs, _ := tree["flags"].([]any)
	for _, f := range fs {
		fm := f.(map[string]any)
		fm["key"] = rename(fm["key"])
		ps, _ := fm["prerequisites"].([]any)
		for _, p := range ps {
			pm := p.(map[string]any)
			pm["key"] = rename(pm["key"])
		}
		renameClauses(fm)
		flags[fm["key"].(string)] = fm
	}
	ss, _ := tree["segments"].([]any)
	for _, s := range ss {
		sm := s.(map[string]any)
		sm["key"] = rename(sm["key"])
		renameClauses(sm)
		segments[sm["key"].(string)] = sm
	}
	return flags, segments
}

// writeWithOurWriter writes the dataset with our writer (validation, then
// one Init) and the big-segment memberships with our store.
func (d *interopData) writeWithOurWriter(t *testing.T, st store.Store) {
	t.Helper()
	doc := map[string]any{"flags": map[string]json.RawMessage{}, "segments": map[string]json.RawMessage{}}
	for k, v := range d.flags {
		doc["flags"].(map[string]json.RawMessage)[k] = json.RawMessage(v)
	}
	for k, v := range d.segments {
		doc["segments"].(map[string]json.RawMessage)[k] = json.RawMessage(v)
	}
	ds, err := writer.Parse("interop.json", mustJSON(doc))
	if err != nil {
		t.Fatalf("writer.Parse: %v", err)
	}
	if _, err := writer.WriteDataset(t.Context(), st, ds); err != nil {
		t.Fatalf("writer.WriteDataset: %v", err)
	}
}

// writeMemberships writes the big-segment memberships (LaunchDarkly's SDK
// has no big-segment writer; a Relay Proxy uses its own code, in the same
// layout) and marks them synchronized now.
func (d *interopData) writeMemberships(t *testing.T, w store.BigSegmentWriter) {
	t.Helper()
	var changes []store.MembershipChange
	for _, k := range d.bigIncluded {
		changes = append(changes, store.MembershipChange{ContextHash: store.ContextHash(k), SegmentRef: store.SegmentRef("big-seg", 2)})
	}
	changes = append(changes, store.MembershipChange{ContextHash: store.ContextHash("user-3"), SegmentRef: store.SegmentRef("big-seg", 2), Excluded: true})
	if err := w.ApplyMembership(t.Context(), changes); err != nil {
		t.Fatalf("ApplyMembership: %v", err)
	}
	if err := membership.Touch(t.Context(), w, time.Now()); err != nil {
		t.Fatalf("TouchBigSegments: %v", err)
	}
}

// writeWithLD writes the dataset through LaunchDarkly's persistent data
// store (the SDK's DataStore over a store integration), as a Relay Proxy
// does: flags and segments decoded with ldmodel, serialized by the SDK.
func (d *interopData) writeWithLD(t *testing.T, conf subsystems.ComponentConfigurer[subsystems.PersistentDataStore]) {
	t.Helper()
	cc := subsystems.BasicClientContext{
		Logging:             subsystems.LoggingConfiguration{Loggers: ldlog.NewDisabledLoggers()},
		DataStoreUpdateSink: discardStatus{},
	}
	ds, err := ldcomponents.PersistentDataStore(conf).CacheTime(0).Build(cc)
	if err != nil {
		t.Fatalf("building LaunchDarkly's data store: %v", err)
	}
	defer ds.Close()
	var flags, segments []ldstoretypes.KeyedItemDescriptor
	for _, k := range slices.Sorted(maps.Keys(d.flags)) {
		f, err := decodeLDFlag([]byte(d.flags[k]))
		if err != nil {
			t.Fatalf("ldmodel flag %s: %v", k, err)
		}
		flags = append(flags, ldstoretypes.KeyedItemDescriptor{Key: k, Item: ldstoretypes.ItemDescriptor{Version: f.Version, Item: f}})
	}
	for _, k := range slices.Sorted(maps.Keys(d.segments)) {
		s, err := decodeLDSegment([]byte(d.segments[k]))
		if err != nil {
			t.Fatalf("ldmodel segment %s: %v", k, err)
		}
		segments = append(segments, ldstoretypes.KeyedItemDescriptor{Key: k, Item: ldstoretypes.ItemDescriptor{Version: s.Version, Item: s}})
	}
	err = ds.Init([]ldstoretypes.Collection{
		{Kind: ldstoreimpl.Segments(), Items: segments},
		{Kind: ldstoreimpl.Features(), Items: flags},
	})
	if err != nil {
		t.Fatalf("LaunchDarkly DataStore.Init: %v", err)
	}
}

type discardStatus struct{}

func (discardStatus) UpdateStatus(interfaces.DataStoreStatus) {}

// compareClients evaluates every flag for every context with both clients,
// and the all-flags state for every context, and reports disagreements.
func (d *interopData) compareClients(t *testing.T, ours *client.Client, ldc *ld.LDClient) {
	t.Helper()
	keys := slices.Sorted(maps.Keys(d.flags))
	keys = append(keys, "no-such-flag")
	failures, compared := 0, 0
	kinds := map[string]int{} // reason kinds (ours), to show the comparison covered something
	for _, doc := range d.contexts {
		oc, lc, oerr, lerr := parseContexts([]byte(doc))
		if (oerr == nil) != (lerr == nil) {
			t.Errorf("context %s: ours: %v; LaunchDarkly: %v", doc, oerr, lerr)
			continue
		}
		for _, k := range keys {
			_, od, oerr := ours.JSONVariationDetail(k, oc, jsonvalue.Null())
			_, ldd, lerr := ldc.JSONVariationDetail(k, lc, ldvalue.Null())
			compared++
			kind := string(od.Reason.Kind)
			if od.Reason.BigSegmentsStatus != "" {
				kind += "/big:" + string(od.Reason.BigSegmentsStatus)
			}
			kinds[kind]++
			if msg := compareDetails(od, oerr, ldd, lerr); msg != "" {
				failures++
				if failures <= 10 {
					t.Errorf("flag %s, context %s: %s\nflag: %s", k, doc, msg, d.flags[k])
				}
			}
		}
		if oerr != nil {
			continue
		}
		oa, _ := json.Marshal(ours.AllFlagsState(t.Context(), oc, client.AllFlagsOptions{WithReasons: true}))
		la, _ := json.Marshal(ldc.AllFlagsState(lc, flagstate.OptionWithReasons()))
		if diff := jsonDiff(jsonAny(oa), jsonAny(la), ""); diff != "" {
			failures++
			if failures <= 10 {
				t.Errorf("AllFlagsState for context %s differs: %s", doc, diff)
			}
		}
	}
	if failures > 10 {
		t.Errorf("... %d disagreements in all", failures)
	}
	t.Logf("%d flag evaluations compared (%d flags, %d contexts), %d disagreements; reasons: %v", compared, len(keys), len(d.contexts), failures, kinds)
	for _, want := range []string{"RULE_MATCH", "TARGET_MATCH", "FALLTHROUGH", "PREREQUISITE_FAILED", "RULE_MATCH/big:HEALTHY"} {
		if kinds[want] == 0 {
			t.Errorf("no evaluation had reason %s: the dataset or the stores are not what this test expects", want)
		}
	}
}

// jsonDiff describes the first difference between two JSON trees.
func jsonDiff(a, b any, path string) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: ours %s, LaunchDarkly %s", path, mustJSON(a), mustJSON(b))
		}
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if _, ok := y[k]; !ok {
				return fmt.Sprintf("%s/%s: ours %s, LaunchDarkly has none", path, k, mustJSON(x[k]))
			}
			if d := jsonDiff(x[k], y[k], path+"/"+k); d != "" {
				return d
			}
		}
		for k := range y {
			if _, ok := x[k]; !ok {
				return fmt.Sprintf("%s/%s: ours has none, LaunchDarkly %s", path, k, mustJSON(y[k]))
			}
		}
		return ""
	default:
		if string(mustJSON(a)) != string(mustJSON(b)) {
			return fmt.Sprintf("%s: ours %s, LaunchDarkly %s", path, mustJSON(a), mustJSON(b))
		}
		return ""
	}
}

// ourInteropClient is our client on a store, with big segments from the same
// store, closed at cleanup.
func ourInteropClient(t *testing.T, st store.Store, big store.BigSegmentReader) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Store: st, Logger: quietLogger, Cache: cache.Options{},
		BigSegments: client.BigSegmentsConfig{Store: big}})
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := c.WaitForInitialization(ctx); err != nil {
		t.Fatalf("our client: WaitForInitialization: %v", err)
	}
	return c
}

func TestInteropRedis(t *testing.T) {
	url := redisURL(t)
	d := newInteropData(t)
	for _, writtenBy := range []string{"ours", "ld"} {
		t.Run("writtenBy="+writtenBy, func(t *testing.T) {
			prefix := randomPrefix("interop")
			registerRedisPrefix(url, prefix)
			st := openOurRedis(t, url, prefix)
			t.Cleanup(func() { st.Close() })
			if writtenBy == "ours" {
				d.writeWithOurWriter(t, st)
			} else {
				d.writeWithLD(t, ldredis.DataStore().URL(url).Prefix(prefix))
			}
			d.writeMemberships(t, st)
			ours := ourInteropClient(t, st, st)
			ldc := newLDClient(t, url, prefix, ldSetup{bigSegs: true})
			d.compareClients(t, ours, ldc)
		})
	}
}

// dynamoConfig is the AWS configuration for the local DynamoDB-compatible
// server (which checks no credentials, but requests must be signed).
func dynamoConfig() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("daemonflag-bench", "daemonflag-bench", ""),
	}
}

func TestInteropDynamoDB(t *testing.T) {
	endpoint := dynamoEndpoint(t)
	d := newInteropData(t)
	table := randomPrefix("interop")
	cfg := dynamoConfig()
	withEndpoint := func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) }
	t.Cleanup(func() {
		c := ddb.NewFromConfig(cfg, withEndpoint)
		_, _ = c.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: aws.String(table)})
	})
	for i, writtenBy := range []string{"ours", "ld"} {
		t.Run("writtenBy="+writtenBy, func(t *testing.T) {
			prefix := fmt.Sprintf("p%d", i)
			st, err := dynamodb.New(t.Context(), dynamodb.Options{Table: table, Prefix: prefix, Endpoint: endpoint,
				AWSConfig: &cfg, CreateTable: true})
			if err != nil {
				t.Fatalf("dynamodb.New: %v", err)
			}
			t.Cleanup(func() { st.Close() })
			if writtenBy == "ours" {
				d.writeWithOurWriter(t, st)
			} else {
				d.writeWithLD(t, ldddb.DataStore(table).Prefix(prefix).ClientConfig(cfg, withEndpoint))
			}
			d.writeMemberships(t, st)
			ours := ourInteropClient(t, st, st)
			ldCfg := ld.Config{
				DataSource:       ldcomponents.ExternalUpdatesOnly(),
				DataStore:        ldcomponents.PersistentDataStore(ldddb.DataStore(table).Prefix(prefix).ClientConfig(cfg, withEndpoint)),
				BigSegments:      ldcomponents.BigSegments(ldddb.BigSegmentStore(table).Prefix(prefix).ClientConfig(cfg, withEndpoint)),
				Events:           ldcomponents.NoEvents(),
				Logging:          ldcomponents.NoLogging(),
				DiagnosticOptOut: true,
			}
			ldc, err := ld.MakeCustomClient("sdk-interop-key", ldCfg, 10*time.Second)
			if err != nil {
				t.Fatalf("LaunchDarkly MakeCustomClient: %v", err)
			}
			t.Cleanup(func() { ldc.Close() })
			d.compareClients(t, ours, ldc)
		})
	}
}

// TestInteropDataIsRich guards the interop dataset against shrinking to
// something trivial as the generator changes.
func TestInteropDataIsRich(t *testing.T) {
	d := newInteropData(t)
	all := strings.Join(slices.Collect(maps.Values(d.flags)), "\n")
	for _, want := range []string{`"prerequisites"`, `"segmentMatch"`, `"rollout"`, `"experiment"`, `"contextTargets"`, `"matches"`, `"semVer`} {
		if !strings.Contains(all, want) {
			t.Errorf("interop dataset has no flag with %s", want)
		}
	}
	if len(d.flags) < 100 {
		t.Errorf("interop dataset has %d flags, want at least 100", len(d.flags))
	}
}
