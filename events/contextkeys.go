package events

import "sync"

// contextKeys is the index-event dedup: an LRU set of fully-qualified
// context keys, as LaunchDarkly's SDKs keep (1,000 keys, reset every five
// minutes by default). It does not allocate for a key it holds.
type contextKeys struct {
	mu         sync.Mutex
	capacity   int
	nodes      map[string]*keyNode
	head, tail *keyNode // head: most recently used
}

type keyNode struct {
	key        string
	prev, next *keyNode
}

func newContextKeys(capacity int) *contextKeys {
	return &contextKeys{capacity: capacity, nodes: make(map[string]*keyNode, capacity)}
}

// add records key as used and reports whether it was already known.
func (c *contextKeys) add(key string) (known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.nodes[key]; ok {
		c.unlink(n)
		c.pushFront(n)
		return true
	}
	var n *keyNode
	if len(c.nodes) >= c.capacity && c.tail != nil {
		n = c.tail // reuse the evicted node
		c.unlink(n)
		delete(c.nodes, n.key)
		n.key = key
	} else {
		n = &keyNode{key: key}
	}
	c.nodes[key] = n
	c.pushFront(n)
	return false
}

// reset forgets every key.
func (c *contextKeys) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.nodes)
	c.head, c.tail = nil, nil
}

func (c *contextKeys) unlink(n *keyNode) {
	if n.prev != nil {
		n.prev.next = n.next
	} else {
		c.head = n.next
	}
	if n.next != nil {
		n.next.prev = n.prev
	} else {
		c.tail = n.prev
	}
	n.prev, n.next = nil, nil
}

func (c *contextKeys) pushFront(n *keyNode) {
	n.next = c.head
	if c.head != nil {
		c.head.prev = n
	}
	c.head = n
	if c.tail == nil {
		c.tail = n
	}
}
