package client_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store"
)

func TestAllFlagsState(t *testing.T) {
	future := time.Now().Add(time.Hour).UnixMilli()
	past := time.Now().Add(-time.Hour).UnixMilli()
	flags := []string{
		`{"key":"flag1","version":100,"on":false,"variations":["d0","value1"],"offVariation":1,"fallthrough":{"variation":0}}`,
		`{"key":"flag2","version":200,"on":false,"variations":["d0","d1","value2"],"offVariation":2,"fallthrough":{"variation":0},"trackEvents":true}`,
		fmt.Sprintf(`{"key":"flag3","version":300,"on":false,"variations":["d0","value3"],"offVariation":1,"fallthrough":{"variation":0},"debugEventsUntilDate":%d}`, future),
		fmt.Sprintf(`{"key":"flag4","version":400,"on":false,"variations":["d0","value4"],"offVariation":1,"fallthrough":{"variation":0},"debugEventsUntilDate":%d}`, past),
		`{"key":"experiment","version":500,"on":true,"variations":["d0","exp"],"fallthrough":{"variation":1},"trackEventsFallthrough":true}`,
		`{"key":"broken","version":600,"on":false,"variations":["d0"],"offVariation":-1,"fallthrough":{"variation":0}}`,
		`{"key":"client-new","version":700,"on":true,"variations":["cs-new"],"fallthrough":{"variation":0},
			"clientSideAvailability":{"usingEnvironmentId":true,"usingMobileKey":true}}`,
		`{"key":"client-old","version":800,"on":true,"variations":["cs-old"],"fallthrough":{"variation":0},"clientSide":true}`,
		`{"key":"top","version":900,"on":true,"variations":["top"],"fallthrough":{"variation":0},
			"prerequisites":[{"key":"pre1","variation":0},{"key":"pre2","variation":0}]}`,
		`{"key":"pre1","version":1,"on":true,"variations":["p1"],"fallthrough":{"variation":0}}`,
		`{"key":"pre2","version":2,"on":true,"variations":["p2"],"fallthrough":{"variation":0}}`,
		`{"key":"deleted","version":3,"deleted":true}`,
	}
	e := newEnv(t)
	e.init(flags, nil)
	c := e.client(client.Config{})
	ec := evalctx.New("user-key")

	values := `"flag1":"value1","flag2":"value2","flag3":"value3","flag4":"value4","experiment":"exp","broken":null,
		"client-new":"cs-new","client-old":"cs-old","top":"top","pre1":"p1","pre2":"p2"`
	cases := []struct {
		name string
		opts client.AllFlagsOptions
		want string
	}{
		{"default", client.AllFlagsOptions{}, `{"$valid":true,` + values + `,"$flagsState":{
			"flag1":{"variation":1,"version":100},
			"flag2":{"variation":2,"version":200,"trackEvents":true},
			"flag3":{"variation":1,"version":300,"debugEventsUntilDate":` + fmt.Sprint(future) + `},
			"flag4":{"variation":1,"version":400,"debugEventsUntilDate":` + fmt.Sprint(past) + `},
			"experiment":{"variation":1,"version":500,"reason":{"kind":"FALLTHROUGH"},"trackEvents":true,"trackReason":true},
			"broken":{"version":600},
			"client-new":{"variation":0,"version":700},
			"client-old":{"variation":0,"version":800},
			"top":{"variation":0,"version":900,"prerequisites":["pre1","pre2"]},
			"pre1":{"variation":0,"version":1},
			"pre2":{"variation":0,"version":2}}}`},
		{"with reasons", client.AllFlagsOptions{WithReasons: true}, `{"$valid":true,` + values + `,"$flagsState":{
			"flag1":{"variation":1,"version":100,"reason":{"kind":"OFF"}},
			"flag2":{"variation":2,"version":200,"reason":{"kind":"OFF"},"trackEvents":true},
			"flag3":{"variation":1,"version":300,"reason":{"kind":"OFF"},"debugEventsUntilDate":` + fmt.Sprint(future) + `},
			"flag4":{"variation":1,"version":400,"reason":{"kind":"OFF"},"debugEventsUntilDate":` + fmt.Sprint(past) + `},
			"experiment":{"variation":1,"version":500,"reason":{"kind":"FALLTHROUGH"},"trackEvents":true,"trackReason":true},
			"broken":{"version":600,"reason":{"kind":"ERROR","errorKind":"MALFORMED_FLAG"}},
			"client-new":{"variation":0,"version":700,"reason":{"kind":"FALLTHROUGH"}},
			"client-old":{"variation":0,"version":800,"reason":{"kind":"FALLTHROUGH"}},
			"top":{"variation":0,"version":900,"reason":{"kind":"FALLTHROUGH"},"prerequisites":["pre1","pre2"]},
			"pre1":{"variation":0,"version":1,"reason":{"kind":"FALLTHROUGH"}},
			"pre2":{"variation":0,"version":2,"reason":{"kind":"FALLTHROUGH"}}}}`},
		// Untracked flags lose version and reason; tracked, debugged (until
		// a future time) and experiment flags keep them.
		{"details only for tracked flags", client.AllFlagsOptions{WithReasons: true, DetailsOnlyForTrackedFlags: true},
			`{"$valid":true,` + values + `,"$flagsState":{
			"flag1":{"variation":1},
			"flag2":{"variation":2,"version":200,"reason":{"kind":"OFF"},"trackEvents":true},
			"flag3":{"variation":1,"version":300,"reason":{"kind":"OFF"},"debugEventsUntilDate":` + fmt.Sprint(future) + `},
			"flag4":{"variation":1,"debugEventsUntilDate":` + fmt.Sprint(past) + `},
			"experiment":{"variation":1,"version":500,"reason":{"kind":"FALLTHROUGH"},"trackEvents":true,"trackReason":true},
			"broken":{},
			"client-new":{"variation":0},
			"client-old":{"variation":0},
			"top":{"variation":0,"prerequisites":["pre1","pre2"]},
			"pre1":{"variation":0},
			"pre2":{"variation":0}}}`},
		{"details only for tracked flags without reasons", client.AllFlagsOptions{DetailsOnlyForTrackedFlags: true},
			`{"$valid":true,` + values + `,"$flagsState":{
			"flag1":{"variation":1},
			"flag2":{"variation":2,"version":200,"trackEvents":true},
			"flag3":{"variation":1,"version":300,"debugEventsUntilDate":` + fmt.Sprint(future) + `},
			"flag4":{"variation":1,"debugEventsUntilDate":` + fmt.Sprint(past) + `},
			"experiment":{"variation":1,"version":500,"reason":{"kind":"FALLTHROUGH"},"trackEvents":true,"trackReason":true},
			"broken":{},
			"client-new":{"variation":0},
			"client-old":{"variation":0},
			"top":{"variation":0,"prerequisites":["pre1","pre2"]},
			"pre1":{"variation":0},
			"pre2":{"variation":0}}}`},
		{"client-side only", client.AllFlagsOptions{ClientSideOnly: true}, `{"$valid":true,
			"client-new":"cs-new","client-old":"cs-old","$flagsState":{
			"client-new":{"variation":0,"version":700},
			"client-old":{"variation":0,"version":800}}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := c.AllFlagsState(bg, ec, tc.opts)
			if !st.Valid() || st.Err() != nil {
				t.Fatalf("valid=%v err=%v", st.Valid(), st.Err())
			}
			js, err := st.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			jsonEqual(t, js, tc.want)
		})
	}

	t.Run("accessors", func(t *testing.T) {
		st := c.AllFlagsState(bg, ec, client.AllFlagsOptions{WithReasons: true})
		if got := strings.Join(st.Keys(), ","); got != "broken,client-new,client-old,experiment,flag1,flag2,flag3,flag4,pre1,pre2,top" {
			t.Errorf("Keys() = %s", got)
		}
		if v := st.Value("flag2"); v.Str() != "value2" {
			t.Errorf("Value(flag2) = %s", v.JSON())
		}
		if v := st.Value("nope"); !v.IsNull() {
			t.Errorf("Value(nope) = %s", v.JSON())
		}
		f, ok := st.Flag("top")
		if !ok || f.Version != 900 || f.VariationIndex != 0 || f.Reason.Kind != evaluation.ReasonFallthrough ||
			strings.Join(f.Prerequisites, ",") != "pre1,pre2" {
			t.Errorf("Flag(top) = %+v, %v", f, ok)
		}
		f.Prerequisites[0] = "changed" // the caller's own slice
		if again, _ := st.Flag("top"); strings.Join(again.Prerequisites, ",") != "pre1,pre2" {
			t.Errorf("Flag(top) after changing an earlier answer's prerequisites = %v", again.Prerequisites)
		}
		if f, _ := st.Flag("flag3"); f.DebugEventsUntilDate != future || f.Value.Str() != "value3" || f.Version != 300 ||
			f.Reason.Kind != evaluation.ReasonOff || f.TrackEvents || f.TrackReason || f.OmitDetails {
			t.Errorf("Flag(flag3) = %+v", f)
		}
		if f, _ := st.Flag("experiment"); !f.TrackEvents || !f.TrackReason || f.Value.Str() != "exp" {
			t.Errorf("Flag(experiment) = %+v", f)
		}
		if f, _ := st.Flag("broken"); f.VariationIndex != evaluation.NoVariation || !f.Value.IsNull() ||
			f.Reason.ErrorKind != evaluation.ErrorMalformedFlag {
			t.Errorf("Flag(broken) = %+v", f)
		}
		if _, ok := st.Flag("deleted"); ok {
			t.Error("a deleted flag is in the state")
		}
		if vals := st.Values(); len(vals) != 11 || !vals["flag1"].Equal(jsonvalue.String("value1")) {
			t.Errorf("Values() = %v", vals)
		}
		// The JSON a consumer would parse: values at top level.
		js, _ := st.MarshalJSON()
		v, err := jsonvalue.Parse(js)
		if err != nil {
			t.Fatal(err)
		}
		if x, _ := v.Get("flag3"); x.Str() != "value3" {
			t.Errorf("top-level flag3 = %s", x.JSON())
		}
	})

	t.Run("invalid context", func(t *testing.T) {
		st := c.AllFlagsState(bg, evalctx.Context{}, client.AllFlagsOptions{WithReasons: true})
		if st.Valid() || !errors.Is(st.Err(), client.ErrInvalidContext) || len(st.Keys()) != 0 {
			t.Errorf("valid=%v err=%v keys=%v", st.Valid(), st.Err(), st.Keys())
		}
		js, _ := st.MarshalJSON()
		jsonEqual(t, js, `{"$valid":false,"$flagsState":{}}`)
	})
}

// TestAllFlagsStateStoreDown: with the store failing before any flag list
// was read, the state is invalid and says why; once a list has been read, it
// keeps being served while the store fails.
func TestAllFlagsStateStoreDown(t *testing.T) {
	e := newEnv(t)
	e.init(testFlags, testSegments)
	fr := &faultyReader{Reader: e.reader}
	fr.setFail(errInjected)
	c := e.client(client.Config{Store: fr})
	st := c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{})
	if st.Valid() || !errors.Is(st.Err(), client.ErrDataUnavailable) || !errors.Is(st.Err(), store.ErrUnavailable) {
		t.Fatalf("valid=%v err=%v", st.Valid(), st.Err())
	}

	fr.setFail(nil)
	eventually(t, "a valid state", func() bool { return c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{}).Valid() })
	fr.setFail(errInjected)
	st = c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{})
	if !st.Valid() || st.Value("string-flag").Str() != "a" {
		t.Errorf("while the store fails after a good read: valid=%v err=%v", st.Valid(), st.Err())
	}
}

// TestAllFlagsStateNoDataset: a store no writer has filled gives an invalid
// state, not an empty valid one; a dataset with no flags is valid.
func TestAllFlagsStateNoDataset(t *testing.T) {
	e := newEnv(t)
	c := e.client(client.Config{})
	st := c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{})
	if st.Valid() || !errors.Is(st.Err(), store.ErrNotInitialized) {
		t.Errorf("empty store: valid=%v err=%v", st.Valid(), st.Err())
	}
	e.init(nil, nil)
	eventually(t, "a valid empty state", func() bool {
		st := c.AllFlagsState(bg, evalctx.New("u"), client.AllFlagsOptions{})
		return st.Valid() && len(st.Keys()) == 0
	})
}
