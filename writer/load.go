package writer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"go.yaml.in/yaml/v3"

	"github.com/daemonflag/daemonflag/internal/jsontok"
	"github.com/daemonflag/daemonflag/store"
)

// MaxFileSize is the largest flag data file LoadFile reads: 256 MiB.
const MaxFileSize = 256 << 20

// LoadFiles loads flag data files (see [Parse] for the formats) and merges
// them into one dataset. A key defined in two files, or twice in one, is an
// error naming both places. Every problem found in any file is reported in
// one *ValidationError. LoadFiles checks syntax and structure only; call
// [Validate] (or let [WriteDataset] do it) to check the items themselves.
func LoadFiles(paths ...string) (*Dataset, error) {
	if len(paths) == 0 {
		return nil, &ValidationError{Problems: []Problem{{Message: "no flag data files given"}}}
	}
	var ps problems
	sets := make([]*Dataset, 0, len(paths))
	seen := make(map[string]bool, len(paths))
	for _, p := range paths {
		if abs, err := filepath.Abs(p); err == nil {
			if seen[abs] {
				ps.errorf(Source{File: p}, "", "", "file given twice")
				continue
			}
			seen[abs] = true
		}
		d, err := LoadFile(p)
		var ve *ValidationError
		switch {
		case errors.As(err, &ve):
			ps.errs = append(ps.errs, ve.Problems...)
		case err != nil:
			ps.errorf(Source{File: p}, "", "", "%v", err)
		default:
			sets = append(sets, d)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return Merge(sets...)
}

// LoadFile loads one flag data file; see [Parse].
func LoadFile(path string) (*Dataset, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, &ValidationError{Problems: []Problem{{Source: Source{File: path}, Message: err.Error()}}}
	}
	return Parse(path, data)
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read: %w", unwrapPathError(err))
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("larger than %d MiB", MaxFileSize>>20)
	}
	return data, nil
}

// unwrapPathError drops the path an *fs.PathError repeats, since the
// message already names the file.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Parse parses the content of one flag data file in LaunchDarkly's format,
// JSON or YAML:
//
//	{"flags": {KEY: FLAG, ...}, "segments": {KEY: SEGMENT, ...}, "flagValues": {KEY: VALUE, ...}}
//
// A flagValues entry makes a flag that is on and always serves VALUE. An
// item's "key" property may be left out (the map key supplies it) but must
// otherwise equal the map key. An unknown top-level property is an error
// (a misspelt "flags" must not read as an empty dataset).
//
// name is used in messages and selects the format: a ".json" name is JSON,
// ".yaml" or ".yml" YAML; any other is JSON when its first non-blank
// character is '{', else YAML. Syntax errors give the line and column (YAML
// parsers report the line only). Errors are a *ValidationError.
func Parse(name string, data []byte) (*Dataset, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, &ValidationError{Problems: []Problem{{Source: Source{File: name}, Message: `file is empty (want an object with "flags", "segments" or "flagValues")`}}}
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".json":
		return parseJSON(name, data)
	case ".yaml", ".yml":
		return parseYAML(name, data)
	}
	if trimmed[0] == '{' {
		return parseJSON(name, data)
	}
	return parseYAML(name, data)
}

// The top-level properties of the flag data file format.
const (
	secFlags      = "flags"
	secSegments   = "segments"
	secFlagValues = "flagValues"
)

// fileLoader accumulates one file's items and problems.
type fileLoader struct {
	name string
	d    *Dataset
	ps   problems
}

func newFileLoader(name string) *fileLoader {
	return &fileLoader{name: name, d: NewDataset()}
}

// section checks a top-level property of a data file, found at src: it
// returns the kind of item the property holds, or false (with a problem
// recorded) for a repeated or unknown property. seen maps the properties
// seen so far to their lines.
func (l *fileLoader) section(seen map[string]int, prop string, src Source) (store.Kind, bool) {
	if prev, dup := seen[prop]; dup {
		l.ps.errorf(src, "", "", "property %q appears twice (first at line %d)", prop, prev)
		return "", false
	}
	seen[prop] = src.Line
	switch prop {
	case secFlags, secFlagValues:
		return store.Features, true
	case secSegments:
		return store.Segments, true
	}
	// An error, not a warning: a misspelt "flags" would otherwise make the
	// dataset empty, and writing it would delete every flag.
	l.ps.errorf(src, "", "", "unknown top-level property %q (known: flags, segments, flagValues)", prop)
	return "", false
}

