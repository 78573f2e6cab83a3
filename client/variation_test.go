package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
)

// variationForm is one of the 20 typed variation methods, adapted to JSON
// values so one table can drive them all. detail is false for the forms
// that return no detail.
type variationForm struct {
	name string
	call func(c *client.Client, key string, ec evalctx.Context, def jsonvalue.Value) (v jsonvalue.Value, d evaluation.Detail, detail bool, err error)
}

var bg = context.Background()

func formsFor(typ string) []variationForm {
	switch typ {
	case "bool":
		return []variationForm{
			{"BoolVariation", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.BoolVariation(k, ec, def.Bool())
				return jsonvalue.Bool(v), evaluation.Detail{}, false, err
			}},
			{"BoolVariationCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.BoolVariationCtx(bg, k, ec, def.Bool())
				return jsonvalue.Bool(v), evaluation.Detail{}, false, err
			}},
			{"BoolVariationDetail", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.BoolVariationDetail(k, ec, def.Bool())
				return jsonvalue.Bool(v), d, true, err
			}},
			{"BoolVariationDetailCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.BoolVariationDetailCtx(bg, k, ec, def.Bool())
				return jsonvalue.Bool(v), d, true, err
			}},
		}
	case "int":
		return []variationForm{
			{"IntVariation", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.IntVariation(k, ec, def.Int())
				return jsonvalue.Int(v), evaluation.Detail{}, false, err
			}},
			{"IntVariationCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.IntVariationCtx(bg, k, ec, def.Int())
				return jsonvalue.Int(v), evaluation.Detail{}, false, err
			}},
			{"IntVariationDetail", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.IntVariationDetail(k, ec, def.Int())
				return jsonvalue.Int(v), d, true, err
			}},
			{"IntVariationDetailCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.IntVariationDetailCtx(bg, k, ec, def.Int())
				return jsonvalue.Int(v), d, true, err
			}},
		}
	case "float64":
		return []variationForm{
			{"Float64Variation", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.Float64Variation(k, ec, def.Float64())
				return jsonvalue.Float(v), evaluation.Detail{}, false, err
			}},
			{"Float64VariationCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.Float64VariationCtx(bg, k, ec, def.Float64())
				return jsonvalue.Float(v), evaluation.Detail{}, false, err
			}},
			{"Float64VariationDetail", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.Float64VariationDetail(k, ec, def.Float64())
				return jsonvalue.Float(v), d, true, err
			}},
			{"Float64VariationDetailCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.Float64VariationDetailCtx(bg, k, ec, def.Float64())
				return jsonvalue.Float(v), d, true, err
			}},
		}
	case "string":
		return []variationForm{
			{"StringVariation", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.StringVariation(k, ec, def.Str())
				return jsonvalue.String(v), evaluation.Detail{}, false, err
			}},
			{"StringVariationCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.StringVariationCtx(bg, k, ec, def.Str())
				return jsonvalue.String(v), evaluation.Detail{}, false, err
			}},
			{"StringVariationDetail", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.StringVariationDetail(k, ec, def.Str())
				return jsonvalue.String(v), d, true, err
			}},
			{"StringVariationDetailCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, d, err := c.StringVariationDetailCtx(bg, k, ec, def.Str())
				return jsonvalue.String(v), d, true, err
			}},
		}
	default: // json
		return []variationForm{
			{"JSONVariation", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.JSONVariation(k, ec, def)
				return v, evaluation.Detail{}, false, err
			}},
			{"JSONVariationCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				v, err := c.JSONVariationCtx(bg, k, ec, def)
				return v, evaluation.Detail{}, false, err
			}},
			{"JSONVariationDetail", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				return detailForm(c.JSONVariationDetail(k, ec, def))
			}},
			{"JSONVariationDetailCtx", func(c *client.Client, k string, ec evalctx.Context, def jsonvalue.Value) (jsonvalue.Value, evaluation.Detail, bool, error) {
				return detailForm(c.JSONVariationDetailCtx(bg, k, ec, def))
			}},
		}
	}
}

func detailForm(v jsonvalue.Value, d evaluation.Detail, err error) (jsonvalue.Value, evaluation.Detail, bool, error) {
	return v, d, true, err
}

func mustParse(t testing.TB, s string) jsonvalue.Value {
	t.Helper()
	v, err := jsonvalue.Parse([]byte(s))
	if err != nil {
		t.Fatalf("parse %s: %v", s, err)
	}
	return v
}

