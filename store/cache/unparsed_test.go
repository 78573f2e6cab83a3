package cache

import (
	"fmt"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// An item read unparsed (decoded once, its version and deletion taken from
// the decoded flag) gives the entry a parsed read gives (store.ItemFromStored,
// then decode), on flags the decoder accepts and refuses alike; the one
// documented difference is the version of a whole number written as a
// fraction or an exponent, which only the unparsed read can tell.
func TestDecodeUnparsedMatchesParsed(t *testing.T) {
	x := newCache(t, newRealStore(t), Options{})
	k := x.flags
	docs := map[string]bool{ // JSON -> its version differs (3.0, 1e2)
		`{"key":"f","version":3,"on":true,"variations":[true,false],"fallthrough":{"variation":0}}`: false,
		`{"key":"f","version":4,"deleted":true}`:                                                    false,
		`{"key":"f","version":4,"deleted":true,"on":"not a bool"}`:                                  false, // a tombstone, however wrong the rest
		`{"key":"f","version":4,"deleted":"yes"}`:                                                   false,
		`{"key":"f","version":4,"deleted":null}`:                                                    false,
		`{"key":"f","version":3,"deleted":true,"deleted":false}`:                                    false,
		`{"key":"f","version":3,"version":5}`:                                                       false,
		`{"key":"f","version":1.5}`:                                                                 false,
		`{"key":"f","version":"3"}`:                                                                 false,
		`{"key":"f","version":null}`:                                                                false,
		`{"key":"f"}`:                                                                               false,
		`{"key":"f","version":-2}`:                                                                  false,
		`{"key":"f","version":3,"on":"x"}`:                                                          false,
		`{"key":"f","version":3} trailing`:                                                          false,
		`{"version":`:                                                                               false,
		`not json`:                                                                                  false,
		``:                                                                                          false,
		`{"key":"f","version":99999999999999999999}`:                                                false,
		fmt.Sprintf(`{"key":"f","version":%d}`, int64(1)<<60):                                       false, // beyond float64's exact integers: parsed
		`{"key":"f","version":3.0}`:                                                                 true,
		`{"key":"f","version":1e2}`:                                                                 true,
	}
	for doc, versionDiffers := range docs {
		parsed, perr := k.decode(nil, store.ItemFromStored([]byte(doc)), 1, 0)
		ki := store.KeyedItem{Key: "f", Item: store.Item{Data: []byte(doc)}}
		got, gerr := k.decodeItem(nil, &ki, true, 1, 0)
		if (perr == nil) != (gerr == nil) || got.exists != parsed.exists || got.live != parsed.live ||
			got.hash != parsed.hash || (got.version != parsed.version) != versionDiffers {
			t.Errorf("%s: unparsed entry %+v (error %v); parsed %+v (error %v)", doc, got, gerr, parsed, perr)
			continue
		}
		if got.live && (got.val.Key != parsed.val.Key || got.val.Version != parsed.val.Version || got.val.On != parsed.val.On) {
			t.Errorf("%s: unparsed flag %+v; parsed %+v", doc, got.val, parsed.val)
		}
	}

	// Content unchanged since the entry a parsed read made: its value is
	// kept, not decoded again.
	doc := []byte(`{"key":"f","version":7,"on":true,"variations":[true],"fallthrough":{"variation":0}}`)
	old, err := k.decode(nil, store.ItemFromStored(doc), 1, 0)
	if err != nil || !old.live {
		t.Fatalf("decode: %+v, %v", old, err)
	}
	ki := store.KeyedItem{Key: "f", Item: store.Item{Data: doc}}
	if e, err := k.decodeItem(old, &ki, true, 2, 0); err != nil || e.val != old.val || e.version != 7 || e.seq != 2 || !sameAnswer(old, e) {
		t.Errorf("unchanged content read unparsed: %+v, %v; want old's value %p at version 7, seq 2", e, err, old.val)
	}
	changed := []byte(`{"key":"f","version":8,"on":false,"variations":[true],"fallthrough":{"variation":0}}`)
	ki = store.KeyedItem{Key: "f", Item: store.Item{Data: changed}}
	if e, err := k.decodeItem(old, &ki, true, 3, 0); err != nil || e.val == old.val || e.version != 8 || e.val.On || sameAnswer(old, e) {
		t.Errorf("changed content read unparsed: %+v, %v; want a new value at version 8", e, err)
	}
}