func (l *fileLoader) result() (*Dataset, error) {
	if err := l.ps.err(); err != nil {
		return nil, err
	}
	l.d.Warnings = append(l.d.Warnings, l.ps.warns...)
	return l.d, nil
}

// add adds an item, unless its key is already defined in this file.
func (l *fileLoader) add(kind store.Kind, it *Item) {
	if !utf8.ValidString(it.Key) {
		// JSON decoders would turn the bytes into U+FFFD, so the stored item
		// could not be found under the key it is listed under.
		l.ps.errorf(it.Source, kind.Noun(), it.Key, "the key is not valid UTF-8")
		return
	}
	m := l.d.items(kind)
	if prev, ok := m[it.Key]; ok {
		l.ps.errorf(it.Source, kind.Noun(), it.Key, "defined twice: at %s and at %s", prev.Source, it.Source)
		return
	}
	m[it.Key] = it
}

// itemFromObject builds an item from the JSON object data listed under key,
// checking its "key" and "version" properties.
func (l *fileLoader) itemFromObject(kind store.Kind, key string, data []byte, src Source) (*Item, bool) {
	kn := kind.Noun()
	if len(data) == 0 || data[0] != '{' {
		l.ps.errorf(src, kn, key, "must be a JSON object, got %s", jsonKind(data))
		return nil, false
	}
	// The last of duplicate properties counts, as for JSON decoders.
	head := map[string][]byte{}
	jsonMembers(data, 0, func(name string, _ int, val []byte, _ int) {
		switch name { // constant keys: name shares data's memory
		case "key":
			head["key"] = val
		case "version":
			head["version"] = val
		}
	})
	it := &Item{Key: key, Data: data, Source: src}
	if raw, ok := head["key"]; ok && string(raw) == "null" {
		// "key": null (in YAML, "key:" with no value) stands for the map
		// key; it is replaced, since decoders keep the last duplicate.
		it.Data = setProperty(data, "key", jsonString(key))
		it.keyReplaced = true
	} else if ok {
		var k string
		if err := json.Unmarshal(raw, &k); err != nil {
			l.ps.errorf(src, kn, key, `"key" must be a string, got %s`, jsonKind(raw))
			return nil, false
		}
		if k != key {
			l.ps.errorf(src, kn, key, `its "key" property is %q, but it is listed under %q; they must be equal`, k, key)
			return nil, false
		}
	} else {
		it.Data = insertProperty(data, "key", jsonString(key))
	}
	if raw, ok := head["version"]; ok && string(raw) != "null" {
		v, err := parseVersion(raw)
		if err != nil {
			l.ps.errorf(src, kn, key, `"version": %v`, err)
			return nil, false
		}
		it.Version, it.HasVersion = v, true
	}
	return it, true
}

func parseVersion(raw []byte) (int, error) {
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || raw[0] == '"' {
		return 0, fmt.Errorf("must be a whole number, got %s", jsonKind(raw))
	}
	v, err := strconv.Atoi(n.String())
	if err != nil || v < 0 {
		return 0, fmt.Errorf("must be a whole number from 0 up, got %s", n)
	}
	return v, nil
}