func TestVariations(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	c := e.client(client.Config{})

	user := evalctx.New("some-user")
	blocked := evalctx.NewBuilder("blocked-user").SetString("email", "x@blocked.example").Build()
	var invalid evalctx.Context

	cases := []struct {
		name     string
		typ      string
		flag     string
		ec       evalctx.Context
		def      string // JSON
		want     string // JSON: the value returned
		index    int
		reason   string // JSON of the reason
		sentinel error  // nil: no error
		cause    error  // the error also matches this, if set
	}{
		{"bool fallthrough", "bool", "bool-flag", user, `false`, `true`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"bool target", "bool", "bool-flag", evalctx.New("excluded-user"), `true`, `false`, 0, `{"kind":"TARGET_MATCH"}`, nil, nil},
		{"bool rule", "bool", "bool-flag", blocked, `true`, `false`, 0, `{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"rule-1"}`, nil, nil},
		{"bool prerequisite passes", "string", "prereq-flag", user, `"x"`, `"on"`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"prerequisite fails", "string", "prereq-flag", evalctx.New("excluded-user"), `"x"`, `"off"`, 0, `{"kind":"PREREQUISITE_FAILED","prerequisiteKey":"bool-flag"}`, nil, nil},
		{"segment match", "bool", "segment-flag", evalctx.New("beta-user"), `false`, `true`, 1, `{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":"in-beta"}`, nil, nil},
		{"segment no match", "bool", "segment-flag", user, `true`, `false`, 0, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"int truncates", "int", "int-flag", user, `7`, `2`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"float of int flag", "float64", "int-flag", user, `7`, `2.7`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"float", "float64", "float-flag", user, `7`, `-2.5`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"int of negative float", "int", "float-flag", user, `7`, `-2`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"string", "string", "string-flag", user, `"d"`, `"a"`, 0, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"json object", "json", "json-flag", user, `null`, `{"x":1}`, 0, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"json any type", "json", "bool-flag", user, `"d"`, `true`, 1, `{"kind":"FALLTHROUGH"}`, nil, nil},
		{"off without off variation", "bool", "off-no-offvar", user, `true`, `true`, -1, `{"kind":"OFF"}`, nil, nil},
		{"off without off variation json", "json", "off-no-offvar", user, `[3]`, `[3]`, -1, `{"kind":"OFF"}`, nil, nil},

		{"wrong type bool of string", "bool", "string-flag", user, `true`, `true`, -1, `{"kind":"ERROR","errorKind":"WRONG_TYPE"}`, client.ErrWrongType, nil},
		{"wrong type int of bool", "int", "bool-flag", user, `5`, `5`, -1, `{"kind":"ERROR","errorKind":"WRONG_TYPE"}`, client.ErrWrongType, nil},
		{"wrong type float of string", "float64", "string-flag", user, `1.5`, `1.5`, -1, `{"kind":"ERROR","errorKind":"WRONG_TYPE"}`, client.ErrWrongType, nil},
		{"wrong type string of json", "string", "json-flag", user, `"d"`, `"d"`, -1, `{"kind":"ERROR","errorKind":"WRONG_TYPE"}`, client.ErrWrongType, nil},
		{"flag not found", "bool", "no-such-flag", user, `true`, `true`, -1, `{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}`, client.ErrFlagNotFound, nil},
		{"flag not found string", "string", "no-such-flag", user, `"d"`, `"d"`, -1, `{"kind":"ERROR","errorKind":"FLAG_NOT_FOUND"}`, client.ErrFlagNotFound, nil},
		{"invalid context", "bool", "bool-flag", invalid, `false`, `false`, -1, `{"kind":"ERROR","errorKind":"USER_NOT_SPECIFIED"}`, client.ErrInvalidContext, evalctx.ErrUninitialized},
		{"empty key context", "int", "int-flag", evalctx.New(""), `9`, `9`, -1, `{"kind":"ERROR","errorKind":"USER_NOT_SPECIFIED"}`, client.ErrInvalidContext, evalctx.ErrEmptyKey},
		{"malformed flag data", "bool", "malformed-index", user, `false`, `false`, -1, `{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}`, client.ErrMalformedFlag, nil},
		{"undecodable flag json", "json", "bad-json", user, `"d"`, `"d"`, -1, `{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}`, client.ErrMalformedFlag, store.ErrMalformedItem},
	}
	for _, tc := range cases {
		for _, f := range formsFor(tc.typ) {
			t.Run(tc.name+"/"+f.name, func(t *testing.T) {
				def, want := mustParse(t, tc.def), mustParse(t, tc.want)
				v, d, hasDetail, err := f.call(c, tc.flag, tc.ec, def)
				if !v.Equal(want) {
					t.Errorf("value = %s, want %s", v.JSON(), want.JSON())
				}
				if hasDetail {
					got := d.Value
					if tc.typ == "int" {
						// An int variation truncates the value it returns;
						// the detail keeps the flag's value, as in
						// LaunchDarkly.
						got = jsonvalue.Int(got.Int())
					}
					if !got.Equal(want) {
						t.Errorf("detail value = %s, want %s", d.Value.JSON(), want.JSON())
					}
					if d.VariationIndex != tc.index {
						t.Errorf("variation index = %d, want %d", d.VariationIndex, tc.index)
					}
					jsonEqual(t, []byte(d.Reason.String()), tc.reason)
				}
				switch {
				case tc.sentinel == nil && err != nil:
					t.Errorf("err = %v, want nil", err)
				case tc.sentinel != nil && !errors.Is(err, tc.sentinel):
					t.Errorf("err = %v, want one matching %v", err, tc.sentinel)
				case tc.cause != nil && !errors.Is(err, tc.cause):
					t.Errorf("err = %v, want one also matching %v", err, tc.cause)
				}
				if tc.sentinel != nil {
					var ee *client.EvaluationError
					if !errors.As(err, &ee) || ee.FlagKey != tc.flag {
						t.Errorf("err = %#v, want an *EvaluationError for flag %q", err, tc.flag)
					}
				}
			})
		}
	}
}

