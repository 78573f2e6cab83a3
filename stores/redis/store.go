package redis

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/changefeed"
	"github.com/daemonflag/daemonflag/store"
)

// Store is a Redis-backed flag store and big-segment store. It implements
// [store.Store], [store.Pinger], [store.BigSegmentReader],
// [store.BigSegmentWriter], [store.MembershipScanner], [store.Notifier],
// [store.Batcher] and [store.WriteTimeReader]. It is safe for concurrent
// use.
type Store struct {
	client goredis.UniversalClient
	owned  bool // Close closes client
	keys   keys
	// atomicInit is true when every key of the dataset lives on one server
	// (any client but a sharded one with an unhashed prefix), so Init can be
	// one MULTI/EXEC.
	atomicInit bool
	sharded    bool
	attempts   int
	batch      int
	log        *slog.Logger
	detachLog  func() // stops routing go-redis's lines to log
	closed     atomic.Bool
	first      *firstConn // makes the first StartCheck; nil when go-redis does (see firstconn.go)

	// Change notification (notify.go, write.go).
	notify        string // Options.Notify
	db            int    // for keyspace channel names
	shardedPubSub bool   // SPUBLISH/SSUBSCRIBE (a Cluster client)
	token         string // this store object's id in its change messages
	hub           changefeed.Hub
	publishOff    atomic.Bool // the ACL user may not publish
	timing        subscriptionTiming
	ctx           context.Context
	cancel        context.CancelFunc // on Close
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.Pinger            = (*Store)(nil)
	_ store.BigSegmentReader  = (*Store)(nil)
	_ store.BigSegmentWriter  = (*Store)(nil)
	_ store.MembershipScanner = (*Store)(nil)
)

// New opens a store as opts describe. It does not contact the server: a
// store opened while Redis is down reports store.ErrUnavailable from its
// calls until Redis answers. It fails on invalid options, an unreadable
// TLS CA file, and a Redis Cluster prefix without a hash tag (see
// [Options.AllowUnhashedClusterPrefix]).
func New(opts Options) (*Store, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	c, first := o.newClient()
	s, err := newStore(c, o)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	s.owned, s.first = true, first
	return s, nil
}

// NewFromClient opens a store on an existing go-redis client: a *Client,
// *ClusterClient (also a failover cluster client) or *Ring. Of opts it uses
// Prefix, AllowUnhashedClusterPrefix, UpsertAttempts, BatchSize and Logger; the
// connection fields are the client's business and are ignored. Close does
// not close c: the caller owns it.
func NewFromClient(c goredis.UniversalClient, opts Options) (*Store, error) {
	if c == nil {
		return nil, errors.New("redis: NewFromClient needs a client")
	}
	o := opts
	o.applyStoreDefaults()
	return newStore(c, o)
}

func newStore(c goredis.UniversalClient, o Options) (*Store, error) {
	sharded, shardedPubSub := false, false
	switch c := c.(type) {
	case *goredis.ClusterClient:
		sharded, shardedPubSub = true, true
	case *goredis.Ring:
		sharded = true
	case *goredis.Client:
		if o.Redis.DB == 0 {
			o.Redis.DB = c.Options().DB
		}
	}
	switch o.Notify {
	case "":
		o.Notify = NotifyMessages
	case NotifyMessages, NotifyKeyspace, NotifyOff:
	default:
		return nil, fmt.Errorf("redis: Notify %q is not one of %q, %q, %q", o.Notify, NotifyMessages, NotifyKeyspace, NotifyOff)
	}
	if err := checkPrefix(o.Prefix, sharded, o.AllowUnhashedClusterPrefix); err != nil {
		return nil, err
	}
	_, tagged := hashTag(o.Prefix)
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	var tok [8]byte
	_, _ = crand.Read(tok[:])
	ctx, cancel := context.WithCancel(context.Background())
	return &Store{
		client:        c,
		keys:          newKeys(o.Prefix),
		atomicInit:    !sharded || tagged,
		sharded:       sharded,
		attempts:      o.UpsertAttempts,
		batch:         o.BatchSize,
		log:           log,
		detachLog:     libLog.attach(log),
		notify:        o.Notify,
		db:            o.Redis.DB,
		shardedPubSub: shardedPubSub,
		token:         hex.EncodeToString(tok[:]),
		timing:        currentSubscriptionTiming(),
		ctx:           ctx,
		cancel:        cancel,
	}, nil
}

