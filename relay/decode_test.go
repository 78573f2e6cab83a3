package relay

import (
	"errors"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

func TestRelayParseEvents(t *testing.T) {
	type result int
	const (
		ok result = iota
		bad
		ignored
	)
	tests := []struct {
		name   string
		parse  func([]byte) (change, error)
		data   string
		want   result
		check  func(t *testing.T, ch change)
		wantIn string
	}{
		{name: "put", parse: parsePut, want: ok,
			data: `{"path":"/","data":{"flags":{"b":{"key":"b","version":2},"a":{"key":"a","version":1}},"segments":{"s":{"key":"s","version":3}}}}`,
			check: func(t *testing.T, ch change) {
				if len(ch.all) != 2 || ch.all[0].Kind != store.Segments || ch.all[1].Kind != store.Features {
					t.Fatalf("collections %+v", ch.all)
				}
				f := ch.all[1].Items
				if len(f) != 2 || f[0].Key != "a" || f[1].Key != "b" || f[1].Item.Version != 2 {
					t.Fatalf("flags %+v", f)
				}
			}},
		{name: "put without path", parse: parsePut, want: ok, data: `{"data":{"flags":{},"segments":{}}}`},
		{name: "put without segments", parse: parsePut, want: ok, data: `{"data":{"flags":{"a":{"version":1}}}}`},
		{name: "put with a tombstone", parse: parsePut, want: ok,
			data: `{"data":{"flags":{"a":{"key":"a","version":4,"deleted":true}}}}`,
			check: func(t *testing.T, ch change) {
				if it := ch.all[1].Items[0].Item; !it.Deleted || it.Version != 4 {
					t.Fatalf("item %+v", it)
				}
			}},
		{name: "put is compacted", parse: parsePut, want: ok, data: `{"data":{"flags":{"a": { "key" : "a", "version" : 1 }}}}`,
			check: func(t *testing.T, ch change) {
				if got := string(ch.all[1].Items[0].Item.Data); got != `{"key":"a","version":1}` {
					t.Fatalf("data %s", got)
				}
			}},
		{name: "put other path", parse: parsePut, want: ignored, data: `{"path":"/flags","data":{}}`},
		{name: "put not JSON", parse: parsePut, want: bad, data: `{"data":`},
		{name: "put not an object", parse: parsePut, want: bad, data: `[1]`},
		{name: "put without data", parse: parsePut, want: bad, data: `{"path":"/"}`},
		{name: "put null data", parse: parsePut, want: bad, data: `{"path":"/","data":null}`},
		{name: "put data not an object", parse: parsePut, want: bad, data: `{"data":[]}`},
		{name: "put flags not an object", parse: parsePut, want: bad, data: `{"data":{"flags":[]}}`},
		{name: "put flag not an object", parse: parsePut, want: bad, data: `{"data":{"flags":{"a":true}}}`},
		{name: "put flag null", parse: parsePut, want: bad, data: `{"data":{"flags":{"a":null}}}`},
		{name: "put flag fractional version", parse: parsePut, want: bad, data: `{"data":{"flags":{"a":{"version":1.5}}}}`},
		{name: "put flag string version", parse: parsePut, want: bad, data: `{"data":{"flags":{"a":{"version":"1"}}}}`},
		{name: "put empty key is left out", parse: parsePut, want: ok,
			data: `{"data":{"segments":{"":{"version":1},"s":{"key":"s","version":2}},"flags":{"":{}}}}`,
			check: func(t *testing.T, ch change) {
				if len(ch.all[0].Items) != 1 || ch.all[0].Items[0].Key != "s" || len(ch.all[1].Items) != 0 {
					t.Fatalf("collections %+v", ch.all)
				}
				if len(ch.skipped) != 2 {
					t.Fatalf("skipped %q, want the segment and the flag", ch.skipped)
				}
			}},
		{name: "put duplicate key: the last wins", parse: parsePut, want: ok,
			data: `{"data":{"flags":{"a":{"version":1},"a":{"version":2}}}}`,
			check: func(t *testing.T, ch change) {
				if f := ch.all[1].Items; len(f) != 1 || f[0].Item.Version != 2 {
					t.Fatalf("flags %+v", f)
				}
			}},
		{name: "put data before path", parse: parsePut, want: ok, data: `{"data":{"flags":{"a":{"version":1}}},"path":"/"}`},
		{name: "put unknown members", parse: parsePut, want: ok, data: `{"x":[1,{"y":null}],"data":{"z":1,"flags":{"a":{"version":1}}}}`},
		{name: "put null flags", parse: parsePut, want: ok, data: `{"data":{"flags":null}}`},
		{name: "put invalid UTF-8", parse: parsePut, want: bad, data: "{\"data\":{\"flags\":{\"a\":{\"version\":1,\"v\":\"AB\xffCD\"}}}}"},
		{name: "put trailing garbage", parse: parsePut, want: bad, data: `{"data":{}} x`},
		{name: "put escaped key", parse: parsePut, want: ok, data: `{"data":{"flags":{"a\u00e9":{"version":1}}}}`,
			check: func(t *testing.T, ch change) {
				if f := ch.all[1].Items; len(f) != 1 || f[0].Key != "aé" {
					t.Fatalf("flags %+v", f)
				}
			}},

		{name: "patch flag", parse: parsePatch, want: ok, data: `{"path":"/flags/my-flag","data":{"key":"my-flag","version":7}}`,
			check: func(t *testing.T, ch change) {
				if ch.kind != store.Features || ch.key != "my-flag" || ch.item.Version != 7 || ch.item.Deleted {
					t.Fatalf("change %+v", ch)
				}
			}},
		{name: "patch segment", parse: parsePatch, want: ok, data: `{"path":"/segments/s","data":{"key":"s","version":1}}`,
			check: func(t *testing.T, ch change) {
				if ch.kind != store.Segments || ch.key != "s" {
					t.Fatalf("change %+v", ch)
				}
			}},
		{name: "patch unknown path", parse: parsePatch, want: ignored, data: `{"path":"/other/x","data":{"version":1}}`},
		{name: "patch empty key", parse: parsePatch, want: ignored, data: `{"path":"/flags/","data":{"version":1}}`},
		{name: "patch without path", parse: parsePatch, want: bad, data: `{"data":{"version":1}}`},
		{name: "patch without data", parse: parsePatch, want: bad, data: `{"path":"/flags/a"}`},
		{name: "patch data not an object", parse: parsePatch, want: bad, data: `{"path":"/flags/a","data":"x"}`},
		{name: "patch not JSON", parse: parsePatch, want: bad, data: `not json`},
		{name: "patch path not a string", parse: parsePatch, want: bad, data: `{"path":3,"data":{}}`},

		{name: "delete", parse: parseDelete, want: ok, data: `{"path":"/flags/a","version":9}`,
			check: func(t *testing.T, ch change) {
				if ch.kind != store.Features || ch.key != "a" || ch.item.Version != 9 || !ch.item.Deleted {
					t.Fatalf("change %+v", ch)
				}
			}},
		{name: "delete segment", parse: parseDelete, want: ok, data: `{"path":"/segments/s","version":2}`},
		{name: "delete unknown path", parse: parseDelete, want: ignored, data: `{"path":"/x/a","version":9}`},
		{name: "delete without version", parse: parseDelete, want: bad, data: `{"path":"/flags/a"}`},
		{name: "delete fractional version", parse: parseDelete, want: bad, data: `{"path":"/flags/a","version":1.5}`},
		{name: "delete not JSON", parse: parseDelete, want: bad, data: `{`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := tc.parse([]byte(tc.data))
			var me *malformedError
			switch tc.want {
			case ok:
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				if tc.check != nil {
					tc.check(t, ch)
				}
			case bad:
				if !errors.As(err, &me) {
					t.Fatalf("err = %v, want malformed", err)
				}
			case ignored:
				if !errors.Is(err, errIgnored) {
					t.Fatalf("err = %v, want ignored", err)
				}
			}
		})
	}
}

func TestRelayBackoff(t *testing.T) {
	for range 50 {
		b := backoff{first: 100 * time.Millisecond, max: MaxRetryDelay}
		for n, want := range []time.Duration{100e6, 200e6, 400e6} {
			if d := b.next(); d < want/2 || d > want {
				t.Fatalf("attempt %d: delay %v not in [%v, %v]", n, d, want/2, want)
			}
		}
		for range 30 {
			b.next()
		}
		if d := b.next(); d > MaxRetryDelay || d < MaxRetryDelay/2 {
			t.Fatalf("attempt 34: delay %v", d)
		}
		b.reset()
		if d := b.next(); d > 100*time.Millisecond {
			t.Fatalf("after reset: delay %v", d)
		}
	}
}
