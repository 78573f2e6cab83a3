package evalctx

import (
	"encoding/binary"
	"slices"
	"strings"
	"unsafe"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// attr is a custom attribute of a single context. A context keeps its
// attributes in a slice sorted by name rather than a map: a context has few
// of them, and a lookup then reads one array that holds names and values
// side by side, where a map's lookup reads its header, a group and the
// key's bytes in three places (the random mix of bench/ evaluates 1,000
// contexts, most of them out of the processor's caches).
//
// head holds the name's first 8 bytes, so that a lookup rejects another
// name of the same length, and accepts a name of up to 8 bytes, without
// reading the name's bytes from wherever they were allocated.
type attr struct {
	head  uint64
	name  string
	value jsonvalue.Value
}

// nameHead returns the first 8 bytes of name as one word (zero-padded).
func nameHead(name string) uint64 {
	if len(name) >= 8 {
		return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(name), 8)) // one load on amd64 and arm64
	}
	var h uint64
	for i := len(name) - 1; i >= 0; i-- {
		h = h<<8 | uint64(name[i])
	}
	return h
}

// linearAttrs is the number of attributes up to which findAttr compares
// names one by one instead of searching by halves.
const linearAttrs = 8

// findAttr returns the value of the attribute named name in attrs (sorted
// by name).
func findAttr(attrs []attr, name string) (jsonvalue.Value, bool) {
	if len(attrs) <= linearAttrs {
		h := nameHead(name)
		for i := range attrs {
			if a := &attrs[i]; a.head == h && len(a.name) == len(name) && (len(name) <= 8 || a.name[8:] == name[8:]) {
				return a.value, true
			}
		}
		return jsonvalue.Value{}, false
	}
	if i, ok := searchAttr(attrs, name); ok {
		return attrs[i].value, true
	}
	return jsonvalue.Value{}, false
}

// searchAttr returns where name is in attrs (sorted by name), and whether
// it is there.
func searchAttr(attrs []attr, name string) (int, bool) {
	return slices.BinarySearchFunc(attrs, name, func(a attr, name string) int { return strings.Compare(a.name, name) })
}