// checkPrefix refuses a prefix that would spread a dataset over hash slots of
// a sharded deployment, unless allowed.
func checkPrefix(prefix string, sharded, allowUnhashed bool) error {
	if !sharded {
		return nil
	}
	if _, ok := hashTag(prefix); ok {
		return nil
	}
	if !allowUnhashed {
		return fmt.Errorf("redis: prefix %q has no {hash tag}, so on a Redis Cluster the dataset's keys would "+
			"spread over several hash slots and Init could not be one transaction: use a prefix such as %q "+
			"(readers and writers must agree on it), or set AllowUnhashedClusterPrefix "+
			"(URL: allow_unhashed_cluster_prefix=true) to share LaunchDarkly's default layout", prefix, "{"+prefix+"}")
	}
	if strings.ContainsAny(prefix, "{}") {
		return fmt.Errorf("redis: prefix %q has braces but no valid {hash tag}: on a Redis Cluster use either a "+
			"valid hash tag such as %q or no braces at all", prefix, "{"+strings.Trim(prefix, "{}")+"}")
	}
	return nil
}

// Prefix returns the key prefix of the dataset.
func (s *Store) Prefix() string { return s.keys.prefix }

// AtomicInit reports whether Init replaces the dataset in one transaction,
// which is the case unless the store runs on a Redis Cluster with a prefix
// without a hash tag.
func (s *Store) AtomicInit() bool { return s.atomicInit }

// check returns an error when the store is closed or ctx is done, so that
// nothing is sent for a call that cannot succeed.
func (s *Store) check(ctx context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

func kindKeyOp(op string, kind store.Kind, key string) string {
	return fmt.Sprintf("%s %s %q", op, kind, key)
}

// Get reads one item with HGET: one round trip.
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	data, found, err := s.GetUnparsed(ctx, kind, key)
	if err != nil || !found {
		return store.Item{}, false, err
	}
	it, err := store.ItemFromJSON(data)
	if err != nil {
		return store.Item{}, false, fmt.Errorf("redis get %s %q: %w", kind, key, err)
	}
	return it, true, nil
}

// GetAll reads every item of a kind with HGETALL: one round trip. An item
// whose JSON is malformed does not fail the call: as [store.Reader.GetAll]
// documents, it is returned with Version 0 and its stored bytes as Data, so
// that it concerns its own key only.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	m, err := s.hgetAll(ctx, kind)
	if err != nil {
		return nil, err
	}
	out := make([]store.KeyedItem, 0, len(m))
	for k, v := range m {
		// A malformed item: see store.Reader.GetAll.
		out = append(out, store.KeyedItem{Key: k, Item: store.ItemFromStored([]byte(v))})
	}
	return out, nil
}

// hgetAll reads a kind's hash (HGETALL): key to item JSON.
func (s *Store) hgetAll(ctx context.Context, kind store.Kind) (map[string]string, error) {
	if err := s.check(ctx); err != nil {
		return nil, wrapErr(fmt.Sprintf("get all %s", kind), err)
	}
	if kind == "" {
		return nil, errors.New("redis get all: empty kind")
	}
	m, err := s.client.HGetAll(ctx, s.keys.kind(kind)).Result()
	if err != nil {
		return nil, wrapErr(fmt.Sprintf("get all %s", kind), err)
	}
	return m, nil
}

// Initialized reports whether the "$inited" key exists (EXISTS).
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	if err := s.check(ctx); err != nil {
		return false, wrapErr("initialized", err)
	}
	n, err := s.client.Exists(ctx, s.keys.inited).Result()
	if err != nil {
		return false, wrapErr("initialized", err)
	}
	return n == 1, nil
}

// Ping checks that the server holding the dataset answers, with the same
// cheap command as Initialized (EXISTS on the "$inited" key), which a
// Cluster client routes to the node of the dataset's slot.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("ping", err)
	}
	return wrapErr("ping", s.client.Exists(ctx, s.keys.inited).Err())
}

// Close releases the client when New created it; a client passed to
// NewFromClient stays open. Every later call returns an error wrapping
// [ErrClosed]. A second Close does nothing.
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.detachLog != nil {
		s.detachLog()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.hub.Close()
	s.first.close()
	if s.owned {
		return s.client.Close()
	}
	return nil
}

// itemData is the JSON stored for an item: its Data, or for a tombstone
// without Data, LaunchDarkly's tombstone JSON.
func itemData(key string, it store.Item) ([]byte, error) {
	if len(it.Data) > 0 {
		return it.Data, nil
	}
	if it.Deleted {
		return store.Tombstone(key, it.Version).Data, nil
	}
	return nil, fmt.Errorf("item %q has no data and is not deleted", key)
}

// initColl is one collection of an Init, ready to write.
type initColl struct {
	kind store.Kind
	key  string
	args []any // field, value, field, value...
}

