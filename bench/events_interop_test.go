package bench

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldmigration"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/interfaces"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/migration"
	"github.com/daemonflag/daemonflag/store/cache"
)

// Events interop: our client and LaunchDarkly's Go SDK (v7, go-sdk-events
// v3) read the same Redis dataset, make the same calls, and post their
// analytics events to two real HTTP receivers; after normalizing what is
// expected to differ (timestamps, and the order of events within a
// payload), the payloads must be equal.

// bulkReceiver collects the events posted to /bulk.
type bulkReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	events []map[string]any
}

func newBulkReceiver(t *testing.T) *bulkReceiver {
	r := &bulkReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var rd io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			rd = zr
		}
		body, _ := io.ReadAll(rd)
		if !strings.HasSuffix(req.URL.Path, "/bulk") {
			w.WriteHeader(http.StatusAccepted) // diagnostic events: ignored
			return
		}
		var evs []map[string]any
		if err := json.Unmarshal(body, &evs); err != nil {
			t.Errorf("receiver: %v: %s", err, body)
		}
		r.mu.Lock()
		r.events = append(r.events, evs...)
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *bulkReceiver) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

var eventFlags = map[string]string{
	"ev-untracked": `{"key":"ev-untracked","version":3,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"salt":"s"}`,
	"ev-tracked":   `{"key":"ev-tracked","version":4,"on":true,"variations":["a","b"],"fallthrough":{"variation":0},"trackEvents":true,"salt":"s"}`,
	"ev-fallthrough-exp": `{"key":"ev-fallthrough-exp","version":5,"on":true,"variations":[1,2],"fallthrough":{"variation":1},
		"trackEventsFallthrough":true,"salt":"s"}`,
	"ev-rule-tracked": `{"key":"ev-rule-tracked","version":6,"on":true,"variations":[false,true],"fallthrough":{"variation":0},"salt":"s",
		"rules":[{"id":"r1","variation":1,"trackEvents":true,"clauses":[{"attribute":"country","op":"in","values":["no"]}]}]}`,
	"ev-experiment": `{"key":"ev-experiment","version":7,"on":true,"variations":["x","y"],"salt":"s",
		"fallthrough":{"rollout":{"kind":"experiment","seed":61,"variations":[{"variation":0,"weight":50000},{"variation":1,"weight":50000}]}}}`,
	"ev-prereq": `{"key":"ev-prereq","version":8,"on":true,"variations":["off","on"],"offVariation":0,"fallthrough":{"variation":1},"salt":"s",
		"prerequisites":[{"key":"ev-tracked","variation":0},{"key":"ev-untracked","variation":1}]}`,
	"ev-excluded": `{"key":"ev-excluded","version":9,"on":true,"variations":[1,2],"fallthrough":{"variation":0},"excludeFromSummaries":true,"trackEvents":true,"salt":"s"}`,
	"ev-off":      `{"key":"ev-off","version":10,"on":false,"variations":["a"],"salt":"s"}`,
	"ev-migration": `{"key":"ev-migration","version":12,"on":true,"salt":"s",
		"variations":["off","dualwrite","shadow","live","rampdown","complete"],"fallthrough":{"variation":2}}`,
	"ev-debug": `{"key":"ev-debug","version":11,"on":true,"variations":[false,true],"fallthrough":{"variation":1},"salt":"s",
		"debugEventsUntilDate":4102444800000}`,
}

var eventContexts = []string{
	`{"kind":"user","key":"ev-user-1","name":"Ann","email":"ann@example.com","country":"no","address":{"street":"Main","city":"Oslo"},
		"_meta":{"privateAttributes":["/address/street"]}}`,
	`{"kind":"user","key":"ev-anon","anonymous":true,"name":"Anon","country":"se"}`,
	`{"kind":"multi","user":{"key":"ev-user-2","email":"b@example.com","tier":"gold","_meta":{"privateAttributes":["tier"]}},"org":{"key":"ev-org","name":"Org"}}`,
}

func TestEventsInteropWithLaunchDarkly(t *testing.T) {
	for _, allPrivate := range []bool{false, true} {
		t.Run(fmt.Sprintf("allAttributesPrivate=%v", allPrivate), func(t *testing.T) { eventsInterop(t, allPrivate) })
	}
}