// flagFromValue builds the flag a flagValues entry stands for: on, one
// variation, served to everyone.
func flagFromValue(key string, value []byte) []byte {
	var b bytes.Buffer
	b.WriteString(`{"key":`)
	b.Write(jsonString(key))
	b.WriteString(`,"on":true,"fallthrough":{"variation":0},"variations":[`)
	if err := json.Compact(&b, value); err != nil {
		b.Write(value)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// ---- JSON ----

func parseJSON(name string, data []byte) (*Dataset, error) {
	l := newFileLoader(name)
	idx := newLineIndex(data)
	at := func(off int) Source {
		line, col := idx.pos(off)
		return Source{File: name, Line: line, Column: col}
	}
	// One pass with the module's tokenizer: it checks the syntax while it
	// splits the file into items. A syntax error replaces whatever the pass
	// found before it.
	var sc jsontok.Scanner
	sc.Reset(string(data))
	syntaxError := func() (*Dataset, error) {
		problem, off, _ := sc.Err()
		if off >= len(data) {
			problem = "unexpected end of file (an unclosed object, array or string?)"
		}
		l = newFileLoader(name)
		l.ps.errorf(at(min(off, len(data))), "", "", "JSON syntax error: %s", problem)
		return l.result()
	}
	if start := sc.Next(); start != '{' {
		startOff := sc.Pos()
		sc.Skip()
		sc.End()
		if sc.Failed() {
			return syntaxError()
		}
		l.ps.errorf(at(startOff), "", "", `the top level must be an object with "flags", "segments" or "flagValues", got %s`, jsonKind(data[startOff:]))
		return l.result()
	}
	seen := map[string]int{}
	var top jsontok.ObjIter
	sc.Object(&top)
	for prop, ok := sc.Field(&top); ok; prop, ok = sc.Field(&top) {
		kind, known := l.section(seen, prop, at(top.NameOff))
		valOff := sc.Pos()
		if !known || sc.Next() == 'n' || sc.Next() != '{' {
			val := sc.Skip()
			if known && val != "null" && val != "" {
				l.ps.errorf(at(valOff), "", "", "%q must be an object of key: item, got %s", prop, jsonKind(data[valOff:]))
			}
			continue
		}
		var items jsontok.ObjIter
		sc.Object(&items)
		for key, ok := sc.Field(&items); ok; key, ok = sc.Field(&items) {
			src := at(items.NameOff)
			badKey := sc.Replaced()
			itemOff := sc.Pos()
			sc.Skip()
			if sc.Failed() {
				break
			}
			if badKey {
				// JSON decoders turn the bytes into U+FFFD, so the item
				// could not be found under the key it is listed under.
				l.ps.errorf(src, kind.Noun(), key, "the key is not valid UTF-8")
				continue
			}
			item := data[itemOff:sc.Pos()]
			if prop == secFlagValues {
				l.add(kind, &Item{Key: key, Data: flagFromValue(key, item), Source: src})
				continue
			}
			it, ok := l.itemFromObject(kind, key, item, src)
			if !ok {
				continue
			}
			if !it.keyReplaced {
				it.origin = &origin{name: name, idx: idx, start: itemOff, inserted: len(it.Data) - len(item)}
			}
			l.add(kind, it)
		}
	}
	sc.End()
	if sc.Failed() {
		return syntaxError()
	}
	return l.result()
}

// jsonMembers calls fn with each member of the JSON object obj: its name,
// the offset of the name, the raw value and its offset, offsets counted
// from base. It stops early, never panics, on anything but a valid object.
// The name may share obj's memory: fn must not keep it (strings.Clone it)
// and must not change obj.
func jsonMembers(obj []byte, base int, fn func(name string, nameOff int, val []byte, valOff int)) {
	var sc jsontok.Scanner
	sc.Reset(unsafe.String(unsafe.SliceData(obj), len(obj)))
	var it jsontok.ObjIter
	if sc.Next() != '{' || !sc.Object(&it) {
		return
	}
	for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
		valOff := sc.Pos()
		sc.Skip()
		if sc.Failed() {
			return
		}
		fn(name, base+it.NameOff, obj[valOff:sc.Pos()], base+valOff)
	}
}

// jsonElements calls fn with each element of the JSON array arr; it stops
// early, never panics, on anything but a valid array.
func jsonElements(arr []byte, fn func(elem []byte)) {
	var sc jsontok.Scanner
	sc.Reset(unsafe.String(unsafe.SliceData(arr), len(arr)))
	var it jsontok.ArrIter
	if sc.Next() != '[' || !sc.Array(&it) {
		return
	}
	for sc.Elem(&it) {
		off := sc.Pos()
		sc.Skip()
		if sc.Failed() {
			return
		}
		fn(arr[off:sc.Pos()])
	}
}

// jsonKind names the type of the JSON value that data begins with.
func jsonKind(data []byte) string {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return "nothing"
	}
	switch c := data[0]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	default:
		return "a number"
	}
}

// setProperty returns a copy of the JSON object obj with property name set
// to the JSON value val: replaced where obj has it, otherwise inserted
// first.
func setProperty(obj []byte, name string, val []byte) []byte {
	found, start, end := false, 0, 0
	jsonMembers(obj, 0, func(n string, _ int, v []byte, off int) {
		// With duplicate names, decoders keep the last.
		if n == name {
			found, start, end = true, off, off+len(v)
		}
	})
	if found {
		out := make([]byte, 0, len(obj)-(end-start)+len(val))
		out = append(out, obj[:start]...)
		out = append(out, val...)
		return append(out, obj[end:]...)
	}
	return insertProperty(obj, name, val)
}

