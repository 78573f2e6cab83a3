package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// bigSegmentFixtureServer plays the harness's big-segment callback
// fixture.
type bigSegmentFixtureServer struct {
	url     string
	mu      sync.Mutex
	members map[string]map[string]*bool // context hash -> segment ref -> membership
	nulls   map[string]bool             // context hashes answered with "values": null
	synced  int64                       // lastUpToDate; 0: absent
	failing bool                        // every call answers 500
	queries []string                    // context hashes asked for
	metas   int                         // getMetadata calls
}

func newBigSegmentFixtureServer(t *testing.T) *bigSegmentFixtureServer {
	f := &bigSegmentFixtureServer{members: map[string]map[string]*bool{}, nulls: map[string]bool{}, synced: time.Now().UnixMilli()}
	srv := newTestServer(t, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if r.Method != http.MethodPost {
			http.Error(w, "want POST", http.StatusMethodNotAllowed)
			return
		}
		if f.failing {
			http.Error(w, "deliberate failure", http.StatusInternalServerError)
			return
		}
		switch r.URL.Path {
		case "/bigseg/getMetadata":
			f.metas++
			if f.synced == 0 {
				_, _ = w.Write([]byte(`{}`))
				return
			}
			fmt.Fprintf(w, `{"lastUpToDate":%d}`, f.synced)
		case "/bigseg/getMembership":
			var req struct {
				ContextHash string `json:"contextHash"`
			}
			body, _ := io.ReadAll(r.Body)
			if err := json.Unmarshal(body, &req); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			f.queries = append(f.queries, req.ContextHash)
			if f.nulls[req.ContextHash] {
				_, _ = w.Write([]byte(`{"values":null}`))
				return
			}
			data, _ := json.Marshal(map[string]any{"values": f.members[req.ContextHash]})
			_, _ = w.Write(data)
		default:
			http.NotFound(w, r)
		}
	})
	f.url = srv.URL + "/bigseg"
	return f
}

func (f *bigSegmentFixtureServer) set(fn func(f *bigSegmentFixtureServer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *bigSegmentFixtureServer) queriesSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.queries...)
}

func ptr[T any](v T) *T { return &v }

// userKeyHash is the big-segment hash of the context key "user-key":
// base64 of its SHA-256, as the harness expects it.
const userKeyHash = "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0="

