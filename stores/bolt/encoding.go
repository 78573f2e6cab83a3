package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/daemonflag/daemonflag/store"
)

// Value encoding of a flag or segment (see the package doc):
//
//	byte 0     encoding version, 1
//	byte 1     flags: bit 0 set = deleted (a tombstone); other bits zero
//	varint     the item's version (zig-zag, encoding/binary.AppendVarint)
//	rest       the item's JSON, exactly as given to Init or Upsert
const (
	valueFormat  = 1
	flagDeleted  = 1 << 0
	knownFlags   = flagDeleted
	membershipV1 = 1
)

// encodeValue encodes an item for storage.
func encodeValue(it store.Item) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64+len(it.Data))
	var flags byte
	if it.Deleted {
		flags |= flagDeleted
	}
	b = append(b, valueFormat, flags)
	b = binary.AppendVarint(b, int64(it.Version))
	return append(b, it.Data...)
}

// decodeValue decodes a stored item. The returned Data aliases v; callers
// inside a bbolt transaction must copy it.
func decodeValue(v []byte) (store.Item, error) {
	if len(v) < 2 {
		return store.Item{}, fmt.Errorf("%w: stored value of %d bytes is too short", store.ErrMalformedItem, len(v))
	}
	if v[0] != valueFormat {
		return store.Item{}, fmt.Errorf("%w: unknown value encoding %d", store.ErrMalformedItem, v[0])
	}
	if v[1]&^knownFlags != 0 {
		return store.Item{}, fmt.Errorf("%w: unknown value flags %#x", store.ErrMalformedItem, v[1])
	}
	ver, n := binary.Varint(v[2:])
	if n <= 0 {
		return store.Item{}, fmt.Errorf("%w: bad version encoding", store.ErrMalformedItem)
	}
	if int64(int(ver)) != ver {
		return store.Item{}, fmt.Errorf("%w: version %d out of range", store.ErrMalformedItem, ver)
	}
	return store.Item{Version: int(ver), Deleted: v[1]&flagDeleted != 0, Data: v[2+n:]}, nil
}

// decodeVersion reads only the version of a stored item.
func decodeVersion(v []byte) (int, error) {
	it, err := decodeValue(v)
	return it.Version, err
}

// Membership encoding:
//
//	byte 0     encoding version, 1
//	uvarint    number of included refs, then each as uvarint length + bytes
//	uvarint    number of excluded refs, then each as uvarint length + bytes
//
// Refs are stored sorted and without duplicates.
func encodeMembership(m store.Membership) []byte {
	b := []byte{membershipV1}
	for _, set := range [][]string{m.Included, m.Excluded} {
		b = binary.AppendUvarint(b, uint64(len(set)))
		for _, r := range set {
			b = binary.AppendUvarint(b, uint64(len(r)))
			b = append(b, r...)
		}
	}
	return b
}

var errBadMembership = errors.New("bad membership encoding")

func decodeMembership(v []byte) (store.Membership, error) {
	if len(v) == 0 || v[0] != membershipV1 {
		return store.Membership{}, fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
	}
	d := decoder{b: v[1:]}
	var m store.Membership
	m.Included = d.strings()
	m.Excluded = d.strings()
	if d.err != nil || len(d.b) != 0 {
		return store.Membership{}, fmt.Errorf("%w: %w", store.ErrMalformedItem, errBadMembership)
	}
	return m, nil
}

// addRef and removeRef keep a sorted set of refs.
func addRef(set []string, ref string) []string {
	i, found := slices.BinarySearch(set, ref)
	if found {
		return set
	}
	return slices.Insert(set, i, ref)
}

func removeRef(set []string, ref string) []string {
	i, found := slices.BinarySearch(set, ref)
	if !found {
		return set
	}
	return slices.Delete(set, i, i+1)
}

// decoder reads the length-prefixed encodings of this package; the first
// error sticks and later reads return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	x, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errors.New("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return x
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errors.New("length past end of value")
		return nil
	}
	s := d.b[:n:n]
	d.b = d.b[n:]
	return s
}

func (d *decoder) strings() []string {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	// Each string needs at least one byte, which bounds n by the input.
	if n > uint64(len(d.b)) {
		d.err = errors.New("count past end of value")
		return nil
	}
	out := make([]string, 0, n)
	for range n {
		s := d.bytes()
		if d.err != nil {
			return nil
		}
		out = append(out, string(s))
	}
	return out
}
