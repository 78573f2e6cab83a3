package store

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// ParseVersion reads the "version" and "deleted" fields of an item's JSON,
// the only parts of LaunchDarkly's flag and segment schema a backend needs.
// It returns an error wrapping [ErrMalformedItem] when data is not a JSON
// object or its version is not a whole number.
func ParseVersion(data []byte) (version int, deleted bool, err error) {
	var head struct {
		Version *json.Number `json:"version"`
		Deleted bool         `json:"deleted"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrMalformedItem, err)
	}
	if head.Version == nil {
		return 0, head.Deleted, nil
	}
	v, err := strconv.Atoi(head.Version.String())
	if err != nil {
		return 0, false, fmt.Errorf("%w: version %s is not a whole number", ErrMalformedItem, head.Version.String())
	}
	return v, head.Deleted, nil
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
