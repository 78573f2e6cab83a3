package writer

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/stores/bolt"
)

// The plan's order keeps every state between two upserts usable: new
// dependencies before the items that use them, removals of dependents
// before the removal of what they used.
func TestPlanOrdersByDependencies(t *testing.T) {
	ctx := context.Background()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "flags.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	before, err := Parse("before.json", []byte(`{
		"flags": {
			"a-gone": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0},
				"prerequisites": [{"key": "b-gone", "variation": 0}]},
			"b-gone": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0},
				"prerequisites": [{"key": "c-gone", "variation": 0}]},
			"c-gone": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0}}
		},
		"segments": {
			"a-seg-gone": {"rules": [{"clauses": [{"attribute": "", "op": "segmentMatch", "values": ["z-seg-gone"]}]}]},
			"z-seg-gone": {"included": ["u"]}
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := WriteDataset(ctx, s, before); err != nil {
		t.Fatal(err)
	}

	after, err := Parse("after.json", []byte(`{
		"flags": {
			"a": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0},
				"prerequisites": [{"key": "m", "variation": 0}]},
			"m": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0},
				"prerequisites": [{"key": "z", "variation": 0}]},
			"z": {"on": true, "variations": [true, false], "fallthrough": {"variation": 0},
				"rules": [{"variation": 0, "clauses": [{"attribute": "", "op": "segmentMatch", "values": ["a-seg"]}]}]}
		},
		"segments": {
			"a-seg": {"rules": [{"clauses": [{"attribute": "", "op": "segmentMatch", "values": ["b-seg"]}]}]},
			"b-seg": {"included": ["u"]}
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := validate(after)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := v.plan(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range plan {
		tag := string(p.kind) + "/" + p.key
		if p.action == actionTombstone {
			tag += " (delete)"
		}
		got = append(got, tag)
	}
	want := []string{
		"segments/b-seg", "segments/a-seg",
		"features/z", "features/m", "features/a",
		"features/a-gone (delete)", "features/b-gone (delete)", "features/c-gone (delete)",
		"segments/a-seg-gone (delete)", "segments/z-seg-gone (delete)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("plan order:\n got %q\nwant %q", got, want)
	}
}

func TestDependencyOrderCutsCycles(t *testing.T) {
	deps := map[string][]string{"a": {"b"}, "b": {"a"}, "c": {"a"}}
	got := dependencyOrder([]string{"a", "b", "c"}, func(k string) []string { return deps[k] })
	if len(got) != 3 {
		t.Fatalf("dependencyOrder with a cycle = %v", got)
	}
	if slices.Index(got, "c") < slices.Index(got, "a") {
		t.Fatalf("c depends on a but comes first: %v", got)
	}
}