func TestBigSegments(t *testing.T) {
	h := newHarness(t)
	s := newStreamer(t)
	s.setSegment("big", `{"key":"big","version":1,"unbounded":true,"generation":100,"included":["other-user"],"salt":"s"}`)
	s.setFlag("big-flag", `{"key":"big-flag","version":1,"on":true,"variations":[false,true],"fallthrough":{"variation":0},"salt":"s",`+
		`"rules":[{"id":"r","variation":1,"clauses":[{"attribute":"","op":"segmentMatch","values":["big"]}]}]}`)
	matched := `{"value":true,"variationIndex":1,"reason":{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"r","bigSegmentsStatus":"%s"}}`
	notMatched := `{"value":false,"variationIndex":0,"reason":{"kind":"FALLTHROUGH","bigSegmentsStatus":"%s"}}`

	newClient := func(f *bigSegmentFixtureServer, extra map[string]any) string {
		bs := map[string]any{"callbackUri": f.url}
		for k, v := range extra {
			bs[k] = v
		}
		return h.create(map[string]any{"credential": testKey, "streaming": map[string]any{"baseUri": s.URL}, "bigSegments": bs})
	}

	for _, tc := range []struct {
		name    string
		members map[string]*bool
		null    bool
		want    string
	}{
		{"included", map[string]*bool{"big.g100": ptr(true)}, false, matched},
		{"excluded", map[string]*bool{"big.g100": ptr(false)}, false, notMatched},
		{"no membership", nil, false, notMatched},
		{"null membership", nil, true, notMatched},
		{"null value", map[string]*bool{"big.g100": nil}, false, notMatched},
		{"other generation", map[string]*bool{"big.g99": ptr(true)}, false, notMatched},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newBigSegmentFixtureServer(t)
			f.set(func(f *bigSegmentFixtureServer) {
				f.members[userKeyHash] = tc.members
				f.nulls[userKeyHash] = tc.null
			})
			c := newClient(f, nil)
			assertJSON(t, "evaluate", h.evaluate(c, "big-flag", "bool", false, true), fmt.Sprintf(tc.want, "HEALTHY"))
			if q := f.queriesSoFar(); len(q) != 1 || q[0] != userKeyHash {
				t.Errorf("membership queries %q, want one for %s", q, userKeyHash)
			}
		})
	}

	t.Run("regular include list is ignored", func(t *testing.T) {
		f := newBigSegmentFixtureServer(t)
		c := newClient(f, nil)
		got := h.command(c, "evaluate", map[string]any{"flagKey": "big-flag", "valueType": "bool", "defaultValue": false,
			"detail": true, "context": map[string]any{"kind": "user", "key": "other-user"}})
		assertJSON(t, "evaluate", got, fmt.Sprintf(notMatched, "HEALTHY"))
	})

	t.Run("stale", func(t *testing.T) {
		f := newBigSegmentFixtureServer(t)
		f.set(func(f *bigSegmentFixtureServer) {
			f.synced = time.Now().Add(-time.Hour).UnixMilli()
			f.members[userKeyHash] = map[string]*bool{"big.g100": ptr(true)}
		})
		c := newClient(f, nil)
		assertJSON(t, "evaluate", h.evaluate(c, "big-flag", "bool", false, true), fmt.Sprintf(matched, "STALE"))
		assertJSON(t, "status", h.command(c, "getBigSegmentStoreStatus", nil), `{"available":true,"stale":true}`)
	})

	t.Run("store error", func(t *testing.T) {
		f := newBigSegmentFixtureServer(t)
		c := newClient(f, nil)
		f.set(func(f *bigSegmentFixtureServer) { f.failing = true })
		assertJSON(t, "evaluate", h.evaluate(c, "big-flag", "bool", false, true), fmt.Sprintf(notMatched, "STORE_ERROR"))
	})

	t.Run("status polling", func(t *testing.T) {
		f := newBigSegmentFixtureServer(t)
		c := newClient(f, map[string]any{"statusPollIntervalMs": 10})
		assertJSON(t, "status", h.command(c, "getBigSegmentStoreStatus", nil), `{"available":true,"stale":false}`)
		f.set(func(f *bigSegmentFixtureServer) { f.failing = true })
		eventually(t, "unavailable", func() bool {
			return h.command(c, "getBigSegmentStoreStatus", nil).Equal(mustJSON(t, `{"available":false,"stale":false}`))
		})
		f.set(func(f *bigSegmentFixtureServer) { f.failing, f.synced = false, 0 })
		eventually(t, "stale (never synchronized)", func() bool {
			return h.command(c, "getBigSegmentStoreStatus", nil).Equal(mustJSON(t, `{"available":true,"stale":true}`))
		})
		f.set(func(f *bigSegmentFixtureServer) { f.synced = time.Now().UnixMilli() })
		eventually(t, "healthy", func() bool {
			return h.command(c, "getBigSegmentStoreStatus", nil).Equal(mustJSON(t, `{"available":true,"stale":false}`))
		})
	})

	t.Run("membership cache", func(t *testing.T) {
		f := newBigSegmentFixtureServer(t)
		f.set(func(f *bigSegmentFixtureServer) { f.members[userKeyHash] = map[string]*bool{"big.g100": ptr(true)} })
		c := newClient(f, map[string]any{"userCacheTimeMs": 50, "userCacheSize": 10})
		assertJSON(t, "first", h.evaluate(c, "big-flag", "bool", false, false), `{"value":true}`)
		f.set(func(f *bigSegmentFixtureServer) { f.members[userKeyHash] = map[string]*bool{"big.g100": ptr(false)} })
		assertJSON(t, "cached", h.evaluate(c, "big-flag", "bool", false, false), `{"value":true}`)
		eventually(t, "the cache to expire", func() bool {
			v, _ := h.evaluate(c, "big-flag", "bool", false, false).Get("value")
			return !v.Bool()
		})
	})

	t.Run("not configured", func(t *testing.T) {
		c := h.create(map[string]any{"credential": testKey, "streaming": map[string]any{"baseUri": s.URL}})
		assertJSON(t, "evaluate", h.evaluate(c, "big-flag", "bool", false, true), fmt.Sprintf(notMatched, "NOT_CONFIGURED"))
		assertJSON(t, "status", h.command(c, "getBigSegmentStoreStatus", nil), `{"available":false,"stale":false}`)
	})
}

// hookRecorder plays the harness's hook callback endpoint.
type hookRecorder struct {
	url string
	mu  sync.Mutex
	got map[string][]jsonvalue.Value // hook name (the path) -> payloads
}

