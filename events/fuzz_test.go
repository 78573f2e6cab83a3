package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/evalctx"
)

// FuzzRedact writes arbitrary contexts with arbitrary private-attribute
// references and checks what LaunchDarkly's redaction promises: the output
// is a valid event context; kind and key survive; no redacted reference can
// be found in it; every listed reference was present in the input.
func FuzzRedact(f *testing.F) {
	f.Add(`{"kind":"user","key":"u","name":"n","a":{"b":{"c":1},"d":2},"_meta":{"privateAttributes":["/a/b/c"]}}`, "name,/a/d", false, false)
	f.Add(`{"kind":"multi","user":{"key":"u","e":"x"},"org":{"key":"o","anonymous":true,"e":"y"}}`, "e", false, true)
	f.Add(`{"kind":"user","key":"u","/x~y":{"k":1}}`, "/~1x~0y/k,kind,key,anonymous", true, false)
	f.Add(`{"key":"old-user","custom":{"a":1},"privateAttributeNames":["a"]}`, "", false, false)
	f.Fuzz(func(t *testing.T, ctxJSON, refs string, all, anonymous bool) {
		ec, err := evalctx.Parse([]byte(ctxJSON))
		if err != nil {
			if ec, err = evalctx.ParseOldUser([]byte(ctxJSON)); err != nil {
				return
			}
		}
		if ec.Err() != nil {
			return
		}
		var global []evalctx.Ref
		for _, s := range strings.Split(refs, ",") {
			if r := evalctx.NewRef(s); r.Err() == nil {
				global = append(global, r)
			}
		}
		red := redactor{all: all, private: global}
		out := red.appendContext(nil, ec, anonymous)
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(out, &raw); err != nil {
			t.Fatalf("output is not a JSON object: %v\n%s", err, out)
		}
		got, err := evalctx.Parse(out)
		if errors.Is(err, evalctx.ErrEmptyKey) && ec.Key() == "" {
			// An old-format user may have an empty key; LaunchDarkly writes it
			// as {"kind":"user","key":"",...}, which the current context
			// format does not read back.
			if string(raw["kind"]) != `"user"` || string(raw["key"]) != `""` {
				t.Fatalf("an old user with an empty key written as %s", out)
			}
			return
		}
		if err != nil {
			t.Fatalf("output does not parse as a context: %v\n%s", err, out)
		}
		if got.Kind() != ec.Kind() || got.FullyQualifiedKey() != ec.FullyQualifiedKey() {
			t.Fatalf("kind or key changed: %s", out)
		}
		for i := range ec.IndividualContextCount() {
			in := ec.IndividualContextByIndex(i)
			oc, ok := got.IndividualContextByKind(in.Kind())
			if !ok {
				t.Fatalf("kind %q lost: %s", in.Kind(), out)
			}
			if oc.Anonymous() != in.Anonymous() {
				t.Fatalf("anonymous changed: %s", out)
			}
			refs := append(append([]evalctx.Ref(nil), global...), in.PrivateAttributes()...)
			for _, r := range refs {
				switch r.Component(0) {
				case "kind", "key", "anonymous":
					continue
				}
				if _, found := oc.GetValueForRef(r); found {
					t.Fatalf("private %q still present: %s", r.String(), out)
				}
			}
			if all || (anonymous && in.Anonymous()) {
				if len(oc.CustomAttributeNames()) != 0 {
					t.Fatalf("attributes left with all private: %s", out)
				}
				if _, ok := oc.Name(); ok {
					t.Fatalf("name left with all private: %s", out)
				}
			}
		}
	})
}

// FuzzSpoolName checks the spool's file-name decoder: no panic, and every
// name it accepts round-trips through the name the spool writes.
func FuzzSpoolName(f *testing.F) {
	f.Add("00000000000000000001-3-4-0c1d5e6f-1111-4222-8333-444455556666.json")
	f.Add("1-0-0-x.json")
	f.Add("-1--2-.json")
	f.Fuzz(func(t *testing.T, name string) {
		sf, ok := parseSpoolName(name)
		if !ok {
			return
		}
		if sf.events < 0 || sf.count < sf.events || len(sf.id) != 36 {
			t.Fatalf("accepted %q as %+v", name, sf)
		}
		again, ok := parseSpoolName(fmt.Sprintf("%020d-%d-%d-%s.json", sf.seq, sf.events, sf.count, sf.id))
		if !ok || again.seq != sf.seq || again.events != sf.events || again.count != sf.count || again.id != sf.id {
			t.Fatalf("%q does not round-trip: %+v vs %+v", name, sf, again)
		}
	})
}
