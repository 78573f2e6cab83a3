package redis

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

const maxUpsertBackoff = 100 * time.Millisecond

// Upsert writes item unless the stored item of that key has an equal or
// higher version. It WATCHes the collection's hash, reads the stored item's
// version (HGET) and writes in MULTI/EXEC, together with the write time
// ([Store.LastWrite]) and a change announcement (see [Store.Notify]); when
// another writer changed the hash meanwhile it tries again, up to
// [Options.UpsertAttempts] times with exponential backoff and jitter, and
// then fails with [ErrConflict]. A stored item whose JSON is malformed
// counts as older than any item.
func (s *Store) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	applied, err := s.upsert(ctx, kindKeyOp("upsert", kind, key), []store.ItemUpdate{{Kind: kind, Key: key, Item: item}})
	if err != nil {
		return false, err
	}
	return applied[0], nil
}

// UpsertBatch applies the updates as Upsert would, in one MULTI/EXEC: it
// WATCHes the collections involved, reads every stored version, and writes
// the newer items, the write time and one change announcement together, so
// a reader sees all of the batch or none of it. An update of a key that an
// earlier update of the batch wrote is compared with that one. Conflicts
// with other writers are retried as in Upsert. On a Redis Cluster with an
// unhashed prefix (see [Options.AllowUnhashedClusterPrefix]) each
// collection's updates are one transaction, in the order the collections
// first appear in updates, and the announcement follows them.
func (s *Store) UpsertBatch(ctx context.Context, updates []store.ItemUpdate) ([]bool, error) {
	if len(updates) == 0 {
		return []bool{}, s.check(ctx)
	}
	return s.upsert(ctx, fmt.Sprintf("upsert batch of %d", len(updates)), updates)
}

// pendingUpdate is an update ready to write.
type pendingUpdate struct {
	i    int // index in the caller's updates
	hkey string
	key  string
	data []byte
	ver  int
	kind store.Kind
}

func (s *Store) upsert(ctx context.Context, op string, updates []store.ItemUpdate) ([]bool, error) {
	if err := s.check(ctx); err != nil {
		return nil, wrapErr(op, err)
	}
	groups := map[string][]pendingUpdate{}
	var order []string
	for i, u := range updates {
		if u.Kind == "" {
			return nil, fmt.Errorf("redis %s: empty kind", op)
		}
		data, err := itemData(u.Key, u.Item)
		if err != nil {
			return nil, fmt.Errorf("redis %s: %s: %w", op, u.Kind, err)
		}
		hkey := s.keys.kind(u.Kind)
		g := hkey
		if s.atomicInit {
			g = "" // one slot: one transaction
		}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], pendingUpdate{i: i, hkey: hkey, key: u.Key, data: data, ver: u.Item.Version, kind: u.Kind})
	}
	applied := make([]bool, len(updates))
	var changes []store.Change
	for _, g := range order {
		ch, err := s.upsertTx(ctx, op, groups[g], applied, s.atomicInit)
		changes = append(changes, ch...)
		if err != nil {
			s.announced(ctx, changes, !s.atomicInit)
			return nil, err
		}
	}
	s.announced(ctx, changes, !s.atomicInit)
	return applied, nil
}

// upsertTx writes one group of updates whose keys share a slot in one
// WATCH/MULTI/EXEC, retrying on conflicts. With announce, the write time and
// the change message go in the same transaction.
func (s *Store) upsertTx(ctx context.Context, op string, ups []pendingUpdate, applied []bool, announce bool) ([]store.Change, error) {
	var hkeys []string
	for _, u := range ups {
		if !slices.Contains(hkeys, u.hkey) {
			hkeys = append(hkeys, u.hkey)
		}
	}
	backoff := time.Millisecond
	for attempt := 1; ; attempt++ {
		var changes []store.Change
		err := s.client.Watch(ctx, func(tx *goredis.Tx) error {
			changes = changes[:0]
			// HGETs (not HMGET, so a writer ACL of earlier versions still
			// works), pipelined: one round trip.
			gets := make([]*goredis.StringCmd, len(ups))
			if _, err := tx.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for j, u := range ups {
					gets[j] = p.HGet(ctx, u.hkey, u.key)
				}
				return nil
			}); err != nil && err != goredis.Nil {
				return err
			}
			stored := map[string]map[string]int{} // hkey -> key -> version; absent: none or malformed
			for _, h := range hkeys {
				stored[h] = map[string]int{}
			}
			for j, u := range ups {
				data, err := gets[j].Bytes()
				if err == goredis.Nil {
					continue
				}
				if err != nil {
					return err
				}
				if ver, _, perr := store.ParseVersion(data); perr == nil {
					stored[u.hkey][u.key] = ver
				}
			}
			var write []pendingUpdate
			for _, u := range ups {
				if cur, ok := stored[u.hkey][u.key]; ok && cur >= u.ver {
					continue
				}
				stored[u.hkey][u.key] = u.ver
				write = append(write, u)
				changes = append(changes, store.Change{Kind: u.kind, Key: u.key})
			}
			if len(write) == 0 {
				return nil
			}
			publish := announce && !s.publishOff.Load()
			cmds, err := tx.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				for _, u := range write {
					p.HSet(ctx, u.hkey, u.key, u.data)
				}
				if announce {
					s.queueAnnounce(ctx, p, changes, publish)
				}
				return nil
			})
			if publish && s.publishDenied(cmds, err) {
				return errRetryUnannounced
			}
			if err = txError(cmds, err); err != nil {
				return err
			}
			for _, u := range write {
				applied[u.i] = true
			}
			return nil
		}, hkeys...)
		if err == nil {
			return changes, nil
		}
		if errors.Is(err, errRetryUnannounced) {
			continue // at once: the conflict was ours
		}
		if !errors.Is(err, goredis.TxFailedErr) {
			return nil, wrapErr(op, err)
		}
		if attempt >= s.attempts {
			return nil, fmt.Errorf("redis %s: %w (%d attempts)", op, ErrConflict, attempt)
		}
		// Full jitter: concurrent writers that collided spread out.
		t := time.NewTimer(rand.N(backoff) + time.Microsecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, wrapErr(op, ctx.Err())
		case <-t.C:
		}
		backoff = min(2*backoff, maxUpsertBackoff)
	}
}

