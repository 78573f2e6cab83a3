package evalctx

import (
	"slices"
	"strings"

	"github.com/daemonflag/daemonflag/jsonvalue"
)

// attr is a custom attribute of a single context. A context keeps its
// attributes in a slice sorted by name rather than a map: a context has few
// of them, and a lookup then reads one array that holds names and values
// side by side, where a map's lookup reads its header, a group and the
// key's bytes in three places (the random mix of bench/ evaluates 1,000
// contexts, most of them out of the processor's caches).
type attr struct {
	name  string
	value jsonvalue.Value
}

// linearAttrs is the number of attributes up to which findAttr compares
// names one by one instead of searching by halves.
const linearAttrs = 8

// findAttr returns the value of the attribute named name in attrs (sorted
// by name).
func findAttr(attrs []attr, name string) (jsonvalue.Value, bool) {
	if len(attrs) <= linearAttrs {
		for i := range attrs {
			if attrs[i].name == name {
				return attrs[i].value, true
			}
		}
		return jsonvalue.Value{}, false
	}
	if i, ok := searchAttr(attrs, name); ok {
		return attrs[i].value, true
	}
	return jsonvalue.Value{}, false
}

// searchAttr returns where name is or would be inserted in attrs (sorted by
// name), and whether it is there.
func searchAttr(attrs []attr, name string) (int, bool) {
	return slices.BinarySearchFunc(attrs, name, func(a attr, name string) int { return strings.Compare(a.name, name) })
}

// setAttr sets attribute name to v in attrs (sorted by name, owned by the
// caller) and returns the updated slice; a null v removes it.
func setAttr(attrs []attr, name string, v jsonvalue.Value) []attr {
	i, found := searchAttr(attrs, name)
	switch {
	case found && v.IsNull():
		return slices.Delete(attrs, i, i+1)
	case found:
		attrs[i].value = v
		return attrs
	case v.IsNull():
		return attrs
	}
	return slices.Insert(attrs, i, attr{name: name, value: v})
}