// prepareInit orders and validates the collections: segments, then
// features, then other kinds in the order given; kinds absent from data are
// written empty. Nothing is sent before every item is known to be valid.
func (s *Store) prepareInit(data []store.Collection) ([]initColl, error) {
	var colls []initColl
	index := map[store.Kind]int{}
	add := func(kind store.Kind) int {
		if i, ok := index[kind]; ok {
			return i
		}
		index[kind] = len(colls)
		colls = append(colls, initColl{kind: kind, key: s.keys.kind(kind)})
		return len(colls) - 1
	}
	for _, k := range store.Kinds {
		add(k)
	}
	for _, c := range data {
		if c.Kind == "" {
			return nil, errors.New("redis init: a collection has an empty kind")
		}
		i := add(c.Kind)
		for _, ki := range c.Items {
			d, err := itemData(ki.Key, ki.Item)
			if err != nil {
				return nil, fmt.Errorf("redis init %s: %w", c.Kind, err)
			}
			colls[i].args = append(colls[i].args, ki.Key, d)
		}
	}
	return colls, nil
}

// hset queues HSETs of args on key in chunks of the batch size.
func (s *Store) hset(ctx context.Context, p goredis.Pipeliner, key string, args []any) {
	step := 2 * s.batch
	for i := 0; i < len(args); i += step {
		p.HSet(ctx, key, args[i:min(i+step, len(args))]...)
	}
}

// Init replaces the whole dataset. Normally it is one MULTI/EXEC that
// deletes both hashes, writes every item and sets "$inited", so readers see
// the old dataset or the new one and nothing in between, and a failed Init
// changes nothing. On a Redis Cluster with an unhashed prefix (see
// [Options.AllowUnhashedClusterPrefix]) each collection is instead built in
// a temporary key of its own slot and renamed over the live one atomically,
// segments first, then "$inited" is set.
func (s *Store) Init(ctx context.Context, data []store.Collection) error {
	if err := s.check(ctx); err != nil {
		return wrapErr("init", err)
	}
	colls, err := s.prepareInit(data)
	if err != nil {
		return err
	}
	if !s.atomicInit {
		return s.initPerKey(ctx, colls)
	}
	publish := !s.publishOff.Load()
	cmds, err := s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		del := make([]string, len(colls))
		for i, c := range colls {
			del[i] = c.key
		}
		p.Del(ctx, del...)
		for _, c := range colls {
			s.hset(ctx, p, c.key, c.args)
		}
		p.Set(ctx, s.keys.inited, "", 0)
		s.queueAnnounce(ctx, p, []store.Change{store.ChangeAll}, publish)
		return nil
	})
	if publish && s.publishDenied(cmds, err) {
		return s.Init(ctx, data) // again, without the message
	}
	if err = txError(cmds, err); err != nil {
		return wrapErr("init", err)
	}
	s.announced(ctx, []store.Change{store.ChangeAll}, false)
	return nil
}

// txError replaces the error of a transaction the server aborted
// (EXECABORT) with the reason it refused a queued command.
func txError(cmds []goredis.Cmder, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "EXECABORT") {
		return err
	}
	for _, c := range cmds {
		if ce := c.Err(); ce != nil && !strings.HasPrefix(ce.Error(), "EXECABORT") {
			return fmt.Errorf("transaction aborted, nothing written: %s refused: %w", strings.ToUpper(c.Name()), ce)
		}
	}
	return err
}

// initPerKey is Init for a dataset spread over hash slots.
func (s *Store) initPerKey(ctx context.Context, colls []initColl) error {
	var tok [8]byte
	_, _ = crand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	for _, c := range colls {
		if len(c.args) == 0 {
			if err := s.client.Del(ctx, c.key).Err(); err != nil {
				return wrapErr(fmt.Sprintf("init %s", c.kind), err)
			}
			continue
		}
		// "{<key>}" hashes to the slot of <key> itself, which has no hash
		// tag (checkPrefix refuses braces in an unhashed prefix).
		tmp := "{" + c.key + "}" + tempInitInfix + token
		p := s.client.Pipeline()
		s.hset(ctx, p, tmp, c.args)
		p.Expire(ctx, tmp, tempInitTTLSecs*time.Second)
		_, err := p.Exec(ctx)
		if err == nil {
			var cmds []goredis.Cmder
			cmds, err = s.client.TxPipelined(ctx, func(p goredis.Pipeliner) error {
				p.Rename(ctx, tmp, c.key)
				p.Persist(ctx, c.key)
				return nil
			})
			err = txError(cmds, err)
		}
		if err != nil {
			// Best effort; the key expires anyway.
			_ = s.client.Del(context.WithoutCancel(ctx), tmp).Err()
			return wrapErr(fmt.Sprintf("init %s", c.kind), err)
		}
	}
	if err := s.client.Set(ctx, s.keys.inited, "", 0).Err(); err != nil {
		return wrapErr("init", err)
	}
	s.announced(ctx, []store.Change{store.ChangeAll}, true)
	return nil
}
