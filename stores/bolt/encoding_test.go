package bolt

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

func TestValueRoundTrip(t *testing.T) {
	for _, it := range []store.Item{
		{Version: 0, Data: nil},
		{Version: 1, Data: []byte(`{"key":"a","version":1}`)},
		{Version: -5, Deleted: true, Data: []byte(`{"deleted":true}`)},
		{Version: math.MaxInt64, Data: []byte("ü")},
		{Version: math.MinInt64, Deleted: true},
	} {
		got, err := decodeValue(encodeValue(it))
		if err != nil {
			t.Fatalf("%+v: %v", it, err)
		}
		if got.Version != it.Version || got.Deleted != it.Deleted || !bytes.Equal(got.Data, it.Data) {
			t.Errorf("round trip of %+v gave %+v", it, got)
		}
	}
	for _, bad := range [][]byte{nil, {1}, {2, 0, 2}, {1, 2, 2}, {1, 0}, {1, 0, 0x80}} {
		if _, err := decodeValue(bad); !errors.Is(err, store.ErrMalformedItem) {
			t.Errorf("decodeValue(%v) = %v, want ErrMalformedItem", bad, err)
		}
	}
}

// FuzzDecodeValue: decoding arbitrary bytes never panics, and whatever
// decodes re-encodes to the same bytes.
func FuzzDecodeValue(f *testing.F) {
	f.Add(encodeValue(store.Item{Version: 3, Data: []byte(`{"version":3}`)}))
	f.Add(encodeValue(store.Item{Version: -1, Deleted: true}))
	f.Add([]byte{1, 1, 0x81, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		it, err := decodeValue(b)
		if err != nil {
			if !errors.Is(err, store.ErrMalformedItem) {
				t.Fatalf("error %v does not wrap ErrMalformedItem", err)
			}
			return
		}
		// Varints have several encodings of one number; compare values.
		again, err := decodeValue(encodeValue(it))
		if err != nil || again.Version != it.Version || again.Deleted != it.Deleted || !bytes.Equal(again.Data, it.Data) {
			t.Fatalf("re-encoding %+v gave %+v, %v", it, again, err)
		}
	})
}

// FuzzDecodeMembership: arbitrary bytes never panic; what decodes
// round-trips.
func FuzzDecodeMembership(f *testing.F) {
	f.Add(encodeMembership(store.Membership{Included: []string{"a.g1", "b.g2"}, Excluded: []string{"c.g1"}}))
	f.Add(encodeMembership(store.Membership{}))
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMembership(b)
		if err != nil {
			if !errors.Is(err, store.ErrMalformedItem) {
				t.Fatalf("error %v does not wrap ErrMalformedItem", err)
			}
			return
		}
		again, err := decodeMembership(encodeMembership(m))
		if err != nil || !slices.Equal(again.Included, m.Included) || !slices.Equal(again.Excluded, m.Excluded) {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, again, err)
		}
	})
}

// FuzzDecodeLogEntry: the change log of a damaged file never panics the
// writer.
func FuzzDecodeLogEntry(f *testing.F) {
	f.Add(encodeLogEntry(logEntry{id: []byte("0123456789abcdef"), changes: []change{{path: [][]byte{[]byte("p"), []byte("features")}, key: []byte("k")}}}))
	f.Add(encodeLogEntry(logEntry{id: []byte("x"), full: true}))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeLogEntry(b)
		if err != nil {
			return
		}
		again, err := decodeLogEntry(encodeLogEntry(e))
		if err != nil || !bytes.Equal(again.id, e.id) || again.full != e.full || len(again.changes) != len(e.changes) {
			t.Fatalf("re-encoding %+v gave %+v, %v", e, again, err)
		}
	})
}

func TestRefSets(t *testing.T) {
	var s []string
	for _, r := range []string{"b", "a", "c", "a"} {
		s = addRef(s, r)
	}
	if !slices.Equal(s, []string{"a", "b", "c"}) {
		t.Fatalf("addRef: %v", s)
	}
	s = removeRef(removeRef(s, "b"), "zz")
	if !slices.Equal(s, []string{"a", "c"}) {
		t.Fatalf("removeRef: %v", s)
	}
}
