package bench

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"

	"github.com/daemonflag/daemonflag/evalctx"
)

// Differences from LaunchDarkly that the differential test found, kept as
// regression tests now that they are fixed.

// oldUserBuiltins are the optional string attributes of the old user format.
var oldUserBuiltins = []string{"firstName", "lastName", "email", "country", "avatar", "ip"}

// TestOldUserAttributeCollision: a context in the old user format with a
// top-level built-in attribute ("country", "email", "firstName", ...) and a
// custom attribute of the same name. LaunchDarkly's Go SDK reads the
// properties in document order and the later one wins, except that a null
// top-level value changes nothing (a null custom value removes the
// attribute). Both evaluators must agree, for each built-in and both orders.
func TestOldUserAttributeCollision(t *testing.T) {
	for _, a := range oldUserBuiltins {
		flag := ruleFlag("collide", fmt.Sprintf(`{"attribute":%q,"op":"in","values":["custom"]}`, a))
		s := newSides([][]byte{[]byte(flag)}, nil, nil)
		for _, tc := range []struct {
			doc   string
			match bool // the custom value is the one that counts
		}{
			{`{"key":"u","A":"top","custom":{"A":"custom"}}`, true},
			{`{"key":"u","custom":{"A":"custom"},"A":"top"}`, false},
			{`{"key":"u","custom":{"A":"custom"},"A":null}`, true},
			{`{"key":"u","A":null,"custom":{"A":"custom"}}`, true},
			{`{"key":"u","A":"top","custom":{"A":null}}`, false},
			{`{"key":"u","custom":{"A":"custom"},"custom":{"A":null},"A":"custom"}`, true},
		} {
			doc := strings.ReplaceAll(tc.doc, `"A"`, `"`+a+`"`)
			r := checkContext(s, "collide", []byte(doc))
			if r.kind != "" {
				t.Errorf("context %s: %s mismatch: ours %s, LaunchDarkly %s", doc, r.kind, mustJSON(r.ours), mustJSON(r.ld))
				continue
			}
			if r.ours.Value != tc.match {
				t.Errorf("context %s: both serve %v, want %v", doc, r.ours.Value, tc.match)
			}
		}
	}
}

// TestOldUserParsing compares the contexts both SDKs read from old-format
// users whose properties collide or repeat: validity, key, name, anonymous,
// every attribute and the private attributes must be the same.
func TestOldUserParsing(t *testing.T) {
	var docs []string
	for _, a := range oldUserBuiltins {
		for _, d := range []string{
			`{"key":"u","A":"top","custom":{"A":"custom"}}`,
			`{"key":"u","custom":{"A":"custom"},"A":"top"}`,
			`{"key":"u","A":"top","custom":{"A":7}}`,
			`{"key":"u","custom":{"A":[7]},"A":"top"}`,
			`{"key":"u","A":"top","custom":{"A":null}}`,
			`{"key":"u","custom":{"A":"custom"},"A":null}`,
			`{"key":"u","A":"one","A":null}`,
			`{"key":"u","A":"one","A":"two"}`,
			`{"key":"u","A":1,"A":"two"}`,
			`{"key":"u","A":"one","A":false}`,
		} {
			docs = append(docs, strings.ReplaceAll(d, `"A"`, `"`+a+`"`))
		}
	}
	for _, r := range []struct{ name, value string }{
		{"key", `"x"`}, {"kind", `"org"`}, {"name", `"x"`}, {"anonymous", `false`}, {"_meta", `{}`}, {"", `1`},
	} {
		entry := fmt.Sprintf(`"custom":{%q:%s}`, r.name, r.value)
		docs = append(docs,
			`{"key":"u","name":"n","anonymous":true,`+entry+`}`,
			`{`+entry+`,"key":"u","name":"n","anonymous":true}`,
			`{"key":"u",`+entry+`}`,
		)
	}
	docs = append(docs,
		`{"key":"a","key":"b"}`,
		`{"key":5,"key":"b"}`,
		`{"key":"a","key":null}`,
		`{"key":"u","name":"n","name":null}`,
		`{"key":"u","anonymous":true,"anonymous":null}`,
		`{"key":"u","secondary":1,"secondary":"s"}`,
		`{"key":"u","custom":{"a":1,"b":1},"custom":{"b":2,"c":2}}`,
		`{"key":"u","custom":{"a":1},"custom":null}`,
		`{"key":"u","custom":{"a":1},"custom":{"a":null}}`,
		`{"key":"u","custom":{"a":1,"a":null}}`,
		`{"key":"u","custom":{"a":1},"custom":5}`,
		`{"key":"u","privateAttributeNames":["a"],"privateAttributeNames":null,"privateAttributeNames":["b"]}`,
		`{"key":"u","c\u006funtry":"us","custom":{"country":"gb"}}`,
		`{"key":"u","custom":{"country":"gb"},"c\u006funtry":"us"}`,
		`{"key":"u","custom":{"n\u0061me":"x"}}`,
		`{"name":7,"key":5}`,
		`{"custom":{"key":"k"}}`,
	)
	for _, doc := range docs {
		if ld, ours := ldContextSummary(doc), ourContextSummary(doc); ld != ours {
			t.Errorf("context %s:\nLaunchDarkly: %s\nours:         %s", doc, ld, ours)
		}
	}
}

// ldContextSummary describes the context LaunchDarkly reads from doc.
func ldContextSummary(doc string) string {
	var c ldcontext.Context
	err := json.Unmarshal([]byte(doc), &c)
	if err == nil {
		err = c.Err()
	}
	if err != nil {
		return "invalid"
	}
	s := fmt.Sprintf("kind %s, key %q, anonymous %v", c.Kind(), c.Key(), c.Anonymous())
	if n := c.Name(); n.IsDefined() {
		s += fmt.Sprintf(", name %q", n.StringValue())
	}
	names := slices.Sorted(slices.Values(c.GetOptionalAttributeNames(nil)))
	for _, n := range names {
		if n != "name" {
			s += fmt.Sprintf(", %q: %s", n, c.GetValue(n).JSONString())
		}
	}
	for i := range c.PrivateAttributeCount() {
		r, _ := c.PrivateAttributeByIndex(i)
		s += fmt.Sprintf(", private %q", r.String())
	}
	return s
}

// ourContextSummary describes the context evalctx reads from doc, as
// ldContextSummary does.
func ourContextSummary(doc string) string {
	c, err := evalctx.Parse([]byte(doc))
	if err != nil {
		return "invalid"
	}
	s := fmt.Sprintf("kind %s, key %q, anonymous %v", c.Kind(), c.Key(), c.Anonymous())
	if n, ok := c.Name(); ok {
		s += fmt.Sprintf(", name %q", n)
	}
	for _, n := range slices.Sorted(slices.Values(c.CustomAttributeNames())) {
		v, _ := c.GetValue(n)
		s += fmt.Sprintf(", %q: %s", n, v.JSON())
	}
	for _, r := range c.PrivateAttributes() {
		s += fmt.Sprintf(", private %q", r.String())
	}
	return s
}
