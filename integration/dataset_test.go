package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The scenarios' flag data. Each generation g of the dataset is one flag
// data file, built so that an evaluation from a mix of two generations
// shows as a value no generation serves:
//
//	main      on; prerequisite pre-g<g> must serve true; a rule matching
//	          segment seg-g<g> serves "v<g>". Off variation (served when the
//	          prerequisite is missing or fails): "MIXED:prerequisite";
//	          fallthrough (served when the segment is missing): "MIXED:segment".
//	pre-g<g>  on, serves true.
//	color     serves "v<g>" to everyone (the plain value change).
//	seg-g<g>  every context whose key starts with "ctx-".
//
// Generation g+1 renames the prerequisite and the segment, so the files
// never hold a state in which main refers to a missing item: a client that
// combines main from one generation with the prerequisites or segments of
// another serves a MIXED value. The keys also sort so that the writer, which
// upserts in key order, writes main before its new prerequisite.
//
// A stable second file (static.yaml, never edited) holds a flagValues flag
// and checks that several files are merged.

// Flag keys of the scenario dataset.
const (
	flagMain   = "main"
	flagColor  = "color"
	flagStatic = "static"
)

// Contexts the clients evaluate (both are in every generation's segment).
var clientContexts = []string{"ctx-a", "ctx-b"}

func genValue(g int) string { return fmt.Sprintf("v%d", g) }

// generation returns dataset generation g in the flag data file format.
// extraFlags are added as they are.
func generation(g int, extraFlags map[string]any) map[string]any {
	return generationDeps(g, g, extraFlags)
}

// generationDeps is generation g with the prerequisite and segment of
// generation deps: with deps fixed, an edit changes values only, and every
// item keeps its key.
func generationDeps(g, deps int, extraFlags map[string]any) map[string]any {
	pre := fmt.Sprintf("pre-g%d", deps)
	seg := fmt.Sprintf("seg-g%d", deps)
	flags := map[string]any{
		flagMain: map[string]any{
			"key":           flagMain,
			"on":            true,
			"variations":    []any{"MIXED:prerequisite", "MIXED:segment", genValue(g)},
			"offVariation":  0,
			"fallthrough":   map[string]any{"variation": 1},
			"prerequisites": []any{map[string]any{"key": pre, "variation": 0}},
			"rules": []any{map[string]any{
				"id":        "in-" + seg,
				"variation": 2,
				"clauses": []any{map[string]any{
					"attribute": "key", "op": "segmentMatch", "values": []any{seg},
				}},
			}},
			"salt": "main",
		},
		pre: map[string]any{
			"key": pre, "on": true, "variations": []any{true, false},
			"offVariation": 1, "fallthrough": map[string]any{"variation": 0}, "salt": pre,
		},
		flagColor: map[string]any{
			"key": flagColor, "on": true, "variations": []any{"none", genValue(g)},
			"offVariation": 0, "fallthrough": map[string]any{"variation": 1}, "salt": flagColor,
		},
	}
	for k, v := range extraFlags {
		flags[k] = v
	}
	return map[string]any{
		"flags": flags,
		"segments": map[string]any{
			seg: map[string]any{
				"key": seg, "salt": seg,
				"rules": []any{map[string]any{
					"id": "prefix",
					"clauses": []any{map[string]any{
						"attribute": "key", "op": "startsWith", "values": []any{"ctx-"},
					}},
				}},
			},
		},
	}
}

// staticYAML is the file that is never edited.
const staticYAML = `# never edited by the tests
flagValues:
  static: "always"
`

// dataDir writes generation g and the static file into a new directory and
// returns the paths of the two files (flags.json first).
func dataDir(t testing.TB, g int, extraFlags map[string]any) []string {
	t.Helper()
	dir := t.TempDir()
	files := []string{filepath.Join(dir, "flags.json"), filepath.Join(dir, "static.yaml")}
	writeJSONFile(t, files[0], generation(g, extraFlags))
	writeFileAtomic(t, files[1], []byte(staticYAML))
	return files
}

// writeJSONFile writes v as JSON, replacing path in one rename.
func writeJSONFile(t testing.TB, path string, v any) {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFileAtomic(t, path, data)
}

// writeFileAtomic replaces path with data in one rename, as deployments
// and editors do, so a reader never sees half a file.
func writeFileAtomic(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// Expected observations.

// isGen reports whether o is what flag serves in generation g.
func isGen(flag string, g int) func(observation) bool { return isGenDeps(flag, g, g) }

// isGenDeps reports whether o is what flag serves in generationDeps(g, deps).
func isGenDeps(flag string, g, deps int) func(observation) bool {
	return func(o observation) bool {
		if o.Err != "" {
			return false
		}
		switch flag {
		case flagMain:
			return o.Value == `"`+genValue(g)+`"` && o.Variation == 2 &&
				o.Reason.Kind == "RULE_MATCH" && o.Reason.RuleID == fmt.Sprintf("in-seg-g%d", deps)
		case flagColor:
			return o.Value == `"`+genValue(g)+`"` && o.Variation == 1 && o.Reason.Kind == "FALLTHROUGH"
		case flagStatic:
			return o.Value == `"always"` && o.Variation == 0 && o.Reason.Kind == "FALLTHROUGH"
		}
		return false
	}
}

// isNotFound reports whether o is the default with FLAG_NOT_FOUND.
func isNotFound(o observation) bool {
	return o.Value == `"DEFAULT"` && o.Variation == -1 && o.Reason.Kind == "ERROR" && o.Reason.ErrorKind == "FLAG_NOT_FOUND"
}

// scenarioFlags are the flags the clients of most scenarios evaluate.
var scenarioFlags = []string{flagMain, flagColor, flagStatic}
