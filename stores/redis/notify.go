package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/changefeed"
	"github.com/daemonflag/daemonflag/store"
)

var (
	_ store.Notifier        = (*Store)(nil)
	_ store.Batcher         = (*Store)(nil)
	_ store.WriteTimeReader = (*Store)(nil)
	_ store.WriteMarker     = (*Store)(nil)
)

// ErrNotifyOff is returned by Notify when [Options.Notify] is [NotifyOff].
var ErrNotifyOff = errors.New("redis store: change notification is off (Options.Notify)")

// Timing of a subscription: how long a silent subscription waits before it
// checks the connection with a PING (a hung server answers nothing), how
// long the server may take to confirm it, and the pauses between attempts
// to subscribe again. A Store copies them when it is made (tests shorten
// them).
var (
	subscriptionHealthEvery = 10 * time.Second
	subscribeTimeout        = DefaultDialTimeout + DefaultReadTimeout // until the server confirms
	resubscribeMin          = 50 * time.Millisecond
	resubscribeMax          = 5 * time.Second
)

// Notify delivers the changes of the dataset to fn until ctx is done or the
// store is closed (see [store.Notifier]).
//
// Writes made through this Store object reach fn at once, without a round
// trip. Writes of other processes reach it as Options.Notify says: by
// default through the change messages this package's writers publish in
// the same MULTI/EXEC as each write (PUBLISH on "<prefix>:$changes",
// SPUBLISH on a Cluster, so the channel stays in the dataset's slot); with
// [NotifyKeyspace] through the server's keyspace notifications of the
// dataset's keys, each delivered as store.ChangeAll. A subscription that
// drops (a restart, a failover, CLIENT KILL) is made again, with backoff,
// and followed by store.ChangeAll, since messages may have been lost.
//
// Notify returns once the subscription is confirmed by the server. It fails
// when the server cannot be reached, when keyspace notifications are asked
// for and the server has them off (the error says how to turn them on), and
// with [ErrNotifyOff].
func (s *Store) Notify(ctx context.Context, fn func([]store.Change)) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("notify", err)
	}
	if s.notify == NotifyOff {
		return ErrNotifyOff
	}
	// Each group is one subscription: its channels, and the key whose
	// node serves them (keyspace notifications are node-local, so on a
	// Cluster with an unhashed prefix each key's channel is on its own node).
	type group struct {
		key      string
		channels []string
	}
	var groups []group
	decode := s.decodeMessage
	if s.notify == NotifyKeyspace {
		if err := s.checkKeyspaceConfig(ctx); err != nil {
			return err
		}
		for _, k := range []string{s.keys.features, s.keys.segments, s.keys.inited} {
			ch := "__keyspace@" + strconv.Itoa(s.db) + "__:" + k
			if s.atomicInit && len(groups) > 0 {
				groups[0].channels = append(groups[0].channels, ch)
			} else {
				groups = append(groups, group{key: k, channels: []string{ch}})
			}
		}
		decode = func(*goredis.Message) []store.Change { return []store.Change{store.ChangeAll} }
	} else {
		groups = []group{{key: s.keys.changes, channels: []string{s.keys.changes}}}
	}
	sub := s.hub.Add(fn)
	if sub == nil {
		return wrapErr("notify", ErrClosed)
	}
	lctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.ctx, cancel) // Close ends it too
	var first error
	if len(groups) == 1 {
		// The usual case: the first subscription is made here, on the
		// caller's goroutine, rather than handed to the listener and
		// waited for (a goroutine switch fewer before Notify returns).
		g := groups[0]
		ps, err := s.subscribe(lctx, g.key, g.channels)
		if err == nil {
			go s.listen(lctx, sub, g.key, g.channels, decode, ps, nil)
		}
		first = err
	} else {
		ready := make(chan error, len(groups))
		for _, g := range groups {
			go s.listen(lctx, sub, g.key, g.channels, decode, nil, ready)
		}
		for range groups {
			if err := <-ready; err != nil && first == nil {
				first = err
			}
		}
	}
	go func() {
		<-lctx.Done()
		stop()
		sub.Stop()
	}()
	if first != nil {
		cancel()
		return first
	}
	return nil
}