// errRetryUnannounced asks for a transaction to be sent again without its
// PUBLISH, which the server refused.
var errRetryUnannounced = errors.New("redis: retry without publishing")

// queueAnnounce queues, in a write's transaction, the write time, a new
// write mark (see [Store.WriteMark]) and (when publish is set) the change
// message.
func (s *Store) queueAnnounce(ctx context.Context, p goredis.Pipeliner, changes []store.Change, publish bool) {
	p.Set(ctx, s.keys.lastWrite, strconv.FormatInt(time.Now().UnixMilli(), 10), 0)
	p.Set(ctx, s.keys.writeMark, newWriteMark(), 0)
	if publish {
		s.publish(ctx, p, encodeChanges(s.token, changes))
	}
}

// publish sends a change message: SPUBLISH on a Redis Cluster, so the
// message stays in the dataset's slot, PUBLISH elsewhere.
func (s *Store) publish(ctx context.Context, c goredis.Cmdable, msg []byte) *goredis.IntCmd {
	if s.shardedPubSub {
		return c.SPublish(ctx, s.keys.changes, msg)
	}
	return c.Publish(ctx, s.keys.changes, msg)
}

// announced tells the store's own subscribers about changes written, and
// with separately set, also stamps the write time and publishes the message
// outside the write's transaction (best effort: notifications are hints).
func (s *Store) announced(ctx context.Context, changes []store.Change, separately bool) {
	if len(changes) == 0 {
		return
	}
	s.hub.Broadcast(changes)
	if !separately {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := s.client.Set(ctx, s.keys.lastWrite, strconv.FormatInt(time.Now().UnixMilli(), 10), 0).Err(); err != nil {
		s.log.Warn("redis store could not record the write time", "prefix", s.keys.prefix, "error", err)
	}
	// Before the message: a reader that missed it sees the mark move.
	if err := s.client.Set(ctx, s.keys.writeMark, newWriteMark(), 0).Err(); err != nil {
		s.log.Warn("redis store could not record the write mark", "prefix", s.keys.prefix, "error", err)
	}
	if s.publishOff.Load() {
		return
	}
	if err := s.publish(ctx, s.client, encodeChanges(s.token, changes)).Err(); err != nil {
		if isNoPerm(err) {
			s.denyPublish(err)
			return
		}
		s.log.Warn("redis store could not announce a change", "prefix", s.keys.prefix, "error", err)
	}
}

// publishDenied reports whether a transaction was aborted because the ACL
// user may not publish, and then stops publishing.
func (s *Store) publishDenied(cmds []goredis.Cmder, err error) bool {
	if err == nil {
		return false
	}
	for _, c := range cmds {
		if n := c.Name(); (n == "publish" || n == "spublish") && isNoPerm(c.Err()) && strings.Contains(c.Err().Error(), "'"+n+"'") {
			s.denyPublish(c.Err())
			return true
		}
	}
	return false
}

func isNoPerm(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOPERM")
}

// denyPublish turns change messages off for this store, logging why once.
func (s *Store) denyPublish(err error) {
	if s.publishOff.CompareAndSwap(false, true) {
		s.log.Warn("redis store may not publish change notifications, so readers will see changes only "+
			"when their cache TTL expires: grant the ACL user PUBLISH (SPUBLISH on a Cluster) on the channel",
			"prefix", s.keys.prefix, "channel", s.keys.changes, "error", err)
	}
}

// newWriteMark returns a new write mark: 64 random bits in hex, so no later
// write repeats it (see [Store.WriteMark]).
func newWriteMark() string {
	return strconv.FormatUint(rand.Uint64(), 16)
}
