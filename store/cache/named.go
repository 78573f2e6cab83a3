package cache

import "sync"

// namedRefs is the set of items that some decoded item of the cache names
// (a prerequisite, a segment in a segmentMatch clause). The removal of an
// item no cached item names needs no scan for dependents (see
// beforeRemoving), which keeps a miss on a key the store lacks O(1) rather
// than a walk over every cached item. Names are added when an item is
// decoded, before it can be installed, and never removed: the set
// over-approximates what the cached items name, so a removal is scanned
// for whenever a dependent may exist. It grows with the distinct names in
// the data only.
type namedRefs struct {
	mu sync.RWMutex
	m  map[ref]struct{}
}

// add records the items in deps as named.
func (n *namedRefs) add(deps []ref) {
	if len(deps) == 0 {
		return
	}
	n.mu.RLock()
	missing := false
	for _, d := range deps {
		if _, ok := n.m[d]; !ok {
			missing = true
			break
		}
	}
	n.mu.RUnlock()
	if !missing {
		return
	}
	n.mu.Lock()
	if n.m == nil {
		n.m = make(map[ref]struct{}, len(deps))
	}
	for _, d := range deps {
		n.m[d] = struct{}{}
	}
	n.mu.Unlock()
}

// has reports whether some item decoded by the cache named r.
func (n *namedRefs) has(r ref) bool {
	n.mu.RLock()
	_, ok := n.m[r]
	n.mu.RUnlock()
	return ok
}