// decodeMessage turns a change message into changes; one from this store
// object is skipped (its subscribers had it directly), one that cannot be
// read asks for a full re-check.
func (s *Store) decodeMessage(m *goredis.Message) []store.Change {
	writer, changes, err := decodeChanges([]byte(m.Payload))
	if err != nil {
		return []store.Change{store.ChangeAll}
	}
	if writer == s.token {
		return nil
	}
	return changes
}

// listen keeps one subscription to channels alive until ctx ends, sending
// what decode makes of each message to sub. ps is the first subscription,
// made by the caller; when it is nil, listen makes it and reports on ready
// whether it succeeded (if it did not, listen returns).
func (s *Store) listen(ctx context.Context, sub *changefeed.Sub, key string, channels []string, decode func(*goredis.Message) []store.Change, ps *goredis.PubSub, ready chan<- error) {
	first := ps == nil // ready still waits for the first attempt
	defer func() {
		if ps != nil {
			_ = ps.Close() // ctx ended before the first subscription was used
		}
		if first {
			// ctx ended before the first subscription was made (the store
			// or the subscriber closed at once): Notify must not wait for
			// it forever. ready has room for every group.
			ready <- wrapErr("notify", context.Cause(ctx))
		}
	}()
	pause := s.timing.resubscribeMin
	for ctx.Err() == nil {
		if ps == nil {
			var err error
			ps, err = s.subscribe(ctx, key, channels)
			if err != nil {
				if first {
					first = false
					ready <- err
					return
				}
				t := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-t.C:
				}
				pause = min(2*pause, s.timing.resubscribeMax)
				continue
			}
			pause = s.timing.resubscribeMin
			if first {
				first = false
				ready <- nil
			} else {
				s.log.Info("redis change notifications resumed; re-checking every item", "prefix", s.keys.prefix)
				sub.Send([]store.Change{store.ChangeAll})
			}
		}
		err := s.receive(ctx, ps, sub, decode)
		_ = ps.Close()
		ps = nil
		if ctx.Err() != nil || s.closed.Load() {
			return
		}
		s.log.Warn("redis change notifications interrupted; subscribing again", "prefix", s.keys.prefix, "error", err)
	}
}

// subscribe opens a subscription to channels, on a Cluster at the master
// of key's slot, and waits until the server has confirmed each.
func (s *Store) subscribe(ctx context.Context, key string, channels []string) (*goredis.PubSub, error) {
	var ps *goredis.PubSub
	cc, cluster := s.client.(*goredis.ClusterClient)
	switch {
	case cluster && s.notify == NotifyKeyspace:
		node, err := cc.MasterForKey(ctx, key)
		if err != nil {
			return nil, wrapErr("notify: finding the node of "+key, err)
		}
		ps = node.Subscribe(ctx, channels...)
	case s.shardedPubSub:
		ps = s.client.SSubscribe(ctx, channels...)
	default:
		ps = s.client.Subscribe(ctx, channels...)
	}
	cctx, cancel := context.WithTimeout(ctx, s.timing.subscribe)
	defer cancel()
	for n := 0; n < len(channels); {
		m, err := ps.Receive(cctx)
		if err != nil {
			_ = ps.Close()
			return nil, wrapErr("notify: subscribe to "+strings.Join(channels, " "), err)
		}
		if sub, ok := m.(*goredis.Subscription); ok && (sub.Kind == "subscribe" || sub.Kind == "ssubscribe") {
			n++
		}
	}
	return ps, nil
}

var errUnsubscribed = errors.New("the server ended the subscription")

// receive delivers messages until the subscription fails.
func (s *Store) receive(ctx context.Context, ps *goredis.PubSub, sub *changefeed.Sub, decode func(*goredis.Message) []store.Change) error {
	pinged := false
	for {
		m, err := ps.ReceiveTimeout(ctx, s.timing.health)
		if err != nil {
			var ne net.Error
			if ctx.Err() == nil && errors.As(err, &ne) && ne.Timeout() {
				if pinged {
					return fmt.Errorf("no answer to PING within %v", s.timing.health)
				}
				if err := ps.Ping(ctx); err != nil {
					return err
				}
				pinged = true
				continue
			}
			return err
		}
		pinged = false
		switch m := m.(type) {
		case *goredis.Message:
			if changes := decode(m); len(changes) > 0 {
				sub.Send(changes)
			}
		case *goredis.Subscription:
			// A Cluster moving the slot away sends SUNSUBSCRIBE.
			if m.Kind == "unsubscribe" || m.Kind == "sunsubscribe" {
				return errUnsubscribed
			}
		}
	}
}

