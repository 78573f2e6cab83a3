package bigsegments

import (
	"sync"
	"time"
)

// cacheEntry is one context key's cached membership. set is nil when the
// store holds no membership for the key; that answer is cached too.
type cacheEntry struct {
	key        string
	set        *memberSet
	expires    time.Time
	prev, next *cacheEntry
}

// lruCache maps context keys to memberships, holding at most max entries and
// dropping the least recently used one to make room. An entry older than its
// TTL is a miss. A hit does not allocate.
type lruCache struct {
	mu    sync.Mutex
	max   int
	items map[string]*cacheEntry
	// root is the sentinel of a circular list: root.next is the most
	// recently used entry, root.prev the least.
	root cacheEntry
}

func newLRUCache(max int) *lruCache {
	c := &lruCache{max: max, items: make(map[string]*cacheEntry, max)}
	c.root.next = &c.root
	c.root.prev = &c.root
	return c
}

// get returns the membership cached for key if it has not expired at now.
func (c *lruCache) get(key string, now time.Time) (set *memberSet, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.items[key]
	if e == nil || !now.Before(e.expires) {
		return nil, false
	}
	c.unlink(e)
	c.pushFront(e)
	return e.set, true
}

// put caches set for key until expires, evicting the least recently used
// entry when the cache is full.
func (c *lruCache) put(key string, set *memberSet, expires time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.items[key]; e != nil {
		e.set, e.expires = set, expires
		c.unlink(e)
		c.pushFront(e)
		return
	}
	var e *cacheEntry
	if len(c.items) >= c.max {
		// The least recently used entry makes room, and its struct is
		// reused: a full cache allocates nothing per new key.
		e = c.root.prev
		c.unlink(e)
		delete(c.items, e.key)
		*e = cacheEntry{key: key, set: set, expires: expires}
	} else {
		e = &cacheEntry{key: key, set: set, expires: expires}
	}
	c.items[key] = e
	c.pushFront(e)
}

// len returns the number of entries, expired ones included.
func (c *lruCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func (c *lruCache) unlink(e *cacheEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (c *lruCache) pushFront(e *cacheEntry) {
	e.prev = &c.root
	e.next = c.root.next
	c.root.next.prev = e
	c.root.next = e
}
