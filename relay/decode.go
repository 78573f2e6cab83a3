package relay

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/daemonflag/daemonflag/internal/jsontok"
	"github.com/daemonflag/daemonflag/store"
)

// change is what one event or poll asks of the store: a whole dataset
// (all), or one item.
type change struct {
	all  []store.Collection
	kind store.Kind
	key  string
	item store.Item
	// skipped names the items of a dataset that were left out (an empty
	// key, which LaunchDarkly's service can send but no SDK can evaluate).
	skipped []string
}

// errIgnored marks an event the relay deliberately ignores (an unknown
// path); it is not malformed.
var errIgnored = errors.New("ignored")

// The decoders below take ownership of data: the items they return are
// slices of it (compacted in place), so the caller must not reuse it.

// parseAllData parses {"flags": {...}, "segments": {...}} (the dataset of a
// poll and of a "put") into collections, segments first, keys in order.
func parseAllData(data []byte) (change, error) {
	if !utf8.Valid(data) {
		return change{}, malformedf("the dataset is not valid UTF-8")
	}
	sc := newScanner(data)
	ch, err := readDataset(sc, data)
	if err == nil {
		sc.End()
		err = scanErr(sc)
	}
	if err != nil {
		return change{}, malformedf("the dataset: %v", err)
	}
	return ch, nil
}

// newScanner reads data with the module's tokenizer, through a read-only
// view: the decoders take offsets from it and slice data itself, and clone
// every string they keep (data is compacted in place afterwards).
func newScanner(data []byte) *jsontok.Scanner {
	sc := new(jsontok.Scanner)
	sc.Reset(unsafe.String(unsafe.SliceData(data), len(data)))
	return sc
}

// scanErr is the tokenizer's first error, if any.
func scanErr(sc *jsontok.Scanner) error {
	if problem, off, failed := sc.Err(); failed {
		return fmt.Errorf("invalid JSON at offset %d: %s", off, problem)
	}
	return nil
}

// rawValue reads any value and returns its bytes, a slice of data.
func rawValue(sc *jsontok.Scanner, data []byte) []byte {
	start := sc.Pos()
	sc.Skip()
	if sc.Failed() {
		return nil
	}
	return data[start:sc.Pos()]
}

// readDataset reads {"flags": {...}, "segments": {...}}; either may be absent
// or null (an empty collection); other members are ignored.
func readDataset(sc *jsontok.Scanner, data []byte) (change, error) {
	if sc.Next() != '{' {
		return change{}, errors.New("not a JSON object")
	}
	var ch change
	var flags, segs store.Collection
	flags.Kind, segs.Kind = store.Features, store.Segments
	var it jsontok.ObjIter
	sc.Object(&it)
	for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
		var c *store.Collection
		switch name {
		case "flags":
			c = &flags
		case "segments":
			c = &segs
		default:
			sc.Skip()
			continue
		}
		items, skipped, err := collection(sc, data, c.Kind)
		if err != nil {
			return change{}, err
		}
		c.Items = items
		for _, k := range skipped {
			ch.skipped = append(ch.skipped, c.Kind.Noun()+" "+strconv.Quote(k))
		}
	}
	if err := scanErr(sc); err != nil {
		return change{}, err
	}
	ch.all = []store.Collection{segs, flags}
	return ch, nil
}

// collection reads {"KEY": item, ...} (or null). Items with an empty key
// are skipped and named; a later duplicate key wins, as in encoding/json.
func collection(sc *jsontok.Scanner, data []byte, kind store.Kind) (items []store.KeyedItem, skipped []string, err error) {
	if sc.Null() {
		return nil, nil, nil
	}
	if sc.Next() != '{' {
		return nil, nil, fmt.Errorf("%q is not a JSON object", kind)
	}
	index := map[string]int{}
	var it jsontok.ObjIter
	sc.Object(&it)
	for key, ok := sc.Field(&it); ok; key, ok = sc.Field(&it) {
		key = strings.Clone(key)
		raw := rawValue(sc, data)
		if raw == nil {
			break
		}
		if key == "" {
			skipped = append(skipped, key)
			continue
		}
		item, err := itemFrom(kind, key, raw)
		if err != nil {
			return nil, nil, err
		}
		if i, dup := index[key]; dup {
			items[i].Item = item
			continue
		}
		index[key] = len(items)
		items = append(items, store.KeyedItem{Key: key, Item: item})
	}
	if err := scanErr(sc); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(items, func(a, b store.KeyedItem) int { return strings.Compare(a.Key, b.Key) })
	return items, skipped, nil
}

