package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/daemonflag/daemonflag/store"
)

// Membership returns the segment references of the context whose key hashes
// to contextHash: one consistent GetItem of its membership item.
func (s *Store) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	if !storableKey(contextHash) {
		return store.Membership{}, s.checkOpen()
	}
	av, err := s.getItem(ctx, "get big-segment membership", s.namespace(bigSegUserNS), contextHash, attrIncluded, attrExcluded)
	if err != nil {
		return store.Membership{}, err
	}
	return membershipOf(av), nil
}

func membershipOf(av map[string]types.AttributeValue) store.Membership {
	var m store.Membership
	if ss, ok := av[attrIncluded].(*types.AttributeValueMemberSS); ok && len(ss.Value) > 0 {
		m.Included = ss.Value
	}
	if ss, ok := av[attrExcluded].(*types.AttributeValueMemberSS); ok && len(ss.Value) > 0 {
		m.Excluded = ss.Value
	}
	return m
}

// SynchronizedOn returns the time in the big-segment metadata item; ok is
// false when the item or its "synchronizedOn" attribute does not exist.
func (s *Store) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	ns := s.namespace(bigSegMetaNS)
	av, err := s.getItem(ctx, "get big-segment synchronizedOn", ns, ns, attrSyncOn)
	if err != nil {
		return time.Time{}, false, err
	}
	n, ok := av[attrSyncOn].(*types.AttributeValueMemberN)
	if !ok {
		return time.Time{}, false, nil
	}
	ms, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("dynamodb: big-segment %s %q is not whole milliseconds: %w", attrSyncOn, n.Value, store.ErrMalformedItem)
	}
	return time.UnixMilli(ms), true, nil
}

// SetSynchronizedOn sets the "synchronizedOn" attribute of the big-segment
// metadata item to t in Unix milliseconds.
func (s *Store) SetSynchronizedOn(ctx context.Context, t time.Time) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	ns := s.namespace(bigSegMetaNS)
	return s.withRetries(ctx, "set big-segment synchronizedOn", func(ctx context.Context) error {
		_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       s.keyOf(ns, ns),
			UpdateExpression:          aws.String("SET #t = :t"),
			ExpressionAttributeNames:  map[string]string{"#t": attrSyncOn},
			ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}},
		})
		return err
	})
}

// ApplyMembership applies membership changes with UpdateItem ADD and DELETE
// on the context's "included" and "excluded" string sets: one request per
// context hash (two when one set both gains and loses references), at most
// Options.WriteConcurrency in flight, throttled requests retried with
// backoff. When several changes name the same context, set and reference,
// the last one wins. Removing a reference the context does not have is a
// no-op and creates nothing; a membership item left with no references is
// deleted. The first failure is returned; other contexts' changes may have
// been applied by then, and applying the same changes again is safe.
func (s *Store) ApplyMembership(ctx context.Context, changes []store.MembershipChange) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	type sets struct{ inc, exc map[string]bool } // ref -> add (true) or remove (false)
	byHash := map[string]*sets{}
	var order []string
	for i, c := range changes {
		if !storableKey(c.ContextHash) || c.SegmentRef == "" {
			return fmt.Errorf("dynamodb: membership change %d: the context hash must be 1 to %d bytes and the segment reference not empty", i, maxSortKeyLen)
		}
		st := byHash[c.ContextHash]
		if st == nil {
			st = &sets{inc: map[string]bool{}, exc: map[string]bool{}}
			byHash[c.ContextHash] = st
			order = append(order, c.ContextHash)
		}
		if c.Excluded {
			st.exc[c.SegmentRef] = !c.Remove
		} else {
			st.inc[c.SegmentRef] = !c.Remove
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.writeConcurrency())
	var stopped error
	for _, hash := range order {
		if stopped = gctx.Err(); stopped != nil {
			break // a context failed, or the caller gave up: start no more
		}
		st := byHash[hash]
		g.Go(func() error {
			return s.applyOne(gctx, hash, split(st.inc), split(st.exc))
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return s.wrap("apply big-segment membership", stopped)
}

// refChanges is one set's net change: references to add and to remove.
type refChanges struct{ add, remove []string }

func split(m map[string]bool) refChanges {
	var rc refChanges
	for ref, add := range m {
		if add {
			rc.add = append(rc.add, ref)
		} else {
			rc.remove = append(rc.remove, ref)
		}
	}
	slices.Sort(rc.add)
	slices.Sort(rc.remove)
	return rc
}

// applyOne applies one context's changes: removals first (only if the item
// exists, deleting it when it ends up empty), then additions.
func (s *Store) applyOne(ctx context.Context, hash string, inc, exc refChanges) error {
	ns := s.namespace(bigSegUserNS)
	op := fmt.Sprintf("apply big-segment membership of %q", hash)
	if len(inc.remove) > 0 || len(exc.remove) > 0 {
		u := updateExpr{}
		u.action("DELETE", attrIncluded, inc.remove)
		u.action("DELETE", attrExcluded, exc.remove)
		var emptied bool
		err := s.withRetries(ctx, op, func(ctx context.Context) error {
			out, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
				TableName:                 aws.String(s.table),
				Key:                       s.keyOf(ns, hash),
				UpdateExpression:          aws.String(u.String()),
				ConditionExpression:       aws.String("attribute_exists(#ns)"),
				ExpressionAttributeNames:  u.withName("#ns", attrNamespace),
				ExpressionAttributeValues: u.values,
				ReturnValues:              types.ReturnValueAllNew,
			})
			if isConditionFailed(err) {
				return nil // no such item: nothing to remove
			}
			if err == nil {
				m := membershipOf(out.Attributes)
				emptied = len(m.Included) == 0 && len(m.Excluded) == 0
			}
			return err
		})
		if err != nil {
			return err
		}
		if emptied && len(inc.add) == 0 && len(exc.add) == 0 {
			return s.deleteIfEmpty(ctx, ns, hash)
		}
	}
	if len(inc.add) == 0 && len(exc.add) == 0 {
		return nil
	}
	u := updateExpr{}
	u.action("ADD", attrIncluded, inc.add)
	u.action("ADD", attrExcluded, exc.add)
	return s.withRetries(ctx, op, func(ctx context.Context) error {
		_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       s.keyOf(ns, hash),
			UpdateExpression:          aws.String(u.String()),
			ExpressionAttributeNames:  u.names,
			ExpressionAttributeValues: u.values,
		})
		return err
	})
}