// insertProperty returns a copy of the JSON object obj with property name
// inserted first, with the JSON value val.
func insertProperty(obj []byte, name string, val []byte) []byte {
	out := make([]byte, 0, len(obj)+len(name)+len(val)+4)
	open := bytes.IndexByte(obj, '{')
	out = append(out, obj[:open+1]...)
	out = append(out, jsonString(name)...)
	out = append(out, ':')
	out = append(out, val...)
	if rest := bytes.TrimSpace(obj[open+1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, obj[open+1:]...)
}

// lineIndex turns byte offsets of a file into lines and columns. It
// remembers the last position it computed, so that positions asked for in
// increasing order on one long line (a minified file) cost the distance
// between them, not the length of the line.
type lineIndex struct {
	data []byte
	nl   []int // offsets of the '\n' bytes

	mu                         sync.Mutex // guards the last position
	lastOff, lastLine, lastCol int
}

func newLineIndex(data []byte) *lineIndex {
	idx := &lineIndex{data: data, lastLine: 1, lastCol: 1}
	for i, c := range data {
		if c == '\n' {
			idx.nl = append(idx.nl, i)
		}
	}
	return idx
}

// pos returns the 1-based line and column (in characters) of offset off.
func (x *lineIndex) pos(off int) (line, col int) {
	off = min(max(off, 0), len(x.data))
	x.mu.Lock()
	defer x.mu.Unlock()
	n := sort.SearchInts(x.nl, off) // newlines before off
	lineStart := 0
	if n > 0 {
		lineStart = x.nl[n-1] + 1
	}
	from, col := lineStart, 1
	if n+1 == x.lastLine && off >= x.lastOff && x.lastOff >= lineStart {
		from, col = x.lastOff, x.lastCol
	}
	col += utf8.RuneCount(x.data[from:off])
	x.lastOff, x.lastLine, x.lastCol = off, n+1, col
	return n + 1, col
}

// ---- YAML ----

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// yamlParserProblems are the problems the YAML parser (as opposed to its
// scanner) reports. For these the yaml package gives the line where the
// enclosing block or flow collection starts, counted from 0, not where the
// problem is.
var yamlParserProblems = []string{
	"did not find expected <document start>",
	"did not find expected node content",
	"did not find expected key",
	"did not find expected '-' indicator",
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
}

// maxYAMLSearchLines bounds the search for the line of a parser problem.
const maxYAMLSearchLines = 400

// yamlErrorLine returns the 1-based line of a YAML syntax error (0 when
// unknown) and its message without the "yaml: line N: " prefix.
//
// The yaml package reports parser problems at the start of the enclosing
// collection. The line of the problem itself is then found as the first
// line from there at which a prefix of the document fails with the same
// problem; a prefix cut inside a collection fails differently, so it is not
// mistaken for the problem.
func yamlErrorLine(data []byte, err error) (int, string) {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return 0, strings.TrimPrefix(msg, "yaml: ")
	}
	line, _ := strconv.Atoi(m[1])
	msg = msg[len(m[0]):]
	parser := false
	for _, p := range yamlParserProblems {
		if msg == p {
			parser = true
			break
		}
	}
	if !parser {
		return line, msg
	}
	start := line + 1 // the collection's first line, 1-based
	lines := bytes.SplitAfter(data, []byte("\n"))
	if start > len(lines) {
		return start, msg
	}
	prefix := bytes.Join(lines[:start-1], nil)
	for k := start; k <= len(lines) && k < start+maxYAMLSearchLines; k++ {
		prefix = append(prefix, lines[k-1]...)
		var n yaml.Node
		perr := yaml.Unmarshal(prefix, &n)
		if perr == nil {
			continue
		}
		if pm := yamlLine.FindStringSubmatch(perr.Error()); pm != nil && perr.Error()[len(pm[0]):] == msg {
			return k, msg
		}
	}
	return start, msg
}