func eventsInterop(t *testing.T, allPrivate bool) {
	url := redisURL(t)
	prefix := randomPrefix("events")
	registerRedisPrefix(url, prefix)
	st := openOurRedis(t, url, prefix)
	t.Cleanup(func() { st.Close() })
	d := &interopData{flags: eventFlags, segments: map[string]string{}}
	d.writeWithOurWriter(t, st)

	oursRecv, ldRecv := newBulkReceiver(t), newBulkReceiver(t)
	ours, err := client.New(client.Config{Store: st, Logger: quietLogger, Cache: cache.Options{},
		Events: events.Config{Endpoint: oursRecv.URL, SDKKey: "sdk-key", FlushInterval: time.Hour, PrivateAttributes: []string{"email"},
			AllAttributesPrivate: allPrivate}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ours.Close() })
	cfg := ldConfig(url, prefix, ldSetup{})
	cfg.Events = ldcomponents.SendEvents().FlushInterval(time.Hour).PrivateAttributes("email").AllAttributesPrivate(allPrivate)
	cfg.ServiceEndpoints = interfaces.ServiceEndpoints{Events: ldRecv.URL}
	ldc, err := ld.MakeCustomClient("sdk-key", cfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldc.Close() })

	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range eventFlags {
			if !yield(k) {
				return
			}
		}
	})
	for _, cj := range eventContexts {
		oc, lc, oerr, lerr := parseContexts([]byte(cj))
		if oerr != nil || lerr != nil {
			t.Fatalf("context %s: %v / %v", cj, oerr, lerr)
		}
		for _, k := range append(keys, "ev-missing") {
			_, _ = ours.JSONVariation(k, oc, jsonvalue.String("dflt"))
			_, _ = ldc.JSONVariation(k, lc, ldvalue.String("dflt"))
			_, _, _ = ours.JSONVariationDetail(k, oc, jsonvalue.String("dflt"))
			_, _, _ = ldc.JSONVariationDetail(k, lc, ldvalue.String("dflt"))
		}
		_, _ = ours.BoolVariation("ev-tracked", oc, true) // WRONG_TYPE
		_, _ = ldc.BoolVariation("ev-tracked", lc, true)
		_ = ours.Identify(oc)
		_ = ldc.Identify(lc)
		_ = ours.TrackEvent("clicked", oc)
		_ = ldc.TrackEvent("clicked", lc)
		_ = ours.TrackData("bought", oc, jsonvalue.Object(map[string]jsonvalue.Value{"sku": jsonvalue.String("x")}))
		_ = ldc.TrackData("bought", lc, ldvalue.ObjectBuild().Set("sku", ldvalue.String("x")).Build())
		_ = ours.TrackMetric("revenue", oc, 12.5, jsonvalue.Null())
		_ = ldc.TrackMetric("revenue", lc, 12.5, ldvalue.Null())

		// One migration operation, tracked the same way on both sides.
		_, ot, _ := ours.MigrationVariation("ev-migration", oc, migration.Off)
		_, lt, _ := ldc.MigrationVariation("ev-migration", lc, ldmigration.Off)
		ot.Operation(migration.Read)
		lt.Operation(ldmigration.Read)
		for _, o := range []migration.Origin{migration.Old, migration.New} {
			ot.Invoked(o)
			lt.TrackInvoked(ldmigration.Origin(o))
			ot.Latency(o, 3*time.Millisecond+400*time.Microsecond)
			lt.TrackLatency(ldmigration.Origin(o), 3*time.Millisecond+400*time.Microsecond)
		}
		ot.Error(migration.New)
		lt.TrackError(ldmigration.New)
		ot.Consistent(func() bool { return false })
		lt.TrackConsistency(func() bool { return false })
		if err := ot.Send(); err != nil {
			t.Fatal(err)
		}
		lev, err := lt.Build()
		if err != nil {
			t.Fatal(err)
		}
		if err := ldc.TrackMigrationOp(*lev); err != nil {
			t.Fatal(err)
		}
	}
	if !ours.FlushAndWait(10*time.Second) || !ldc.FlushAndWait(10*time.Second) {
		t.Fatal("flush timed out")
	}
	got, want := normalizeEvents(oursRecv.all()), normalizeEvents(ldRecv.all())
	if len(want) == 0 {
		t.Fatal("LaunchDarkly's SDK sent nothing: the comparison would be vacuous")
	}
	onlyOurs, onlyLD := multisetDiff(got, want)
	for _, e := range onlyOurs {
		t.Errorf("only ours: %s", e)
	}
	for _, e := range onlyLD {
		t.Errorf("only LaunchDarkly's: %s", e)
	}
	t.Logf("%d events compared", len(want))
}

// normalizeEvents removes timestamps, sorts what has no defined order
// (summary counters, context kinds, redacted attributes) and returns the
// events as canonical JSON, sorted.
func normalizeEvents(evs []map[string]any) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		delete(e, "creationDate")
		delete(e, "startDate")
		delete(e, "endDate")
		if f, ok := e["features"].(map[string]any); ok {
			for _, v := range f {
				fs := v.(map[string]any)
				if ks, ok := fs["contextKinds"].([]any); ok {
					slices.SortFunc(ks, func(a, b any) int { return strings.Compare(a.(string), b.(string)) })
				}
				if cs, ok := fs["counters"].([]any); ok {
					slices.SortFunc(cs, func(a, b any) int { return strings.Compare(canon(a), canon(b)) })
				}
			}
		}
		sortRedacted(e["context"])
		b, _ := json.Marshal(e)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}

func sortRedacted(c any) {
	m, ok := c.(map[string]any)
	if !ok {
		return
	}
	if meta, ok := m["_meta"].(map[string]any); ok {
		if ra, ok := meta["redactedAttributes"].([]any); ok {
			slices.SortFunc(ra, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		}
	}
	for k, v := range m {
		if k != "_meta" {
			sortRedacted(v)
		}
	}
}

func canon(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// multisetDiff returns the elements of a not in b and of b not in a,
// counting duplicates.
func multisetDiff(a, b []string) (onlyA, onlyB []string) {
	count := map[string]int{}
	for _, s := range b {
		count[s]++
	}
	for _, s := range a {
		if count[s] > 0 {
			count[s]--
			continue
		}
		onlyA = append(onlyA, s)
	}
	for _, s := range b {
		if count[s] > 0 {
			count[s]--
			onlyB = append(onlyB, s)
		}
	}
	return onlyA, onlyB
}