func TestEvaluationErrorMatchesOneSentinel(t *testing.T) {
	sentinels := []error{client.ErrClientNotReady, client.ErrFlagNotFound, client.ErrInvalidContext,
		client.ErrWrongType, client.ErrMalformedFlag, client.ErrDataUnavailable}
	kinds := []evaluation.ErrorKind{evaluation.ErrorClientNotReady, evaluation.ErrorFlagNotFound,
		evaluation.ErrorUserNotSpecified, evaluation.ErrorWrongType, evaluation.ErrorMalformedFlag, evaluation.ErrorException}
	for i, k := range kinds {
		err := error(&client.EvaluationError{FlagKey: "f", Kind: k})
		for j, s := range sentinels {
			if got := errors.Is(err, s); got != (i == j) {
				t.Errorf("%s: errors.Is(err, %v) = %v", k, s, got)
			}
		}
	}
	err := &client.EvaluationError{FlagKey: "my-flag", Kind: evaluation.ErrorException, Err: store.ErrUnavailable}
	if got, want := err.Error(), `client: flag "my-flag": flag data unavailable: store unavailable`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestNotReady(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	offline := e.client(client.Config{Offline: true})
	closed := e.client(client.Config{})
	if v, err := closed.BoolVariation("bool-flag", evalctx.New("u"), false); !v || err != nil {
		t.Fatalf("before Close: %v, %v", v, err)
	}
	closed.Close()
	closed.Close() // idempotent

	for name, c := range map[string]*client.Client{"offline": offline, "closed": closed} {
		t.Run(name, func(t *testing.T) {
			if c.Initialized() {
				t.Error("Initialized() = true")
			}
			for _, typ := range []string{"bool", "int", "float64", "string", "json"} {
				for _, f := range formsFor(typ) {
					def := map[string]jsonvalue.Value{"bool": jsonvalue.Bool(true), "int": jsonvalue.Int(3),
						"float64": jsonvalue.Float(0.5), "string": jsonvalue.String("d"), "json": jsonvalue.Array(jsonvalue.Int(1))}[typ]
					v, d, hasDetail, err := f.call(c, "bool-flag", evalctx.New("u"), def)
					if !v.Equal(def) || !errors.Is(err, client.ErrClientNotReady) {
						t.Errorf("%s: %s, %v; want the default and ErrClientNotReady", f.name, v.JSON(), err)
					}
					if hasDetail && (d.Reason.ErrorKind != evaluation.ErrorClientNotReady || d.VariationIndex != -1) {
						t.Errorf("%s: detail %+v", f.name, d)
					}
				}
			}
			st := c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{})
			if st.Valid() || !errors.Is(st.Err(), client.ErrClientNotReady) {
				t.Errorf("AllFlagsState: valid=%v err=%v", st.Valid(), st.Err())
			}
			js, _ := st.MarshalJSON()
			jsonEqual(t, js, `{"$valid":false,"$flagsState":{}}`)
			if err := c.WaitForInitialization(bg); !errors.Is(err, client.ErrClientNotReady) {
				t.Errorf("WaitForInitialization: %v", err)
			}
			c.AddFlagChangeListener(func(client.FlagChangeEvent) {})()
			c.AddFlagValueChangeListener("bool-flag", evalctx.New("u"), jsonvalue.Null(), func(client.FlagValueChangeEvent) {})()
		})
	}
	if st := offline.DataStoreStatus(); !errors.Is(st.Err, client.ErrClientNotReady) {
		t.Errorf("offline DataStoreStatus = %+v", st)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	if _, err := client.New(client.Config{}); !errors.Is(err, client.ErrNoStore) {
		t.Errorf("no store: err = %v, want ErrNoStore", err)
	}
	c, err := client.New(client.Config{Offline: true})
	if err != nil {
		t.Fatalf("offline without store: %v", err)
	}
	c.Close()
	e := newEnv(t)
	if _, err := client.New(client.Config{Store: e.reader, Hooks: []client.Hook{nil}}); err == nil {
		t.Error("nil hook: no error")
	}
	_, err = client.New(client.Config{Store: e.reader, BigSegments: client.BigSegmentsConfig{Store: e.reader, CacheSize: -1}})
	if err == nil {
		t.Error("negative big-segment cache size: no error")
	}
}

// TestMalformedFlagInStore: flag data that cannot be decoded affects that
// flag only: a flag never read gives MALFORMED_FLAG, a flag read before keeps
// its last good version, the store's status stays available, the cache logs
// each bad item once, and nothing panics.
func TestMalformedFlagInStore(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	logs, logger := newLogBuffer()
	c := e.client(client.Config{Logger: logger, Cache: cache.Options{TTL: time.Millisecond}})
	u := evalctx.New("u")
	if v, err := c.StringVariation("string-flag", u, "d"); v != "a" || err != nil {
		t.Fatalf("%q, %v", v, err)
	}
	garbage := []store.KeyedItem{
		{Key: "string-flag", Item: store.Item{Version: 2, Data: []byte(`{"key":"string-flag","version":2,`)}},
		{Key: "never-read", Item: store.Item{Version: 1, Data: []byte(`not json at all`)}},
		{Key: "wrong-shape", Item: store.Item{Version: 1, Data: []byte(`{"key":"wrong-shape","version":1,"variations":{"a":1}}`)}},
	}
	for _, it := range garbage {
		if _, err := e.writer.Upsert(bg, store.Features, it.Key, it.Item); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond) // past the TTL
	for range 50 {
		for _, key := range []string{"never-read", "wrong-shape"} {
			v, d, err := c.StringVariationDetail(key, u, "d")
			if v != "d" || d.Reason.ErrorKind != evaluation.ErrorMalformedFlag ||
				!errors.Is(err, client.ErrMalformedFlag) || !errors.Is(err, store.ErrMalformedItem) {
				t.Fatalf("%s: %q, %+v, %v", key, v, d, err)
			}
		}
		if v, err := c.StringVariation("string-flag", u, "d"); v != "a" || err != nil {
			t.Fatalf("string-flag after garbage was written over it: %q, %v", v, err)
		}
		time.Sleep(time.Millisecond)
	}
	if st := c.DataStoreStatus(); st.State != cache.Available {
		t.Errorf("status = %+v", st)
	}
	if st := c.AllFlagsState(bg, u, client.AllFlagsOptions{}); !st.Valid() || st.Value("string-flag").Str() != "a" {
		t.Errorf("AllFlagsState: valid=%v err=%v", st.Valid(), st.Err())
	}
	t.Logf("log:\n%s", logs)
	for _, key := range []string{"never-read", "wrong-shape", "string-flag"} {
		if n := len(logs.lines(key)); n != 1 {
			t.Errorf("%d log lines name %s, want 1:\n%s", n, key, logs)
		}
	}
}
