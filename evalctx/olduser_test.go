package evalctx

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// oldUserCase is an old-format user document and what parsing it gives: the
// context in the current JSON format, or an error matching errIs and
// mentioning errText.
type oldUserCase struct {
	name    string
	in      string
	want    string
	errIs   error
	errText string
}

// collisionCases are the cases for a top-level built-in attribute that also
// appears in "custom" or more than once: the property later in the document
// wins, except that a null top-level value changes nothing.
func collisionCases() []oldUserCase {
	var cs []oldUserCase
	for _, a := range oldUserStrings {
		with := func(v string) string { return `{"kind":"user","key":"k","` + a + `":` + v + `}` }
		none := `{"kind":"user","key":"k"}`
		q := `"` + a + `"`
		cs = append(cs,
			oldUserCase{name: a + "/top-level first", in: `{"key":"k",` + q + `:"top","custom":{` + q + `:"custom"}}`, want: with(`"custom"`)},
			oldUserCase{name: a + "/custom first", in: `{"key":"k","custom":{` + q + `:"custom"},` + q + `:"top"}`, want: with(`"top"`)},
			oldUserCase{name: a + "/top-level first, custom not a string", in: `{"key":"k",` + q + `:"top","custom":{` + q + `:[7]}}`, want: with(`[7]`)},
			oldUserCase{name: a + "/custom not a string first", in: `{"key":"k","custom":{` + q + `:{"x":7}},` + q + `:"top"}`, want: with(`"top"`)},
			oldUserCase{name: a + "/top-level first, custom null", in: `{"key":"k",` + q + `:"top","custom":{` + q + `:null}}`, want: none},
			oldUserCase{name: a + "/custom first, top-level null", in: `{"key":"k","custom":{` + q + `:"custom"},` + q + `:null}`, want: with(`"custom"`)},
			oldUserCase{name: a + "/top-level null first", in: `{"key":"k",` + q + `:null,"custom":{` + q + `:"custom"}}`, want: with(`"custom"`)},
			oldUserCase{name: a + "/key last", in: `{` + q + `:"top","custom":{` + q + `:"custom"},"key":"k"}`, want: with(`"custom"`)},
			oldUserCase{name: a + "/top-level twice", in: `{"key":"k",` + q + `:"one",` + q + `:"two"}`, want: with(`"two"`)},
			oldUserCase{name: a + "/top-level then null", in: `{"key":"k",` + q + `:"one",` + q + `:null}`, want: with(`"one"`)},
			oldUserCase{name: a + "/wrong type, then a string", in: `{"key":"k",` + q + `:1,` + q + `:"two"}`, errIs: ErrInvalidJSON, errText: q},
			oldUserCase{name: a + "/a string, then wrong type", in: `{"key":"k",` + q + `:"one",` + q + `:true}`, errIs: ErrInvalidJSON, errText: q},
			oldUserCase{name: a + "/only in custom", in: `{"key":"k","custom":{` + q + `:5}}`, want: with(`5`)},
		)
	}
	return cs
}

// reservedCases are custom attributes named like a built-in that custom
// cannot set (or the reserved "_meta", or the empty name): ignored whatever
// the order and whether or not the top level sets the built-in.
func reservedCases() []oldUserCase {
	reserved := []struct{ name, value string }{
		{"key", `"custom-key"`}, {"kind", `"org"`}, {"name", `"custom-name"`},
		{"anonymous", `false`}, {"_meta", `{"privateAttributes":["a"]}`}, {"", `1`},
	}
	var cs []oldUserCase
	for _, r := range reserved {
		entry := fmt.Sprintf(`"custom":{%q:%s,"ok":1}`, r.name, r.value)
		label := r.name
		if label == "" {
			label = "empty name"
		}
		full := `{"kind":"user","key":"k","name":"n","anonymous":true,"ok":1}`
		cs = append(cs,
			oldUserCase{name: label + "/top-level first", in: `{"key":"k","name":"n","anonymous":true,` + entry + `}`, want: full},
			oldUserCase{name: label + "/custom first", in: `{` + entry + `,"key":"k","name":"n","anonymous":true}`, want: full},
			oldUserCase{name: label + "/no top-level value", in: `{"key":"k",` + entry + `}`, want: `{"kind":"user","key":"k","ok":1}`},
		)
	}
	return cs
}

