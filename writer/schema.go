package writer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// schema is the set of properties LaunchDarkly's flag and segment JSON may
// have at one place, with the schema of nested objects (for an array
// property, of its elements). Properties of LaunchDarkly's server-side
// schema, as model decodes it.
type schema map[string]*schema

// leaf is a property holding a value whose members are not checked.
var leaf *schema

var (
	clauseSchema   = &schema{"contextKind": leaf, "attribute": leaf, "op": leaf, "values": leaf, "negate": leaf}
	rolloutSchema  = &schema{"kind": leaf, "contextKind": leaf, "bucketBy": leaf, "seed": leaf, "variations": {"variation": leaf, "weight": leaf, "untracked": leaf}}
	targetSchema   = &schema{"contextKind": leaf, "variation": leaf, "values": leaf}
	flagSchemaRoot = &schema{
		"key": leaf, "version": leaf, "deleted": leaf, "on": leaf, "variations": leaf, "offVariation": leaf,
		"fallthrough":   {"variation": leaf, "rollout": rolloutSchema},
		"prerequisites": {"key": leaf, "variation": leaf},
		"targets":       targetSchema, "contextTargets": targetSchema,
		"rules": {"id": leaf, "variation": leaf, "rollout": rolloutSchema, "clauses": clauseSchema, "trackEvents": leaf},
		"salt":  leaf, "clientSide": leaf,
		"clientSideAvailability": {"usingMobileKey": leaf, "usingEnvironmentId": leaf},
		"trackEvents":            leaf, "trackEventsFallthrough": leaf, "debugEventsUntilDate": leaf,
		"excludeFromSummaries": leaf, "samplingRatio": leaf,
		"migration": {"checkRatio": leaf},
	}
	segmentTargetSchema = &schema{"contextKind": leaf, "values": leaf}
	segmentSchemaRoot   = &schema{
		"key": leaf, "version": leaf, "deleted": leaf, "included": leaf, "excluded": leaf,
		"includedContexts": segmentTargetSchema, "excludedContexts": segmentTargetSchema,
		"rules": {"id": leaf, "clauses": clauseSchema, "weight": leaf, "bucketBy": leaf, "rolloutContextKind": leaf},
		"salt":  leaf, "unbounded": leaf, "unboundedContextKind": leaf, "generation": leaf,
	}
)

// unknownProperties calls fn with the path ("rules[0].variaton") and a
// suggestion (a known property one or two edits away, or "") of every
// property of the item's JSON that LaunchDarkly's schema does not have.
// Such properties are kept when the item is written, but they are usually
// typing mistakes ("variation" for "variations") that leave a default in
// place of what was meant.
func unknownProperties(data []byte, root *schema, fn func(path, suggestion string)) {
	walkSchema(data, root, "", fn)
}

func walkSchema(data []byte, sc *schema, path string, fn func(path, suggestion string)) {
	if sc == nil || len(data) == 0 {
		return
	}
	switch data[0] {
	case '[':
		i := 0
		jsonElements(data, func(elem []byte) {
			walkSchema(elem, sc, path+"["+strconv.Itoa(i)+"]", fn)
			i++
		})
	case '{':
		jsonMembers(data, 0, func(name string, _ int, val []byte, _ int) {
			p := name
			if path != "" {
				p = path + "." + name
			}
			sub, ok := (*sc)[name]
			if !ok {
				// name shares data's memory (see jsonMembers).
				fn(strings.Clone(p), suggest(name, sc))
				return
			}
			walkSchema(val, sub, p, fn)
		})
	}
}

// suggest returns the known property of sc closest to name when it is at
// most two edits away (and name is not much shorter), else "".
func suggest(name string, sc *schema) string {
	best, bestD := "", 3
	keys := make([]string, 0, len(*sc))
	for k := range *sc {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if d := editDistance(name, k); d < bestD && d < len(k)/2+1 {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// unknownPropertyMessage is the warning for one unknown property.
func unknownPropertyMessage(path, suggestion string) string {
	if suggestion != "" {
		return fmt.Sprintf("%s: unknown property (did you mean %q?); it is kept but has no effect", path, suggestion)
	}
	return fmt.Sprintf("%s: unknown property; it is kept but has no effect", path)
}