// itemFrom checks one flag or segment as the service sent it (valid JSON,
// so only its shape is checked: an object with a whole-number version) and
// compacts it in place.
func itemFrom(kind store.Kind, key string, raw []byte) (store.Item, error) {
	if len(raw) == 0 || raw[0] != '{' {
		return store.Item{}, fmt.Errorf("%s %q is not a JSON object", kind.Noun(), key)
	}
	n := compactInPlace(raw)
	raw = raw[:n:n] // stores that append to Data must not write over the next item
	it, err := store.ItemFromJSON(raw)
	if err != nil {
		return store.Item{}, fmt.Errorf("%s %q: %v", kind.Noun(), key, err)
	}
	return it, nil
}

// envelope is the top level of a "put", "patch" or "delete" event.
type envelope struct {
	path    *string
	data    []byte // the raw "data" value, or nil
	version []byte // the raw "version" value, or nil
	put     change // the decoded dataset, for a "put"
	hasPut  bool
}

// parseEnvelope scans an event's data. For a put, "data" is decoded as a
// dataset at once (so its items stay where they are).
func parseEnvelope(what string, data []byte, put bool) (envelope, error) {
	var env envelope
	if !utf8.Valid(data) {
		return env, malformedf("%s: not valid UTF-8", what)
	}
	sc := newScanner(data)
	if sc.Next() != '{' {
		return env, malformedf("%s: not a JSON object", what)
	}
	err := envelopeMembers(sc, data, put, &env)
	if err == nil {
		sc.End()
		err = scanErr(sc)
	}
	if err != nil {
		return env, malformedf("%s: %v", what, err)
	}
	return env, nil
}

// envelopeMembers reads the members of an event's top-level object into
// env.
func envelopeMembers(sc *jsontok.Scanner, data []byte, put bool, env *envelope) error {
	var it jsontok.ObjIter
	sc.Object(&it)
	for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
		switch name {
		case "path":
			switch {
			case sc.Null():
				env.path = nil
			case sc.Next() == '"':
				p := strings.Clone(sc.RawString())
				env.path = &p
			default:
				return errors.New(`"path" is not a string`)
			}
		case "data":
			if put && sc.Next() == '{' {
				ch, err := readDataset(sc, data)
				if err != nil {
					return err
				}
				env.put, env.hasPut, env.data = ch, true, nil
				continue
			}
			env.data = rawValue(sc, data)
			if put {
				env.hasPut = false
			}
		case "version":
			env.version = rawValue(sc, data)
		default:
			sc.Skip()
		}
	}
	return scanErr(sc)
}

// parsePut parses the data of a "put" event: {"path": "/", "data":
// {"flags": ..., "segments": ...}}, the path being optional.
func parsePut(data []byte) (change, error) {
	env, err := parseEnvelope("put", data, true)
	if err != nil {
		return change{}, err
	}
	if env.path != nil && *env.path != "/" && *env.path != "" {
		return change{}, fmt.Errorf("%w: put for path %q", errIgnored, *env.path)
	}
	if !env.hasPut {
		if len(env.data) == 0 || string(env.data) == "null" {
			return change{}, malformedf("put: no data")
		}
		return change{}, malformedf("put: the dataset is not a JSON object")
	}
	return env.put, nil
}

// parsePatch parses the data of a "patch" event: {"path": "/flags/KEY" or
// "/segments/KEY", "data": item}.
func parsePatch(data []byte) (change, error) {
	env, err := parseEnvelope("patch", data, false)
	if err != nil {
		return change{}, err
	}
	if env.path == nil {
		return change{}, malformedf("patch: no path")
	}
	kind, key, ok := parseItemPath(*env.path)
	if !ok {
		return change{}, fmt.Errorf("%w: patch for path %q", errIgnored, *env.path)
	}
	if len(env.data) == 0 || string(env.data) == "null" {
		return change{}, malformedf("patch %s: no data", *env.path)
	}
	it, err := itemFrom(kind, key, env.data)
	if err != nil {
		return change{}, malformedf("%v", err)
	}
	return change{kind: kind, key: key, item: it}, nil
}

// parseDelete parses the data of a "delete" event: {"path": ..., "version":
// N}.
func parseDelete(data []byte) (change, error) {
	env, err := parseEnvelope("delete", data, false)
	if err != nil {
		return change{}, err
	}
	if env.path == nil {
		return change{}, malformedf("delete: no path")
	}
	kind, key, ok := parseItemPath(*env.path)
	if !ok {
		return change{}, fmt.Errorf("%w: delete for path %q", errIgnored, *env.path)
	}
	if env.version == nil {
		return change{}, malformedf("delete %s: no version", *env.path)
	}
	v, err := strconv.Atoi(string(env.version))
	if err != nil {
		return change{}, malformedf("delete %s: version %s is not a whole number", *env.path, clip(env.version))
	}
	return change{kind: kind, key: key, item: store.Tombstone(key, v)}, nil
}

// clip shortens a value for an error message.
func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
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