// otherCases cover the remaining top-level properties read in order, and
// documents the scanner must walk correctly.
func otherCases() []oldUserCase {
	return []oldUserCase{
		{name: "key twice", in: `{"key":"a","key":"b"}`, want: `{"kind":"user","key":"b"}`},
		{name: "key of wrong type, then a string", in: `{"key":5,"key":"b"}`, errIs: ErrInvalidJSON, errText: `"key"`},
		{name: "key, then key of wrong type", in: `{"key":"a","key":null}`, errIs: ErrInvalidJSON, errText: `"key"`},
		{name: "no key", in: `{"custom":{"key":"k"},"country":"us"}`, errIs: ErrMissingKey},
		{name: "name, then null", in: `{"key":"k","name":"n","name":null}`, want: `{"kind":"user","key":"k"}`},
		{name: "null name, then name", in: `{"key":"k","name":null,"name":"n"}`, want: `{"kind":"user","key":"k","name":"n"}`},
		{name: "name of wrong type after a string", in: `{"key":"k","name":"n","name":1}`, errIs: ErrInvalidJSON, errText: `"name"`},
		{name: "anonymous, then null", in: `{"key":"k","anonymous":true,"anonymous":null}`, want: `{"kind":"user","key":"k"}`},
		{name: "anonymous twice", in: `{"key":"k","anonymous":false,"anonymous":true}`, want: `{"kind":"user","key":"k","anonymous":true}`},
		{name: "secondary of wrong type, then a string", in: `{"key":"k","secondary":1,"secondary":"s"}`, errIs: ErrInvalidJSON, errText: `"secondary"`},
		{name: "custom twice adds up", in: `{"key":"k","custom":{"a":1,"b":1},"custom":{"b":2,"c":2}}`, want: `{"kind":"user","key":"k","a":1,"b":2,"c":2}`},
		{name: "custom, then null", in: `{"key":"k","custom":{"a":1},"custom":null}`, want: `{"kind":"user","key":"k","a":1}`},
		{name: "custom, then custom null entry", in: `{"key":"k","custom":{"a":1},"custom":{"a":null}}`, want: `{"kind":"user","key":"k"}`},
		{name: "custom entry twice, null last", in: `{"key":"k","custom":{"a":1,"a":null}}`, want: `{"kind":"user","key":"k"}`},
		{name: "custom entry twice, null first", in: `{"key":"k","custom":{"a":null,"a":2}}`, want: `{"kind":"user","key":"k","a":2}`},
		{name: "custom of wrong type after an object", in: `{"key":"k","custom":{"a":1},"custom":[]}`, errIs: ErrInvalidJSON, errText: `"custom"`},
		{name: "privateAttributeNames twice adds up", in: `{"key":"k","privateAttributeNames":["a"],"privateAttributeNames":null,"privateAttributeNames":["b"]}`,
			want: `{"kind":"user","key":"k","_meta":{"privateAttributes":["a","b"]}}`},
		{name: "first error in document order", in: `{"name":7,"key":5}`, errIs: ErrInvalidJSON, errText: `"name"`},
		{name: "first error in document order, reversed", in: `{"key":5,"name":7}`, errIs: ErrInvalidJSON, errText: `"key"`},
		{name: "escaped property name, top-level first", in: `{"key":"k","c\u006funtry":"us","custom":{"country":"gb"}}`, want: `{"kind":"user","key":"k","country":"gb"}`},
		{name: "escaped property name, custom first", in: `{"key":"k","\u0063ustom":{"country":"gb"},"country":"us"}`, want: `{"kind":"user","key":"k","country":"us"}`},
		{name: "escaped reserved name in custom", in: `{"key":"k","custom":{"n\u0061me":"x"}}`, want: `{"kind":"user","key":"k"}`},
		{name: "white space everywhere", in: " \n{ \"key\" :\t\"k\" ,\r\n \"custom\" : { \"country\" : \"gb\" } , \"country\" : \"us\" \n} \n",
			want: `{"kind":"user","key":"k","country":"us"}`},
		{name: "brackets and quotes inside strings", in: `{"key":"k\"}","custom":{"x":"}\"{[","country":"gb"},"country":"us","y":"]"}`,
			want: `{"kind":"user","key":"k\"}","country":"us","x":"}\"{["}`},
		{name: "nested unknown property before the built-ins", in: `{"foo":{"country":"x","a":[{"}":"]"},[[]],{}]},"key":"k","custom":{"country":"gb"},"country":"us"}`,
			want: `{"kind":"user","key":"k","country":"us"}`},
		{name: "unknown properties of any type", in: `{"a":1,"b":true,"c":null,"d":-1.5e3,"e":[],"f":{},"key":"k"}`, want: `{"kind":"user","key":"k"}`},
		{name: "empty object", in: `{}`, errIs: ErrMissingKey},
	}
}

func TestOldUserOrder(t *testing.T) {
	for _, group := range []struct {
		name  string
		cases []oldUserCase
	}{{"collision", collisionCases()}, {"reserved", reservedCases()}, {"other", otherCases()}} {
		for _, tt := range group.cases {
			t.Run(group.name+"/"+tt.name, func(t *testing.T) {
				c, err := Parse([]byte(tt.in))
				c2, err2 := ParseOldUser([]byte(tt.in))
				if (err == nil) != (err2 == nil) || (err == nil && !c.Equal(c2)) {
					t.Errorf("ParseOldUser (%v) disagrees with Parse (%v)", err2, err)
				}
				if tt.want == "" {
					if !errors.Is(err, tt.errIs) || !strings.Contains(err.Error(), tt.errText) {
						t.Fatalf("error = %v, want %v mentioning %s", err, tt.errIs, tt.errText)
					}
					if c.Err() == nil {
						t.Error("the context of an error is valid")
					}
					return
				}
				if err != nil {
					t.Fatalf("Parse(%s): %v", tt.in, err)
				}
				out, err := c.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				if string(out) != tt.want {
					t.Errorf("Parse(%s) =\n%s\nwant\n%s", tt.in, out, tt.want)
				}
				checkRoundTrip(t, c)
			})
		}
	}
}

// TestFromValueOldUserOrder: a Value has no property order, so FromValue
// reads an old-format user in name order, as its JSON encoding has it:
// "custom" wins over "avatar" and "country", and loses to the others.
func TestFromValueOldUserOrder(t *testing.T) {
	for _, a := range oldUserStrings {
		doc := `{"key":"k","custom":{"` + a + `":"custom"},"` + a + `":"top"}`
		v, err := jsonvalue.Parse([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		c, err := FromValue(v)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		want := "top"
		if a < "custom" {
			want = "custom"
		}
		if got, _ := c.GetValue(a); got.Str() != want {
			t.Errorf("%s: FromValue gives %s, want %q", a, got, want)
		}
		if sorted, _ := Parse(v.JSON()); !sorted.Equal(c) {
			t.Errorf("%s: FromValue differs from Parse of the sorted encoding", a)
		}
	}
}
