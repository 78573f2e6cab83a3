package relay

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

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
	s := &scanner{data: data}
	ch, err := s.dataset()
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return change{}, malformedf("the dataset: %v", err)
	}
	return ch, nil
}

// dataset scans {"flags": {...}, "segments": {...}}; either may be absent
// or null (an empty collection); other members are ignored.
func (s *scanner) dataset() (change, error) {
	if s.peek() != '{' {
		return change{}, errors.New("not a JSON object")
	}
	var ch change
	var flags, segs store.Collection
	flags.Kind, segs.Kind = store.Features, store.Segments
	err := s.object(func(name string) error {
		var c *store.Collection
		switch name {
		case "flags":
			c = &flags
		case "segments":
			c = &segs
		default:
			return s.skip(1)
		}
		items, skipped, err := s.collection(c.Kind)
		c.Items = items
		for _, k := range skipped {
			ch.skipped = append(ch.skipped, c.Kind.Noun()+" "+strconv.Quote(k))
		}
		return err
	})
	if err != nil {
		return change{}, err
	}
	ch.all = []store.Collection{segs, flags}
	return ch, nil
}

// collection scans {"KEY": item, ...} (or null). Items with an empty key
// are skipped and named; a later duplicate key wins, as in encoding/json.
func (s *scanner) collection(kind store.Kind) (items []store.KeyedItem, skipped []string, err error) {
	if s.peek() == 'n' {
		return nil, nil, s.literal("null")
	}
	if s.peek() != '{' {
		return nil, nil, fmt.Errorf("%q is not a JSON object", kind)
	}
	index := map[string]int{}
	err = s.object(func(key string) error {
		raw, err := s.value()
		if err != nil {
			return err
		}
		if key == "" {
			skipped = append(skipped, key)
			return nil
		}
		it, err := itemFrom(kind, key, raw)
		if err != nil {
			return err
		}
		if i, dup := index[key]; dup {
			items[i].Item = it
			return nil
		}
		index[key] = len(items)
		items = append(items, store.KeyedItem{Key: key, Item: it})
		return nil
	})
	if err != nil {
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
	s := &scanner{data: data}
	s.ws()
	if s.peek() != '{' {
		return env, malformedf("%s: not a JSON object", what)
	}
	err := s.object(func(name string) error {
		switch name {
		case "path":
			if s.peek() == 'n' {
				env.path = nil
				return s.literal("null")
			}
			if s.peek() != '"' {
				return errors.New(`"path" is not a string`)
			}
			p, err := s.str()
			env.path = &p
			return err
		case "data":
			if put && s.peek() == '{' {
				ch, err := s.dataset()
				env.put, env.hasPut, env.data = ch, err == nil, nil
				return err
			}
			v, err := s.value()
			env.data = v
			if put {
				env.hasPut = false
			}
			return err
		case "version":
			v, err := s.value()
			env.version = v
			return err
		}
		return s.skip(1)
	})
	if err == nil {
		err = s.end()
	}
	if err != nil {
		return env, malformedf("%s: %v", what, err)
	}
	return env, nil
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
