package relay

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/daemonflag/daemonflag/store"
)

// change is what one event or poll asks of the store: a whole dataset
// (all), or one item.
type change struct {
	all  []store.Collection
	kind store.Kind
	key  string
	item store.Item
}

// errIgnored marks an event the relay deliberately ignores (an unknown
// path); it is not malformed.
var errIgnored = errors.New("ignored")

// allData is the dataset of a "put" event and of a poll.
type allData struct {
	Flags    map[string]json.RawMessage `json:"flags"`
	Segments map[string]json.RawMessage `json:"segments"`
}

// parseAllData parses {"flags": {...}, "segments": {...}} into collections,
// segments first, keys in order.
func parseAllData(data []byte) ([]store.Collection, error) {
	if !isObjectJSON(data) {
		return nil, malformedf("the dataset is not a JSON object")
	}
	var all allData
	if err := json.Unmarshal(data, &all); err != nil {
		return nil, malformedf("the dataset: %v", err)
	}
	segs, err := collection(store.Segments, all.Segments)
	if err != nil {
		return nil, err
	}
	flags, err := collection(store.Features, all.Flags)
	if err != nil {
		return nil, err
	}
	return []store.Collection{segs, flags}, nil
}

func collection(kind store.Kind, m map[string]json.RawMessage) (store.Collection, error) {
	c := store.Collection{Kind: kind, Items: make([]store.KeyedItem, 0, len(m))}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		it, err := item(kind, k, m[k])
		if err != nil {
			return c, err
		}
		c.Items = append(c.Items, store.KeyedItem{Key: k, Item: it})
	}
	return c, nil
}

// item checks one flag or segment as the service sent it: a JSON
// object with a whole-number version. It is stored compacted.
func item(kind store.Kind, key string, raw []byte) (store.Item, error) {
	if key == "" {
		return store.Item{}, malformedf("a %s with an empty key", kind.Noun())
	}
	if !isObjectJSON(raw) {
		return store.Item{}, malformedf("%s %q is not a JSON object", kind.Noun(), key)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return store.Item{}, malformedf("%s %q: %v", kind.Noun(), key, err)
	}
	it, err := store.ItemFromJSON(b.Bytes())
	if err != nil {
		return store.Item{}, malformedf("%s %q: %v", kind.Noun(), key, err)
	}
	var head struct {
		Version json.RawMessage `json:"version"`
	}
	if json.Unmarshal(b.Bytes(), &head) == nil && len(head.Version) > 0 && head.Version[0] == '"' {
		return store.Item{}, malformedf("%s %q: version %s is a string, not a number", kind.Noun(), key, head.Version)
	}
	return it, nil
}

// isObjectJSON reports whether data, less surrounding white space, starts
// like a JSON object (json.Unmarshal checks the rest).
func isObjectJSON(data []byte) bool {
	data = bytes.TrimLeft(data, " \t\r\n")
	return len(data) > 0 && data[0] == '{'
}

// parsePut parses the data of a "put" event: {"path": "/", "data":
// {"flags": ..., "segments": ...}}, the path being optional.
func parsePut(data []byte) (change, error) {
	var put struct {
		Path *string         `json:"path"`
		Data json.RawMessage `json:"data"`
	}
	if !isObjectJSON(data) {
		return change{}, malformedf("put: not a JSON object")
	}
	if err := json.Unmarshal(data, &put); err != nil {
		return change{}, malformedf("put: %v", err)
	}
	if put.Path != nil && *put.Path != "/" && *put.Path != "" {
		return change{}, fmt.Errorf("%w: put for path %q", errIgnored, *put.Path)
	}
	if len(put.Data) == 0 || string(put.Data) == "null" {
		return change{}, malformedf("put: no data")
	}
	all, err := parseAllData(put.Data)
	if err != nil {
		return change{}, err
	}
	return change{all: all}, nil
}

// parsePatch parses the data of a "patch" event: {"path": "/flags/KEY" or
// "/segments/KEY", "data": item}.
func parsePatch(data []byte) (change, error) {
	var patch struct {
		Path *string         `json:"path"`
		Data json.RawMessage `json:"data"`
	}
	if !isObjectJSON(data) {
		return change{}, malformedf("patch: not a JSON object")
	}
	if err := json.Unmarshal(data, &patch); err != nil {
		return change{}, malformedf("patch: %v", err)
	}
	if patch.Path == nil {
		return change{}, malformedf("patch: no path")
	}
	kind, key, ok := parseItemPath(*patch.Path)
	if !ok {
		return change{}, fmt.Errorf("%w: patch for path %q", errIgnored, *patch.Path)
	}
	if len(patch.Data) == 0 || string(patch.Data) == "null" {
		return change{}, malformedf("patch %s: no data", *patch.Path)
	}
	it, err := item(kind, key, patch.Data)
	if err != nil {
		return change{}, err
	}
	return change{kind: kind, key: key, item: it}, nil
}

// parseDelete parses the data of a "delete" event: {"path": ..., "version":
// N}.
func parseDelete(data []byte) (change, error) {
	var del struct {
		Path    *string      `json:"path"`
		Version *json.Number `json:"version"`
	}
	if !isObjectJSON(data) {
		return change{}, malformedf("delete: not a JSON object")
	}
	if err := json.Unmarshal(data, &del); err != nil {
		return change{}, malformedf("delete: %v", err)
	}
	if del.Path == nil {
		return change{}, malformedf("delete: no path")
	}
	kind, key, ok := parseItemPath(*del.Path)
	if !ok {
		return change{}, fmt.Errorf("%w: delete for path %q", errIgnored, *del.Path)
	}
	if del.Version == nil {
		return change{}, malformedf("delete %s: no version", *del.Path)
	}
	v, err := strconv.Atoi(del.Version.String())
	if err != nil {
		return change{}, malformedf("delete %s: version %s is not a whole number", *del.Path, del.Version.String())
	}
	return change{kind: kind, key: key, item: store.Tombstone(key, v)}, nil
}

// parseItemPath splits "/flags/KEY" and "/segments/KEY". Keys are taken as
// they are (LaunchDarkly keys hold no slashes, and the key is the rest of
// the path either way).
func parseItemPath(p string) (store.Kind, string, bool) {
	if k, ok := strings.CutPrefix(p, "/flags/"); ok && k != "" {
		return store.Features, k, true
	}
	if k, ok := strings.CutPrefix(p, "/segments/"); ok && k != "" {
		return store.Segments, k, true
	}
	return "", "", false
}
