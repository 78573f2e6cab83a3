package store_test

import (
	"errors"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

func TestItemFromStored(t *testing.T) {
	for _, tc := range []struct {
		data    string
		version int
		deleted bool
	}{
		{`{"key":"a","version":3}`, 3, false},
		{`{"key":"a","version":4,"deleted":true}`, 4, true},
		{`{"key":"a"}`, 0, false},
	} {
		it := store.ItemFromStored([]byte(tc.data))
		if it.Version != tc.version || it.Deleted != tc.deleted || string(it.Data) != tc.data {
			t.Errorf("ItemFromStored(%s) = %+v; want version %d, deleted %v, the data", tc.data, it, tc.version, tc.deleted)
		}
	}
	// Not an item's JSON: the malformed item of Reader.GetAll.
	for _, data := range []string{`{"version":`, `[1,2]`, `{"key":"x","version":1.5}`, `not json`, ``} {
		it := store.ItemFromStored([]byte(data))
		if it.Version != 0 || it.Deleted || string(it.Data) != data {
			t.Errorf("ItemFromStored(%q) = %+v; want Version 0 and the raw data", data, it)
		}
		if _, _, err := store.ParseVersion(it.Data); !errors.Is(err, store.ErrMalformedItem) {
			t.Errorf("ParseVersion(%q) = %v; want ErrMalformedItem", data, err)
		}
	}
}
