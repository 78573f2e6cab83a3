package evalctx

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

func TestParseCurrentFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Context
		out  string // MarshalJSON output
	}{
		{"minimal", `{"kind":"user","key":"k"}`, New("k"), `{"kind":"user","key":"k"}`},
		{"other kind", `{"kind":"org","key":"k"}`, NewWithKind("org", "k"), `{"kind":"org","key":"k"}`},
		{"full",
			`{"kind":"org","key":"k","name":"Acme","anonymous":true,"tier":3,"tags":["a"],"addr":{"c":"W"},"_meta":{"privateAttributes":["tier","/addr/c"]}}`,
			NewBuilder("k").Kind("org").Name("Acme").Anonymous(true).SetInt("tier", 3).
				Set("tags", jsonvalue.Array(jsonvalue.String("a"))).
				Set("addr", jsonvalue.Object(map[string]jsonvalue.Value{"c": jsonvalue.String("W")})).
				Private("tier", "/addr/c").Build(),
			`{"kind":"org","key":"k","name":"Acme","anonymous":true,"addr":{"c":"W"},"tags":["a"],"tier":3,"_meta":{"privateAttributes":["tier","/addr/c"]}}`},
		{"name null", `{"kind":"user","key":"k","name":null}`, New("k"), `{"kind":"user","key":"k"}`},
		{"anonymous false", `{"kind":"user","key":"k","anonymous":false}`, New("k"), `{"kind":"user","key":"k"}`},
		{"null custom removed", `{"kind":"user","key":"k","x":null}`, New("k"), `{"kind":"user","key":"k"}`},
		{"meta null", `{"kind":"user","key":"k","_meta":null}`, New("k"), `{"kind":"user","key":"k"}`},
		{"meta unknown ignored", `{"kind":"user","key":"k","_meta":{"redactedAttributes":["a"],"x":1,"privateAttributes":null}}`,
			New("k"), `{"kind":"user","key":"k"}`},
		{"invalid private ref kept", `{"kind":"user","key":"k","_meta":{"privateAttributes":["//"]}}`,
			NewBuilder("k").Private("//").Build(), `{"kind":"user","key":"k","_meta":{"privateAttributes":["//"]}}`},
		{"html chars", `{"kind":"user","key":"<&>"}`, New("<&>"), `{"kind":"user","key":"\u003c\u0026\u003e"}`},
		{"custom names like old format", `{"kind":"user","key":"k","custom":{"a":1},"privateAttributeNames":["x"]}`,
			NewBuilder("k").Set("custom", jsonvalue.Object(map[string]jsonvalue.Value{"a": jsonvalue.Int(1)})).
				Set("privateAttributeNames", jsonvalue.Array(jsonvalue.String("x"))).Build(),
			`{"kind":"user","key":"k","custom":{"a":1},"privateAttributeNames":["x"]}`},
		{"multi",
			`{"kind":"multi","user":{"key":"u","name":"Ann"},"org":{"key":"o:1","anonymous":true,"_meta":{"privateAttributes":["x"]},"x":1}}`,
			NewMulti(NewBuilder("u").Name("Ann").Build(), NewBuilder("o:1").Kind("org").Anonymous(true).SetInt("x", 1).Private("x").Build()),
			`{"kind":"multi","org":{"key":"o:1","anonymous":true,"x":1,"_meta":{"privateAttributes":["x"]}},"user":{"key":"u","name":"Ann"}}`},
		{"multi nested kind equal", `{"kind":"multi","user":{"kind":"user","key":"u"},"org":{"key":"o"}}`,
			NewMulti(New("u"), NewWithKind("org", "o")), `{"kind":"multi","org":{"key":"o"},"user":{"key":"u"}}`},
		{"multi of one", `{"kind":"multi","org":{"key":"o"}}`, NewWithKind("org", "o"), `{"kind":"org","key":"o"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.want.Err() != nil {
				t.Fatalf("bad test: %v", tt.want.Err())
			}
			if !c.Equal(tt.want) {
				t.Errorf("parsed context differs from the expected one")
			}
			out, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("MarshalJSON =\n%s\nwant\n%s", out, tt.out)
			}
			checkRoundTrip(t, c)
		})
	}
}

func TestParseOldUserFormat(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Context
		out  string
	}{
		{"key only", `{"key":"k"}`, New("k"), `{"kind":"user","key":"k"}`},
		{"empty key", `{"key":""}`, mustOld(t, `{"key":""}`), `{"key":""}`},
		{"all fields",
			`{"key":"k","name":"Ann","firstName":"A","lastName":"B","email":"e@x","country":"NZ","avatar":"av","ip":"1.2.3.4",` +
				`"anonymous":true,"secondary":"s","custom":{"n":1,"o":{"p":[true]}},"privateAttributeNames":["email","/weird"]}`,
			NewBuilder("k").Name("Ann").SetString("firstName", "A").SetString("lastName", "B").SetString("email", "e@x").
				SetString("country", "NZ").SetString("avatar", "av").SetString("ip", "1.2.3.4").Anonymous(true).
				SetInt("n", 1).Set("o", jsonvalue.Object(map[string]jsonvalue.Value{"p": jsonvalue.Array(jsonvalue.Bool(true))})).
				PrivateRef(NewLiteralRef("email"), NewLiteralRef("/weird")).Build(),
			`{"kind":"user","key":"k","name":"Ann","anonymous":true,"avatar":"av","country":"NZ","email":"e@x","firstName":"A",` +
				`"ip":"1.2.3.4","lastName":"B","n":1,"o":{"p":[true]},"_meta":{"privateAttributes":["email","/~1weird"]}}`},
		{"nulls", `{"key":"k","name":null,"email":null,"anonymous":null,"secondary":null,"custom":null,"privateAttributeNames":null}`,
			New("k"), `{"kind":"user","key":"k"}`},
		{"custom cannot override built-ins",
			`{"key":"k","custom":{"kind":"org","key":"x","name":"n","anonymous":true,"_meta":{},"ok":1}}`,
			NewBuilder("k").SetInt("ok", 1).Build(), `{"kind":"user","key":"k","ok":1}`},
		{"the later of top-level and custom wins", `{"key":"k","email":"top","custom":{"email":"custom"}}`,
			NewBuilder("k").SetString("email", "custom").Build(), `{"kind":"user","key":"k","email":"custom"}`},
		{"custom null ignored", `{"key":"k","custom":{"a":null}}`, New("k"), `{"kind":"user","key":"k"}`},
		{"unknown top-level ignored", `{"key":"k","foo":[1],"_meta":7}`, New("k"), `{"kind":"user","key":"k"}`},
		{"empty key with everything", `{"key":"","name":"n","anonymous":true,"custom":{"a":1},"privateAttributeNames":["a","/b"]}`,
			mustOld(t, `{"key":"","name":"n","anonymous":true,"custom":{"a":1},"privateAttributeNames":["a","/b"]}`),
			`{"key":"","name":"n","anonymous":true,"custom":{"a":1},"privateAttributeNames":["a","/b"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if c.Kind() != DefaultKind {
				t.Errorf("old user format gives kind %q", c.Kind())
			}
			if !c.Equal(tt.want) {
				t.Errorf("parsed context differs from the expected one")
			}
			c2, err := ParseOldUser([]byte(tt.in))
			if err != nil || !c2.Equal(c) {
				t.Errorf("ParseOldUser disagrees with Parse: %v", err)
			}
			out, err := c.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.out {
				t.Errorf("MarshalJSON =\n%s\nwant\n%s", out, tt.out)
			}
			checkRoundTrip(t, c)
		})
	}
	c := mustOld(t, `{"key":"","privateAttributeNames":["/b"]}`)
	if r, _ := c.PrivateAttributeByIndex(0); r.Depth() != 1 || r.Component(0) != "/b" {
		t.Error("old-format private names are literal")
	}
	if _, err := ParseOldUser([]byte(`{"kind":"user","key":"k"}`)); err == nil {
		t.Error("ParseOldUser rejects a kind property")
	}
	if _, err := ParseOldUser([]byte(`[`)); err == nil {
		t.Error("ParseOldUser rejects bad JSON")
	}
	if _, err := ParseOldUser([]byte(`"k"`)); err == nil {
		t.Error("ParseOldUser rejects non-objects")
	}
}

