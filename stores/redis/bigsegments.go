package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// Membership reads the include and exclude sets of one context hash with two
// SMEMBERS in one pipeline: one round trip (on a Cluster with an unhashed
// prefix, one per node holding either set, in parallel).
//
// The pipeline is built without a callback, and the operation's name for
// errors only on an error: a lookup that misses the membership cache makes
// no allocation of its own beyond the two keys.
func (s *Store) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	if err := s.check(ctx); err != nil {
		return store.Membership{}, wrapErr(membershipOp(contextHash), err)
	}
	p := s.client.Pipeline()
	inc := p.SMembers(ctx, s.keys.include+contextHash)
	exc := p.SMembers(ctx, s.keys.exclude+contextHash)
	if _, err := p.Exec(ctx); err != nil {
		return store.Membership{}, wrapErr(membershipOp(contextHash), err)
	}
	return membership(inc.Val(), exc.Val()), nil
}

// membershipOp names a membership read in errors.
func membershipOp(contextHash string) string {
	return fmt.Sprintf("membership %q", contextHash)
}

// membership builds a Membership, nil for empty sets.
func membership(inc, exc []string) store.Membership {
	var m store.Membership
	if len(inc) > 0 {
		m.Included = inc
	}
	if len(exc) > 0 {
		m.Excluded = exc
	}
	return m
}

// SynchronizedOn reads "<prefix>:big_segments_synchronized_on" (GET), Unix
// milliseconds as a decimal string. ok is false when the key is absent.
func (s *Store) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(ctx); err != nil {
		return time.Time{}, false, wrapErr("get synchronized-on time", err)
	}
	v, err := s.client.Get(ctx, s.keys.syncedOn).Result()
	if err == goredis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrapErr("get synchronized-on time", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("redis get %s: %w: %q is not Unix milliseconds", s.keys.syncedOn, store.ErrMalformedItem, v)
	}
	return time.UnixMilli(ms), true, nil
}

// SetSynchronizedOn writes t as Unix milliseconds (SET, no expiry).
func (s *Store) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("set synchronized-on time", err)
	}
	ms := t.UnixMilli()
	if ms < 0 {
		return fmt.Errorf("redis set synchronized-on time: %v is before 1970", t)
	}
	return wrapErr("set synchronized-on time", s.client.Set(ctx, s.keys.syncedOn, strconv.FormatInt(ms, 10), 0).Err())
}

// ApplyMembership applies the changes with SADD and SREM, pipelined in
// batches of [Options.BatchSize] commands, in order. The changes are checked
// before anything is sent; a failure midway may leave earlier batches
// applied, and since SADD and SREM are idempotent, running the same changes
// again completes them.
func (s *Store) ApplyMembership(ctx context.Context, changes []store.MembershipChange) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("apply membership", err)
	}
	for i, c := range changes {
		if c.ContextHash == "" || c.SegmentRef == "" {
			return fmt.Errorf("redis apply membership: change %d has an empty context hash or segment reference", i)
		}
	}
	for start := 0; start < len(changes); start += s.batch {
		batch := changes[start:min(start+s.batch, len(changes))]
		_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, c := range batch {
				key := s.keys.include + c.ContextHash
				if c.Excluded {
					key = s.keys.exclude + c.ContextHash
				}
				if c.Remove {
					p.SRem(ctx, key, c.SegmentRef)
				} else {
					p.SAdd(ctx, key, c.SegmentRef)
				}
			}
			return nil
		})
		if err != nil {
			return wrapErr(fmt.Sprintf("apply membership (changes %d-%d of %d; the earlier ones are applied)",
				start+1, start+len(batch), len(changes)), err)
		}
	}
	return nil
}

// scanCount is the COUNT hint of each SCAN call.
const scanCount = 1000

// ScanMembership calls fn for every context hash with a stored include or
// exclude set, finding them with SCAN over the dataset's
// "big_segment_include:" and "big_segment_exclude:" keys (on every master of
// a Cluster). Like SCAN, it sees every membership that exists for the whole
// scan once; one written or removed meanwhile may or may not be seen.
func (s *Store) ScanMembership(ctx context.Context, fn func(contextHash string, m store.Membership) error) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("scan membership", err)
	}
	nodes, err := s.scanNodes(ctx)
	if err != nil {
		return wrapErr("scan membership", err)
	}
	// Hashes with an include set first; then hashes with only an exclude
	// set (those with an include set were reported in the first pass).
	for _, pass := range []struct {
		keyPrefix string
		include   bool
	}{{s.keys.include, true}, {s.keys.exclude, false}} {
		pattern := globEscape(pass.keyPrefix) + "*"
		for _, node := range nodes {
			var cursor uint64
			for {
				found, next, err := node.Scan(ctx, cursor, pattern, scanCount).Result()
				if err != nil {
					return wrapErr("scan membership", err)
				}
				hashes := make([]string, 0, len(found))
				for _, k := range found {
					hashes = append(hashes, k[len(pass.keyPrefix):])
				}
				if err := s.reportMemberships(ctx, hashes, pass.include, fn); err != nil {
					if fe, ok := err.(fnError); ok {
						return fe.err
					}
					return err
				}
				if next == 0 {
					break
				}
				cursor = next
			}
		}
	}
	return nil
}

// fnError marks an error returned by the caller's function, to return it
// unchanged.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// reportMemberships reads the memberships of hashes in one pipeline and
// passes them to fn. In the exclude pass, hashes that have an include set
// are skipped.
func (s *Store) reportMemberships(ctx context.Context, hashes []string, includePass bool,
	fn func(string, store.Membership) error) error {
	if len(hashes) == 0 {
		return nil
	}
	incs := make([]*goredis.StringSliceCmd, len(hashes))
	excs := make([]*goredis.StringSliceCmd, len(hashes))
	hasInc := make([]*goredis.IntCmd, len(hashes))
	_, err := s.client.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, h := range hashes {
			if includePass {
				incs[i] = p.SMembers(ctx, s.keys.include+h)
			} else {
				hasInc[i] = p.Exists(ctx, s.keys.include+h)
			}
			excs[i] = p.SMembers(ctx, s.keys.exclude+h)
		}
		return nil
	})
	if err != nil {
		return wrapErr("scan membership", err)
	}
	for i, h := range hashes {
		var inc []string
		if includePass {
			inc = incs[i].Val()
		} else if hasInc[i].Val() > 0 {
			continue
		}
		m := membership(inc, excs[i].Val())
		if m.Included == nil && m.Excluded == nil {
			continue // removed since SCAN saw it
		}
		if err := fn(h, m); err != nil {
			return fnError{err}
		}
	}
	return nil
}

// scanNodes returns the servers to SCAN: every master of a Cluster, every
// shard of a Ring, or the client itself.
func (s *Store) scanNodes(ctx context.Context) ([]goredis.Cmdable, error) {
	var (
		mu    sync.Mutex
		nodes []goredis.Cmdable
	)
	collect := func(_ context.Context, c *goredis.Client) error {
		mu.Lock()
		nodes = append(nodes, c)
		mu.Unlock()
		return nil
	}
	switch c := s.client.(type) {
	case *goredis.ClusterClient:
		if err := c.ForEachMaster(ctx, collect); err != nil {
			return nil, err
		}
	case *goredis.Ring:
		if err := c.ForEachShard(ctx, collect); err != nil {
			return nil, err
		}
	default:
		nodes = append(nodes, s.client)
	}
	if len(nodes) == 0 {
		return nil, errors.New("no server to scan")
	}
	return nodes, nil
}