func parseYAML(name string, data []byte) (*Dataset, error) {
	l := newFileLoader(name)
	at := func(n *yaml.Node) Source { return Source{File: name, Line: n.Line, Column: n.Column} }
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		src := Source{File: name}
		var msg string
		src.Line, msg = yamlErrorLine(data, err)
		if errors.Is(err, io.EOF) {
			msg = `no YAML document (want a mapping with "flags", "segments" or "flagValues")`
		}
		l.ps.errorf(src, "", "", "YAML syntax error: %s", msg)
		return l.result()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		src := Source{File: name}
		if err == nil {
			src = at(&extra)
		}
		l.ps.errorf(src, "", "", "more than one YAML document (a flag data file holds one)")
		return l.result()
	}
	root := resolveAlias(&doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolveAlias(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		l.ps.errorf(at(root), "", "", `the top level must be a mapping with "flags", "segments" or "flagValues", got %s`, yamlKind(root))
		return l.result()
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		kn, vn := root.Content[i], resolveAlias(root.Content[i+1])
		prop := kn.Value
		kind, ok := l.section(seen, prop, at(kn))
		if !ok {
			continue
		}
		if vn.Kind == yaml.ScalarNode && vn.ShortTag() == "!!null" {
			continue
		}
		if vn.Kind != yaml.MappingNode {
			l.ps.errorf(at(vn), "", "", "%q must be a mapping of key: item, got %s", prop, yamlKind(vn))
			continue
		}
		for j := 0; j+1 < len(vn.Content); j += 2 {
			ikn, ivn := vn.Content[j], vn.Content[j+1]
			key, src := ikn.Value, at(ikn)
			if ikn.Kind != yaml.ScalarNode {
				l.ps.errorf(src, "", "", "a key in %q must be a string, got %s", prop, yamlKind(ikn))
				continue
			}
			val, err := yamlToJSON(ivn)
			if err != nil {
				l.ps.errorf(at(ivn), kind.Noun(), key, "%v", err)
				continue
			}
			if prop == secFlagValues {
				l.add(kind, &Item{Key: key, Data: flagFromValue(key, val), Source: src})
				continue
			}
			if it, ok := l.itemFromObject(kind, key, val, src); ok {
				l.add(kind, it)
			}
		}
	}
	return l.result()
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func yamlKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return "a string"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return "a scalar"
	}
	return "nothing"
}

// yamlToJSON converts a YAML node to JSON. Anchors, aliases and merge keys
// ("<<") work as usual; scalars keep YAML's types (null, booleans, numbers,
// strings), except that timestamps stay the strings they were written as,
// since flag data has no date type.
func yamlToJSON(n *yaml.Node) ([]byte, error) {
	budget := maxYAMLNodes
	v, err := yamlValue(n, 0, &budget)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// Limits on what one YAML item may expand to, against alias bombs.
const (
	maxYAMLNodes = 1 << 20
	maxYAMLDepth = 1000
)

func yamlValue(n *yaml.Node, depth int, budget *int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("expands to too many values (aliases?)")
	}
	if depth > maxYAMLDepth {
		return nil, errors.New("nested too deeply")
	}
	at := func(format string, args ...any) error {
		return fmt.Errorf("line %d column %d: %s", n.Line, n.Column, fmt.Sprintf(format, args...))
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, at("empty document")
		}
		return yamlValue(n.Content[0], depth+1, budget)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, at("unknown alias %q", n.Value)
		}
		return yamlValue(n.Alias, depth+1, budget)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		var merged []map[string]any
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, vn := n.Content[i], n.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
				ms, err := yamlMerge(vn, depth+1, budget)
				if err != nil {
					return nil, err
				}
				merged = append(merged, ms...)
				continue
			}
			key, err := yamlValue(k, depth+1, budget)
			if err != nil {
				return nil, err
			}
			switch key.(type) {
			case map[string]any, []any:
				return nil, at("a mapping key must be a scalar, got %s", yamlKind(resolveAlias(k)))
			}
			v, err := yamlValue(vn, depth+1, budget)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(key)] = v
		}
		// Explicit keys win over merged ones; earlier merges over later.
		for _, m := range merged {
			for k, v := range m {
				if _, ok := out[k]; !ok {
					out[k] = v
				}
			}
		}
		return out, nil
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err != nil {
				return nil, at("%v", err)
			}
			return b, nil
		case "!!int":
			var v any
			if err := n.Decode(&v); err != nil {
				return nil, at("%v", err)
			}
			return v, nil
		case "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				return nil, at("%v", err)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s is not a JSON number", n.Value)
			}
			return f, nil
		}
		return n.Value, nil
	}
	return nil, at("unexpected YAML node")
}

// yamlMerge returns the mappings a merge key ("<<") brings in: one mapping
// or a sequence of them.
func yamlMerge(n *yaml.Node, depth int, budget *int) ([]map[string]any, error) {
	n = resolveAlias(n)
	var nodes []*yaml.Node
	switch n.Kind {
	case yaml.MappingNode:
		nodes = []*yaml.Node{n}
	case yaml.SequenceNode:
		nodes = n.Content
	default:
		return nil, fmt.Errorf("line %d column %d: a merge (<<) needs a mapping or a list of mappings", n.Line, n.Column)
	}
	var out []map[string]any
	for _, c := range nodes {
		v, err := yamlValue(c, depth+1, budget)
		if err != nil {
			return nil, err
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("line %d column %d: a merge (<<) needs a mapping or a list of mappings", c.Line, c.Column)
		}
		out = append(out, m)
	}
	return out, nil
}