func mustOld(t *testing.T, s string) Context {
	t.Helper()
	c, err := Parse([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkRoundTrip(t *testing.T, c Context) {
	t.Helper()
	data, err := c.MarshalJSON()
	if err != nil {
		t.Fatalf("MarshalJSON: %v", err)
	}
	var back Context
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("re-parse of %s: %v", data, err)
	}
	if !back.Equal(c) {
		t.Errorf("round trip through %s changed the context", data)
	}
	if back.FullyQualifiedKey() != c.FullyQualifiedKey() {
		t.Errorf("round trip changed the fully-qualified key")
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr error
		msg     string
	}{
		{"malformed", `{"kind":"user",`, ErrInvalidJSON, "offset"},
		{"empty", ``, ErrInvalidJSON, ""},
		{"null", `null`, ErrInvalidJSON, "object"},
		{"array", `[{"key":"k"}]`, ErrInvalidJSON, "array"},
		{"string", `"k"`, ErrInvalidJSON, "string"},
		{"kind number", `{"kind":1,"key":"k"}`, ErrInvalidJSON, `"kind" must be a string`},
		{"kind null", `{"kind":null,"key":"k"}`, ErrInvalidJSON, `"kind"`},
		{"kind empty", `{"kind":"","key":"k"}`, ErrInvalidKind, "empty"},
		{"kind kind", `{"kind":"kind","key":"k"}`, ErrInvalidKind, `"kind"`},
		{"kind chars", `{"kind":"a b","key":"k"}`, ErrInvalidKind, `"a b"`},
		{"key missing", `{"kind":"user"}`, ErrMissingKey, ""},
		{"key empty", `{"kind":"org","key":""}`, ErrEmptyKey, ""},
		{"key number", `{"kind":"user","key":1}`, ErrInvalidJSON, `"key" must be a string, not number`},
		{"key null", `{"kind":"user","key":null}`, ErrInvalidJSON, `not null`},
		{"name number", `{"kind":"user","key":"k","name":1}`, ErrInvalidJSON, `"name" must be a string or null`},
		{"name object", `{"kind":"user","key":"k","name":{}}`, ErrInvalidJSON, `"name"`},
		{"anonymous string", `{"kind":"user","key":"k","anonymous":"true"}`, ErrInvalidJSON, `"anonymous"`},
		{"anonymous null", `{"kind":"user","key":"k","anonymous":null}`, ErrInvalidJSON, `"anonymous"`},
		{"meta array", `{"kind":"user","key":"k","_meta":[]}`, ErrInvalidJSON, `"_meta"`},
		{"private not array", `{"kind":"user","key":"k","_meta":{"privateAttributes":"a"}}`, ErrInvalidJSON, "privateAttributes"},
		{"private element", `{"kind":"user","key":"k","_meta":{"privateAttributes":["a",1]}}`, ErrInvalidJSON, "privateAttributes[1]"},
		{"multi empty", `{"kind":"multi"}`, ErrNoContexts, ""},
		{"multi member not object", `{"kind":"multi","user":"u"}`, ErrInvalidJSON, `"user"`},
		{"multi member no key", `{"kind":"multi","user":{"name":"x"}}`, ErrMissingKey, `"user"`},
		{"multi member empty key", `{"kind":"multi","user":{"key":""},"org":{"key":"o"}}`, ErrEmptyKey, ""},
		{"multi member bad kind name", `{"kind":"multi","a b":{"key":"k"},"org":{"key":"o"}}`, ErrInvalidKind, `"a b"`},
		{"multi member multi", `{"kind":"multi","multi":{"key":"k"},"org":{"key":"o"}}`, ErrInvalidKind, ""},
		{"multi member kind mismatch", `{"kind":"multi","org":{"kind":"user","key":"k"}}`, ErrInvalidKind, "differs"},
		{"multi member kind number", `{"kind":"multi","org":{"kind":1,"key":"k"}}`, ErrInvalidJSON, ""},
		{"multi member wrong type", `{"kind":"multi","org":{"key":"k","name":false}}`, ErrInvalidJSON, `"name"`},
		{"old key missing", `{"name":"x"}`, ErrMissingKey, ""},
		{"old key number", `{"key":1}`, ErrInvalidJSON, `"key"`},
		{"old key null", `{"key":null}`, ErrInvalidJSON, `"key"`},
		{"old name number", `{"key":"k","name":1}`, ErrInvalidJSON, `"name"`},
		{"old email number", `{"key":"k","email":1}`, ErrInvalidJSON, `"email"`},
		{"old ip bool", `{"key":"k","ip":true}`, ErrInvalidJSON, `"ip"`},
		{"old anonymous string", `{"key":"k","anonymous":"yes"}`, ErrInvalidJSON, `"anonymous"`},
		{"old secondary number", `{"key":"k","secondary":1}`, ErrInvalidJSON, `"secondary"`},
		{"old custom array", `{"key":"k","custom":[]}`, ErrInvalidJSON, `"custom"`},
		{"old private string", `{"key":"k","privateAttributeNames":"a"}`, ErrInvalidJSON, "privateAttributeNames"},
		{"old private element", `{"key":"k","privateAttributeNames":[null]}`, ErrInvalidJSON, "privateAttributeNames[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%s) should fail", tt.in)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q should wrap %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q should contain %q", err, tt.msg)
			}
			if c.Err() == nil || c.Err().Error() != err.Error() {
				t.Errorf("the returned context should carry the error, has %v", c.Err())
			}
			var u Context
			if err := json.Unmarshal([]byte(tt.in), &u); err == nil {
				t.Error("json.Unmarshal should fail too")
			}
		})
	}
}