func newHookRecorder(t *testing.T) *hookRecorder {
	r := &hookRecorder{got: map[string][]jsonvalue.Value{}}
	srv := newTestServer(t, func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		v, err := jsonvalue.Parse(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		name := strings.TrimPrefix(req.URL.Path, "/")
		r.got[name] = append(r.got[name], v)
	})
	r.url = srv.URL
	return r
}

func (r *hookRecorder) take(name string) []jsonvalue.Value {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.got[name]
	delete(r.got, name)
	return p
}

func TestHooks(t *testing.T) {
	h := newHarness(t)
	s := standardStreamer(t)
	rec := newHookRecorder(t)
	c := h.create(map[string]any{
		"credential": testKey, "streaming": map[string]any{"baseUri": s.URL},
		"hooks": map[string]any{"hooks": []any{
			map[string]any{"name": "plain", "callbackUri": rec.url + "/plain"},
			map[string]any{"name": "data", "callbackUri": rec.url + "/data", "data": map[string]any{
				"beforeEvaluation": map[string]any{"someData": "the hookData", "n": 1},
				"afterEvaluation":  map[string]any{"later": true},
			}},
			map[string]any{"name": "failing-before", "callbackUri": rec.url + "/failing-before",
				"data":   map[string]any{"beforeEvaluation": map[string]any{"this_value": "should_not_be_received"}},
				"errors": map[string]any{"beforeEvaluation": "something is rotten"}},
			map[string]any{"name": "failing-after", "callbackUri": rec.url + "/failing-after",
				"errors": map[string]any{"afterEvaluation": "no", "beforeEvaluation": nil}},
		}},
	})

	for _, tc := range []struct {
		name, flag, typ, method string
		def                     any
		detail                  bool
		wantDetail              string
	}{
		{"bool", "bool-flag", "bool", "Client.BoolVariationCtx", false, false, `{"value":true,"variationIndex":1,"reason":{"kind":"FALLTHROUGH"}}`},
		{"bool detail", "bool-flag", "bool", "Client.BoolVariationDetailCtx", false, true, `{"value":true,"variationIndex":1,"reason":{"kind":"FALLTHROUGH"}}`},
		{"string", "string-flag", "string", "Client.StringVariationCtx", "default", false, `{"value":"on","variationIndex":1,"reason":{"kind":"FALLTHROUGH"}}`},
		{"int", "number-flag", "int", "Client.IntVariationDetailCtx", 314159265, true, `{"value":42,"variationIndex":1,"reason":{"kind":"OFF"}}`},
		{"double", "number-flag", "double", "Client.Float64VariationCtx", 3.14, false, `{"value":42,"variationIndex":1,"reason":{"kind":"OFF"}}`},
		{"json", "json-flag", "any", "Client.JSONVariationDetailCtx", map[string]any{}, true, `{"value":{"a":2},"variationIndex":1,"reason":{"kind":"FALLTHROUGH"}}`},
		{"not found", "missing", "bool", "Client.BoolVariationDetailCtx", true, true, `{"value":true,"reason":{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.evaluate(c, tc.flag, tc.typ, tc.def, tc.detail)
			defJSON, _ := json.Marshal(tc.def)
			series := fmt.Sprintf(`{"flagKey":%q,"context":{"kind":"user","key":"user-key"},"defaultValue":%s,"method":%q}`, tc.flag, defJSON, tc.method)

			plain := rec.take("plain")
			if len(plain) != 2 {
				t.Fatalf("plain hook: %d calls, want 2: %v", len(plain), plain)
			}
			assertJSON(t, "plain before", plain[0], `{"stage":"beforeEvaluation","evaluationSeriesContext":`+series+`,"evaluationSeriesData":{}}`)
			assertJSON(t, "plain after", plain[1], `{"stage":"afterEvaluation","evaluationSeriesContext":`+series+
				`,"evaluationSeriesData":{},"evaluationDetail":`+tc.wantDetail+`}`)
			value, _ := res.Get("value")
			detailValue, _ := plain[1].Get("evaluationDetail")
			if dv, _ := detailValue.Get("value"); tc.typ != "int" && !dv.Equal(value) {
				t.Errorf("the hook saw %s, the caller got %s", dv, value)
			}

			data := rec.take("data")
			if len(data) != 2 {
				t.Fatalf("data hook: %d calls", len(data))
			}
			before, _ := data[0].Get("evaluationSeriesData")
			after, _ := data[1].Get("evaluationSeriesData")
			assertJSON(t, "data before", before, `{}`)
			assertJSON(t, "data after", after, `{"someData":"the hookData","n":1}`)

			// A stage that fails does not post, and its data is lost:
			// the after stage gets empty data.
			fb := rec.take("failing-before")
			if len(fb) != 1 {
				t.Fatalf("failing-before hook: %d calls, want 1 (after only)", len(fb))
			}
			if st, _ := fb[0].Get("stage"); st.Str() != "afterEvaluation" {
				t.Errorf("failing-before posted %s", st)
			}
			fbData, _ := fb[0].Get("evaluationSeriesData")
			assertJSON(t, "failing-before after data", fbData, `{}`)

			fa := rec.take("failing-after")
			if len(fa) != 1 {
				t.Fatalf("failing-after hook: %d calls, want 1 (before only)", len(fa))
			}
			if st, _ := fa[0].Get("stage"); st.Str() != "beforeEvaluation" {
				t.Errorf("failing-after posted %s", st)
			}
			// The hooks change nothing of the evaluation.
			if d, _ := res.Get("reason"); tc.detail && d.IsNull() {
				t.Errorf("no reason in %s", res)
			}
		})
	}
}

func TestContextCommands(t *testing.T) {
	h := newHarness(t)
	c := h.create(map[string]any{"credential": testKey})

	t.Run("build", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			params map[string]any
			want   string // JSON output; "" for an error
		}{
			{"key only", map[string]any{"single": map[string]any{"key": "a"}}, `{"kind":"user","key":"a"}`},
			{"kind", map[string]any{"single": map[string]any{"kind": "org", "key": "a"}}, `{"kind":"org","key":"a"}`},
			{"name", map[string]any{"single": map[string]any{"key": "a", "name": "b"}}, `{"kind":"user","key":"a","name":"b"}`},
			{"anonymous false", map[string]any{"single": map[string]any{"key": "a", "anonymous": false}}, `{"kind":"user","key":"a"}`},
			{"anonymous", map[string]any{"single": map[string]any{"key": "a", "anonymous": true}}, `{"kind":"user","key":"a","anonymous":true}`},
			{"private", map[string]any{"single": map[string]any{"key": "a", "private": []string{"b", "/c/d"}}},
				`{"kind":"user","key":"a","_meta":{"privateAttributes":["b","/c/d"]}}`},
			{"custom", map[string]any{"single": map[string]any{"key": "a", "custom": map[string]any{
				"s": "x", "n": 1.5, "b": false, "arr": []any{1, "2"}, "obj": map[string]any{"p": nil}, "gone": nil}}},
				`{"kind":"user","key":"a","s":"x","n":1.5,"b":false,"arr":[1,"2"],"obj":{"p":null}}`},
			{"multi", map[string]any{"multi": []any{map[string]any{"kind": "org", "key": "a"}, map[string]any{"key": "b"}}},
				`{"kind":"multi","org":{"key":"a"},"user":{"key":"b"}}`},
			{"multi of one", map[string]any{"multi": []any{map[string]any{"kind": "org", "key": "a"}}}, `{"kind":"org","key":"a"}`},
			{"empty key", map[string]any{"single": map[string]any{"key": ""}}, ""},
			{"bad kind", map[string]any{"single": map[string]any{"kind": "kind", "key": "a"}}, ""},
			{"bad kind characters", map[string]any{"single": map[string]any{"kind": "o%g", "key": "a"}}, ""},
			{"multi with a duplicate kind", map[string]any{"multi": []any{map[string]any{"key": "a"}, map[string]any{"key": "b"}}}, ""},
			{"empty multi", map[string]any{"multi": []any{}}, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				checkContextAnswer(t, h.command(c, "contextBuild", tc.params), tc.want)
			})
		}
	})

	t.Run("convert", func(t *testing.T) {
		for _, tc := range []struct{ in, want string }{
			{`{"kind":"org","key":"x"}`, `{"kind":"org","key":"x"}`},
			{`{"kind":"org","key":"x","name":"b","anonymous":true,"attr1":{"a":[1]},"_meta":{"privateAttributes":["x","y"]}}`,
				`{"kind":"org","key":"x","name":"b","anonymous":true,"attr1":{"a":[1]},"_meta":{"privateAttributes":["x","y"]}}`},
			{`{"kind":"multi","org":{"key":"o","name":"n"},"user":{"key":"u"}}`, `{"kind":"multi","org":{"key":"o","name":"n"},"user":{"key":"u"}}`},
			{`{"kind":"multi","org":{"key":"a","name":"b"}}`, `{"kind":"org","key":"a","name":"b"}`},
			{`{"kind":"org","key":"x","name":null,"attr1":null,"_meta":{"privateAttributes":[]}}`, `{"kind":"org","key":"x"}`},
			{`{"key":""}`, `{"kind":"user","key":""}`},
			{`{"key":"a","custom":{"b":1,"c":null},"anonymous":false,"privateAttributeNames":["b"],"email":"e"}`,
				`{"kind":"user","key":"a","b":1,"email":"e","_meta":{"privateAttributes":["b"]}}`},
			{``, ""}, {`{`, ""}, {`true`, ""},
			{`{"kind":null,"key":"x"}`, ""}, {`{"kind":"org","key":3}`, ""}, {`{"kind":"org","anonymous":"yes","key":"x"}`, ""},
			{`{"kind":"kind","key":"x"}`, ""}, {`{"kind":"multi"}`, ""}, {`{"kind":"","key":"x"}`, ""},
			{`{"kind":"org\u00e9","key":"x"}`, ""},
			{`{}`, ""}, {`{"key":true}`, ""}, {`{"key":"a","custom":3}`, ""}, {`{"key":"a","email":3}`, ""},
		} {
			t.Run(tc.in, func(t *testing.T) {
				checkContextAnswer(t, h.command(c, "contextConvert", map[string]any{"input": tc.in}), tc.want)
			})
		}
	})

	t.Run("compare", func(t *testing.T) {
		single := func(kind, key string, attrs []any, private []any) map[string]any {
			return map[string]any{"single": map[string]any{"kind": kind, "key": key, "attributes": attrs, "privateAttributes": private}}
		}
		addr := map[string]any{"street": "1 Easy St", "city": "Anytown"}
		attrs := []any{map[string]any{"name": "name", "value": "N"}, map[string]any{"name": "address", "value": addr}}
		attrsReordered := []any{attrs[1], attrs[0]}
		priv := []any{map[string]any{"value": "/address/street", "literal": false}, map[string]any{"value": "name", "literal": false}}
		privReordered := []any{priv[1], priv[0]}
		multi := func(cs ...map[string]any) map[string]any {
			var out []any
			for _, c := range cs {
				out = append(out, c["single"])
			}
			return map[string]any{"multi": out}
		}
		user, org, dev := single("user", "u", nil, nil), single("org", "o", nil, nil), single("device", "d", nil, nil)
		for _, tc := range []struct {
			name   string
			c1, c2 map[string]any
			equal  bool
		}{
			{"identical", single("user", "u", attrs, priv), single("user", "u", attrs, priv), true},
			{"attributes out of order", single("user", "u", attrs, nil), single("user", "u", attrsReordered, nil), true},
			{"private out of order", single("user", "u", nil, priv), single("user", "u", nil, privReordered), true},
			{"literal and escaped reference", single("user", "u", nil, []any{map[string]any{"value": "/address/street", "literal": true}}),
				single("user", "u", nil, []any{map[string]any{"value": "/~1address~1street", "literal": false}}), true},
			{"different kinds", single("org", "k", nil, nil), single("user", "k", nil, nil), false},
			{"different keys", single("user", "a", nil, nil), single("user", "b", nil, nil), false},
			{"different attribute", single("user", "u", []any{map[string]any{"name": "x", "value": map[string]any{"a": 1}}}, nil),
				single("user", "u", []any{map[string]any{"name": "x", "value": map[string]any{"a": 1, "b": true}}}, nil), false},
			{"different private", single("user", "u", nil, priv), single("user", "u", nil, priv[:1]), false},
			{"multi out of order", multi(user, org), multi(org, user), true},
			{"multi of one and single", multi(user), user, true},
			{"multi with more", multi(user, org), multi(user, org, dev), false},
			{"multi with another", multi(user, org), multi(single("user", "u2", nil, nil), org), false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got := h.command(c, "contextComparison", map[string]any{"context1": tc.c1, "context2": tc.c2})
				assertJSON(t, "answer", got, fmt.Sprintf(`{"equals":%v}`, tc.equal))
			})
		}
	})
}

// checkContextAnswer checks a contextBuild or contextConvert answer:
// {"output": JSON string} equal to want, or {"error": message} when want is
// "".
func checkContextAnswer(t *testing.T, got jsonvalue.Value, want string) {
	t.Helper()
	out, hasOut := got.Get("output")
	msg, hasErr := got.Get("error")
	if want == "" {
		if !hasErr || msg.Str() == "" || hasOut {
			t.Fatalf("answer %s, want an error", got)
		}
		return
	}
	if hasErr || !hasOut {
		t.Fatalf("answer %s, want output %s", got, want)
	}
	assertJSON(t, "output", mustJSON(t, out.Str()), want)
}
