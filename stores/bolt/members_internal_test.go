package bolt

import (
	"bytes"
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

func TestMemberScratch(t *testing.T) {
	var sc memberScratch
	sc.applyChanges([]store.MembershipChange{
		{SegmentRef: "b"}, {SegmentRef: "a"}, {SegmentRef: "c", Excluded: true},
		{SegmentRef: "x", Remove: true}, {SegmentRef: "a", Remove: true}, {SegmentRef: "a"},
		{SegmentRef: "y", Excluded: true, Remove: true},
	})
	delta := sc.encode(nil, true)
	if delta[0] != membershipDelta {
		t.Fatalf("a delta with removals encodes as format %d", delta[0])
	}
	var got memberScratch
	if !got.apply(delta) {
		t.Fatal("apply of an encoded delta failed")
	}
	if !bytes.Equal(got.encode(nil, true), delta) {
		t.Errorf("delta does not round-trip")
	}
	// Applied to a state holding x, y and z, the delta removes x and y.
	var st memberScratch
	st.applyChanges([]store.MembershipChange{{SegmentRef: "x"}, {SegmentRef: "z"}, {SegmentRef: "y", Excluded: true}})
	if !st.apply(delta) {
		t.Fatal("apply failed")
	}
	m := st.membership()
	if !slices.Equal(m.Included, []string{"a", "b", "z"}) || !slices.Equal(m.Excluded, []string{"c"}) {
		t.Errorf("state after the delta: %+v", m)
	}
	// A state encodes as format 1, the encoding of encodeMembership.
	if s := st.encode(nil, false); !bytes.Equal(s, encodeMembership(m)) {
		t.Errorf("state encoding %v, want %v", s, encodeMembership(m))
	}
	// Removing everything leaves an empty state but a non-empty delta.
	sc.reset()
	sc.applyChanges([]store.MembershipChange{{SegmentRef: "a"}, {SegmentRef: "a", Remove: true}})
	if !sc.empty(false) || sc.empty(true) {
		t.Errorf("empty(false)=%v empty(true)=%v, want true, false", sc.empty(false), sc.empty(true))
	}
}

func TestEntryIter(t *testing.T) {
	bw := &blockWriter{arena: &chunkArena{}}
	val := encodeMembership(store.Membership{Included: []string{"s.g1"}})
	for _, h := range []string{"a", "b", "c"} {
		bw.add([]byte(h), val)
	}
	bw.flush()
	if len(bw.out) != 1 || string(bw.out[0].key) != "c" {
		t.Fatalf("blocks %v", bw.out)
	}
	block := bw.out[0].val
	it := newEntryIter([]byte("c"), block)
	var hashes []string
	for h, v, ok := it.next(); ok; h, v, ok = it.next() {
		hashes = append(hashes, string(h))
		if !bytes.Equal(v, val) {
			t.Errorf("value of %s: %v", h, v)
		}
	}
	if it.err != nil || !slices.Equal(hashes, []string{"a", "b", "c"}) {
		t.Errorf("entries %v, %v", hashes, it.err)
	}
	// A block stored under a key that is not its last hash is damaged.
	it = newEntryIter([]byte("d"), block)
	for _, _, ok := it.next(); ok; _, _, ok = it.next() {
	}
	if it.err == nil {
		t.Error("no error for a block under the wrong key")
	}
	// A format "1" value is one membership under its own hash.
	it = newEntryIter([]byte("h"), val)
	if h, v, ok := it.next(); !ok || string(h) != "h" || !bytes.Equal(v, val) {
		t.Errorf("single membership: %q %v %v", h, v, ok)
	}
	if _, _, ok := it.next(); ok {
		t.Error("a single membership has two entries")
	}
	// Blocks are cut at blockTarget.
	bw = &blockWriter{arena: &chunkArena{}}
	for i := range 1000 {
		bw.add([]byte{byte(i >> 8), byte(i)}, val)
	}
	bw.flush()
	for _, b := range bw.out {
		if len(b.val) > blockTarget {
			t.Fatalf("block of %d bytes", len(b.val))
		}
	}
}

// FuzzMembershipValues: blocks and membership values from a damaged file
// never panic, and what decodes re-encodes to values that decode the same.
func FuzzMembershipValues(f *testing.F) {
	var sc memberScratch
	sc.applyChanges([]store.MembershipChange{{SegmentRef: "a"}, {SegmentRef: "b", Excluded: true, Remove: true}})
	delta := sc.encode(nil, true)
	bw := &blockWriter{arena: &chunkArena{}}
	bw.add([]byte("h1"), delta)
	bw.add([]byte("h2"), encodeMembership(store.Membership{Included: []string{"x"}}))
	bw.flush()
	f.Add([]byte("h2"), bw.out[0].val)
	f.Add([]byte("k"), delta)
	f.Add([]byte("k"), []byte{blockV2, 1, 'a', 200})
	f.Add([]byte(""), []byte{membershipDelta, 1, 1, 'a', 0, 0, 5})
	f.Fuzz(func(t *testing.T, key, v []byte) {
		it := newEntryIter(key, v)
		for n := 0; ; n++ {
			if n > len(v)+1 {
				t.Fatal("more entries than bytes")
			}
			_, val, ok := it.next()
			if !ok {
				break
			}
			var a memberScratch
			if !a.apply(val) {
				continue
			}
			var b memberScratch
			enc := a.encode(nil, true)
			if !b.apply(enc) || !bytes.Equal(b.encode(nil, true), enc) {
				t.Fatalf("re-encoding %v gave %v", val, b.encode(nil, true))
			}
		}
	})
}
