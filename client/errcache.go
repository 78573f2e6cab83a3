package client

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/daemonflag/daemonflag/evaluation"
)

// errCache keeps the *EvaluationError of each (flag key, error kind) pair
// without a cause, so that a variation call with an error reason (a flag
// not found, a malformed flag, a wrong type) makes no allocation when the
// same pair was seen before. Lookups read an immutable map through one
// atomic load; a new pair copies the map under a lock, which is amortized
// over the calls that keep finding it. At most maxEntries pairs are kept,
// so keys a program makes up (FLAG_NOT_FOUND for any string) cannot grow
// it without limit; later pairs get a new error each time.
type errCache struct {
	read atomic.Pointer[map[errKey]*EvaluationError] // never modified once stored
	mu   sync.Mutex
}

type errKey struct {
	key  string
	kind evaluation.ErrorKind
}

// errCacheMax bounds the pairs an errCache keeps.
const errCacheMax = 1000

// get returns the shared error for key and kind, making it if needed.
func (ec *errCache) get(key string, kind evaluation.ErrorKind) *EvaluationError {
	k := errKey{key, kind}
	if m := ec.read.Load(); m != nil {
		if e := (*m)[k]; e != nil {
			return e
		}
	}
	ec.mu.Lock()
	defer ec.mu.Unlock()
	var old map[errKey]*EvaluationError
	if m := ec.read.Load(); m != nil {
		old = *m
		if e := old[k]; e != nil {
			return e
		}
	}
	k.key = strings.Clone(key) // the caller's string may be a view of a larger one
	e := &EvaluationError{FlagKey: k.key, Kind: kind}
	if len(old) >= errCacheMax {
		return e
	}
	next := make(map[errKey]*EvaluationError, len(old)+1)
	for ok, ov := range old {
		next[ok] = ov
	}
	next[k] = e
	ec.read.Store(&next)
	return e
}

// evalError returns the error of a variation call for flag key with error
// kind and cause: shared (see errCache) when there is no cause.
func (c *Client) evalError(key string, kind evaluation.ErrorKind, cause error) error {
	if cause != nil {
		return evalError(key, kind, cause)
	}
	return c.errs.get(key, kind)
}

// logged remembers the flag versions logged as malformed (see
// Client.logMalformed); a lookup makes no allocation.
type logged struct {
	mu   sync.RWMutex
	seen map[malformedKey]struct{}
}

// first reports whether k is seen for the first time, and remembers it.
func (l *logged) first(k malformedKey) bool {
	l.mu.RLock()
	_, seen := l.seen[k]
	l.mu.RUnlock()
	if seen {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, seen := l.seen[k]; seen {
		return false
	}
	if l.seen == nil {
		l.seen = map[malformedKey]struct{}{}
	}
	l.seen[malformedKey{strings.Clone(k.key), k.version}] = struct{}{}
	return true
}
