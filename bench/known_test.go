package bench

import (
	"os"
	"testing"
)

// Known differences from LaunchDarkly, found by the differential test and
// kept out of its generator (see gen.collide). Each test skips while the
// difference exists, and fails when DAEMONFLAG_STRICT_COMPAT=1; once fixed it
// simply passes.

// TestOldUserAttributeCollision: a context in the old user format with a
// top-level built-in attribute ("country", "email", "firstName", ...) and a
// custom attribute of the same name. LaunchDarkly's Go SDK reads the JSON in
// order and the later property wins (encoding/json writes "custom" after
// "country" and "email", so there the custom value wins); evalctx always
// keeps the top-level one.
func TestOldUserAttributeCollision(t *testing.T) {
	flag := ruleFlag("collide", `{"attribute":"country","op":"in","values":["gb"]}`)
	s := newSides([][]byte{[]byte(flag)}, nil, nil)
	differ := 0
	for _, doc := range []string{
		`{"key":"u","country":"us","custom":{"country":"gb"}}`,
		`{"key":"u","custom":{"country":"gb"},"country":"us"}`,
	} {
		r := checkContext(s, "collide", []byte(doc))
		if r.kind != "" {
			differ++
			t.Logf("context %s: ours %s, LaunchDarkly %s", doc, mustJSON(r.ours), mustJSON(r.ld))
		}
	}
	if differ == 0 {
		return
	}
	if os.Getenv("DAEMONFLAG_STRICT_COMPAT") == "1" {
		t.Fatal("old-user contexts with a custom attribute named like a top-level one evaluate differently from LaunchDarkly")
	}
	t.Skip("known difference (evalctx old user format): LaunchDarkly lets the later of a top-level and a custom attribute of the same name win; set DAEMONFLAG_STRICT_COMPAT=1 to fail")
}