// checkKeyspaceConfig refuses keyspace mode when the server that holds the
// dataset has keyspace notifications off. A server that does not let us read
// its configuration (a managed service, an ACL) is given the benefit of the
// doubt.
func (s *Store) checkKeyspaceConfig(ctx context.Context) error {
	var c goredis.Cmdable = s.client
	if cc, ok := s.client.(*goredis.ClusterClient); ok {
		node, err := cc.MasterForKey(ctx, s.keys.features)
		if err != nil {
			return wrapErr("notify: finding the dataset's node", err)
		}
		c = node
	}
	// On a Cluster with an unhashed prefix the other keys' nodes are
	// assumed to be configured alike.
	v, err := c.ConfigGet(ctx, "notify-keyspace-events").Result()
	if err != nil {
		var reply goredis.Error
		if errors.As(err, &reply) {
			return nil
		}
		return wrapErr("notify: CONFIG GET notify-keyspace-events", err)
	}
	flags := v["notify-keyspace-events"]
	if strings.Contains(flags, "K") && (strings.Contains(flags, "A") || strings.Contains(flags, "h") && strings.Contains(flags, "g")) {
		return nil
	}
	return fmt.Errorf("redis notify: ?notify=keyspace needs the server's keyspace notifications, which are off "+
		"(notify-keyspace-events is %q): run CONFIG SET notify-keyspace-events Kgh$ on every server (or set it in "+
		"redis.conf), or drop notify=keyspace to rely on the cache TTL", flags)
}

// LastWrite returns when a writer using this package last wrote the dataset
// (the "<prefix>:$last_write" key, Unix milliseconds, set in the same
// MULTI/EXEC as each Init and applied upsert). ok is false for a dataset
// only other writers (a LaunchDarkly Relay Proxy) have written.
func (s *Store) LastWrite(ctx context.Context) (time.Time, bool, error) {
	if err := s.check(ctx); err != nil {
		return time.Time{}, false, wrapErr("last write", err)
	}
	v, err := s.client.Get(ctx, s.keys.lastWrite).Result()
	if err == goredis.Nil {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, wrapErr("last write", err)
	}
	ms, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("redis get %s: %w: %q is not Unix milliseconds", s.keys.lastWrite, store.ErrMalformedItem, v)
	}
	return time.UnixMilli(ms), true, nil
}

// WriteMark implements [store.WriteMarker]: the "<prefix>:$write_mark" key,
// a random token that this package's writers set with every Init and
// applied upsert, in the same MULTI/EXEC as the write and its change
// message (on a Cluster with an unhashed prefix, after the write and before
// the message). It is "" for a dataset only other writers (a LaunchDarkly
// Relay Proxy) have written. With [NotifyKeyspace] it fails with an error
// wrapping [errors.ErrUnsupported]: keyspace notifications announce every
// write, also those that set no mark.
func (s *Store) WriteMark(ctx context.Context) (string, error) {
	if err := s.check(ctx); err != nil {
		return "", wrapErr("write mark", err)
	}
	if s.notify == NotifyKeyspace {
		return "", fmt.Errorf("redis write mark: %w with notify=keyspace", errors.ErrUnsupported)
	}
	v, err := s.client.Get(ctx, s.keys.writeMark).Result()
	if err == goredis.Nil {
		return "", nil
	}
	if err != nil {
		return "", wrapErr("write mark", err)
	}
	return v, nil
}

// subscriptionTiming is a Store's copy of the subscription timing.
type subscriptionTiming struct{ health, subscribe, resubscribeMin, resubscribeMax time.Duration }

func currentSubscriptionTiming() subscriptionTiming {
	return subscriptionTiming{subscriptionHealthEvery, subscribeTimeout, resubscribeMin, resubscribeMax}
}