func TestUnmarshalJSONInStruct(t *testing.T) {
	var doc struct {
		Contexts []Context `json:"contexts"`
	}
	in := `{"contexts":[{"kind":"org","key":"o"},{"key":"old"},{"kind":"multi","user":{"key":"u"},"org":{"key":"o"}}]}`
	if err := json.Unmarshal([]byte(in), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Contexts) != 3 || doc.Contexts[1].FullyQualifiedKey() != "old" || !doc.Contexts[2].Multiple() {
		t.Errorf("decoded %d contexts", len(doc.Contexts))
	}
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"contexts":[{"kind":"org","key":"o"},{"kind":"user","key":"old"},{"kind":"multi","org":{"key":"o"},"user":{"key":"u"}}]}`
	if string(out) != want {
		t.Errorf("got %s\nwant %s", out, want)
	}
	var c Context
	if err := c.UnmarshalJSON([]byte(`{"kind":"user"}`)); err == nil || c.Err() == nil {
		t.Error("UnmarshalJSON error must leave an invalid context")
	}
}

func TestMarshalInvalid(t *testing.T) {
	for _, c := range []Context{{}, New(""), NewMulti()} {
		if _, err := json.Marshal(c); err == nil {
			t.Errorf("encoding an invalid context must fail")
		}
	}
	empty := mustOld(t, `{"key":""}`)
	m := NewMulti(empty, NewWithKind("org", "o"))
	if m.Err() != nil {
		t.Fatal(m.Err())
	}
	if _, err := m.MarshalJSON(); !errors.Is(err, ErrEmptyKey) {
		t.Errorf("a multi-kind context with an empty user key cannot be JSON: %v", err)
	}
}

func TestFromValue(t *testing.T) {
	v, _ := jsonvalue.Parse([]byte(`{"kind":"org","key":"k"}`))
	c, err := FromValue(v)
	if err != nil || c.FullyQualifiedKey() != "org:k" {
		t.Errorf("FromValue: %v", err)
	}
}

func TestAppendJSON(t *testing.T) {
	out, err := New("k").AppendJSON([]byte("x"))
	if err != nil || string(out) != `x{"kind":"user","key":"k"}` {
		t.Errorf("AppendJSON = %s, %v", out, err)
	}
}
