package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/daemonflag/daemonflag/internal/jsontok"
)

// ParseVersion reads the "version" and "deleted" fields of an item's JSON,
// the only parts of LaunchDarkly's flag and segment schema a backend needs.
// It returns an error wrapping [ErrMalformedItem] when data is not a valid
// JSON object, when "version" is present but not a whole number, or when
// "deleted" is present but neither a boolean nor null. A missing version is
// 0; a missing deleted is false.
//
// It scans the top level of the object without decoding the rest (nested
// values are only checked for validity), and does not allocate on success.
func ParseVersion(data []byte) (version int, deleted bool, err error) {
	version, deleted, err = parseHead(data)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrMalformedItem, err)
	}
	return version, deleted, nil
}

// ItemFromJSON builds an Item from an item's JSON, taking its version and
// deleted flag from the JSON itself.
func ItemFromJSON(data []byte) (Item, error) {
	v, del, err := ParseVersion(data)
	if err != nil {
		return Item{}, err
	}
	return Item{Version: v, Deleted: del, Data: data}, nil
}

// Tombstone returns the Item that marks key as deleted at version, serialized
// as LaunchDarkly's SDKs and Relay Proxy serialize deleted items.
func Tombstone(key string, version int) Item {
	k, _ := json.Marshal(key)
	data := fmt.Appendf(nil, `{"key":%s,"version":%d,"deleted":true}`, k, version)
	return Item{Version: version, Deleted: true, Data: data}
}

var (
	errNotObject   = errors.New("item is not a JSON object")
	errVersionType = errors.New(`"version" is not a whole number`)
	errDeletedType = errors.New(`"deleted" is not a boolean`)
)

// parseHead reads one JSON object with the module's tokenizer and returns
// the values of its top-level "version" and "deleted" members; nested
// values are only checked for validity. Like encoding/json, the last
// occurrence of a duplicated member wins.
func parseHead(data []byte) (version int, deleted bool, err error) {
	var sc jsontok.Scanner
	// A read-only view of data: nothing read from it outlives this call.
	sc.Reset(unsafe.String(unsafe.SliceData(data), len(data)))
	if sc.Next() != '{' {
		return 0, false, errNotObject
	}
	var it jsontok.ObjIter
	sc.Object(&it)
	var typeErr error
	for name, ok := sc.Field(&it); ok; name, ok = sc.Field(&it) {
		switch {
		case name == "version" && sc.Next() == 'n':
			sc.Literal("null")
			version = 0
		case name == "version" && (sc.Next() == '-' || sc.Next() >= '0' && sc.Next() <= '9'):
			text := sc.NumberText()
			v, err := strconv.Atoi(text)
			if err != nil && !sc.Failed() {
				// A fraction, an exponent (3.0, 1e2) or a number beyond
				// int: like encoding/json decoding into an int, this is
				// not a version.
				typeErr = errVersionType
			}
			version = v
		case name == "version":
			sc.Skip()
			typeErr = errVersionType
		case name == "deleted":
			switch sc.Next() {
			case 't', 'f', 'n':
				deleted = sc.Bool()
			default:
				sc.Skip()
				typeErr = errDeletedType
			}
		default:
			sc.Skip()
		}
	}
	sc.End()
	if problem, off, failed := sc.Err(); failed {
		return 0, false, fmt.Errorf("invalid JSON at offset %d: %s", off, problem)
	}
	if typeErr != nil {
		return 0, false, typeErr
	}
	return version, deleted, nil
}