// deleteIfEmpty deletes a membership item unless a concurrent writer has
// given it references again.
func (s *Store) deleteIfEmpty(ctx context.Context, ns, hash string) error {
	return s.withRetries(ctx, "delete empty big-segment membership", func(ctx context.Context) error {
		_, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
			TableName:                aws.String(s.table),
			Key:                      s.keyOf(ns, hash),
			ConditionExpression:      aws.String("attribute_not_exists(#i) AND attribute_not_exists(#e)"),
			ExpressionAttributeNames: map[string]string{"#i": attrIncluded, "#e": attrExcluded},
		})
		if isConditionFailed(err) {
			return nil
		}
		return err
	})
}

// updateExpr builds an update expression of ADD or DELETE actions on string
// sets.
type updateExpr struct {
	clauses map[string][]string // "ADD"/"DELETE" -> "#a :a" actions
	verbs   []string
	names   map[string]string
	values  map[string]types.AttributeValue
}

func (u *updateExpr) action(verb, attr string, refs []string) {
	if len(refs) == 0 {
		return
	}
	if u.clauses == nil {
		u.clauses = map[string][]string{}
		u.names = map[string]string{}
		u.values = map[string]types.AttributeValue{}
	}
	n := "#" + attr
	v := ":" + attr
	u.names[n] = attr
	u.values[v] = &types.AttributeValueMemberSS{Value: refs}
	if _, ok := u.clauses[verb]; !ok {
		u.verbs = append(u.verbs, verb)
	}
	u.clauses[verb] = append(u.clauses[verb], n+" "+v)
}

func (u *updateExpr) String() string {
	s := ""
	for _, verb := range u.verbs {
		if s != "" {
			s += " "
		}
		s += verb + " "
		for i, a := range u.clauses[verb] {
			if i > 0 {
				s += ", "
			}
			s += a
		}
	}
	return s
}

func (u *updateExpr) withName(k, v string) map[string]string {
	m := make(map[string]string, len(u.names)+1)
	for a, b := range u.names {
		m[a] = b
	}
	m[k] = v
	return m
}

// withRetries runs one request, bounded by Options.OperationTimeout, and
// runs it again after a backoff while DynamoDB throttles it, up to
// Options.MaxAttempts times.
func (s *Store) withRetries(ctx context.Context, op string, fn func(context.Context) error) error {
	attempts := s.opts.maxAttempts()
	for attempt := 1; ; attempt++ {
		if err := s.checkOpen(); err != nil {
			return err
		}
		rctx, cancel := s.opCtx(ctx)
		err := fn(rctx)
		cancel()
		if err == nil {
			return nil
		}
		if !isThrottle(err) || attempt >= attempts {
			if attempt > 1 {
				op = fmt.Sprintf("%s (after %d attempts)", op, attempt)
			}
			return s.wrap(op, err)
		}
		if serr := sleep(ctx, s.backoff(attempt)); serr != nil {
			return s.wrap(op, errors.Join(serr, err))
		}
	}
}

// ScanMembership calls fn for every context with a stored membership in the
// store's prefix: a consistent, paginated Query of the "big_segments_user"
// namespace (one partition, so no table scan).
func (s *Store) ScanMembership(ctx context.Context, fn func(contextHash string, m store.Membership) error) error {
	return s.queryNamespace(ctx, "scan big-segment memberships", s.namespace(bigSegUserNS),
		[]string{attrKey, attrIncluded, attrExcluded},
		func(av map[string]types.AttributeValue) error {
			k, ok := av[attrKey].(*types.AttributeValueMemberS)
			if !ok {
				return nil
			}
			m := membershipOf(av)
			if len(m.Included) == 0 && len(m.Excluded) == 0 {
				return nil
			}
			return fn(k.Value, m)
		})
}
