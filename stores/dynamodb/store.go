package dynamodb

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/internal/changefeed"
	"github.com/daemonflag/daemonflag/store"
)

// Attribute names of LaunchDarkly's DynamoDB layout.
const (
	attrNamespace   = "namespace" // partition key
	attrKey         = "key"       // sort key
	attrVersion     = "version"
	attrItem        = "item"
	attrSyncOn      = "synchronizedOn"
	attrIncluded    = "included"
	attrExcluded    = "excluded"
	initedNamespace = "$inited"
	bigSegMetaNS    = "big_segments_metadata"
	bigSegUserNS    = "big_segments_user"
)

// Store is a DynamoDB store in LaunchDarkly's layout. It implements
// [store.Store], [store.Pinger], [store.BigSegmentReader],
// [store.BigSegmentWriter], [store.MembershipScanner], [store.Notifier],
// [store.Batcher] and [store.WriteTimeReader]. It is safe for concurrent
// use; Close it once when done.
type Store struct {
	client   api
	table    string
	prefix   string
	region   string
	endpoint string
	opts     Options
	closed   atomic.Bool
	hub      changefeed.Hub
	done     chan struct{} // closed by Close
}

func (s *Store) log() *slog.Logger {
	if s.opts.Logger != nil {
		return s.opts.Logger
	}
	return slog.Default()
}

var (
	_ store.Store             = (*Store)(nil)
	_ store.Pinger            = (*Store)(nil)
	_ store.BigSegmentReader  = (*Store)(nil)
	_ store.BigSegmentWriter  = (*Store)(nil)
	_ store.MembershipScanner = (*Store)(nil)
)

// New returns a Store on the table that opts names. It does no network I/O
// unless opts.CreateTable is set, so a store that is down when a process
// starts does not keep the process from starting; a missing table or
// unreachable endpoint shows up as an error on first use.
func New(ctx context.Context, opts Options) (*Store, error) {
	if !isTableARN(opts.Table) {
		if err := validTableName(opts.Table); err != nil {
			return nil, fmt.Errorf("dynamodb: Options.Table: %w", err)
		}
	}
	client, region, err := newClient(ctx, &opts)
	if err != nil {
		return nil, err
	}
	return open(ctx, opts, client, region)
}

// isTableARN reports a table given by ARN, which DynamoDB accepts in place
// of a name (for tables in another account).
func isTableARN(t string) bool {
	return strings.HasPrefix(t, "arn:") && strings.Contains(t, ":table/")
}

// open is New with the client already built (tests pass a wrapped one).
func open(ctx context.Context, opts Options, client api, region string) (*Store, error) {
	s := &Store{
		client:   client,
		table:    opts.Table,
		prefix:   opts.Prefix,
		region:   region,
		endpoint: opts.Endpoint,
		opts:     opts,
		done:     make(chan struct{}),
	}
	if opts.Client != nil {
		s.endpoint = aws.ToString(opts.Client.Options().BaseEndpoint)
	}
	if opts.CreateTable {
		if err := s.createTable(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Table returns the name of the store's table.
func (s *Store) Table() string { return s.table }

// Prefix returns the store's dataset prefix ("" for none).
func (s *Store) Prefix() string { return s.prefix }

// namespace returns the prefixed namespace for base ("features", "$inited").
func (s *Store) namespace(base string) string {
	if s.prefix == "" {
		return base
	}
	return s.prefix + ":" + base
}

func (s *Store) keyOf(namespace, key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrNamespace: &types.AttributeValueMemberS{Value: namespace},
		attrKey:       &types.AttributeValueMemberS{Value: key},
	}
}

// opCtx bounds one request by Options.OperationTimeout.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	if d := s.opts.opTimeout(); d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return ctx, func() {}
}

func (s *Store) checkOpen() error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}

// getItem is a consistent GetItem of one item.
func (s *Store) getItem(ctx context.Context, op, namespace, key string, projection ...string) (map[string]types.AttributeValue, error) {
	if err := s.checkOpen(); err != nil {
		return nil, err
	}
	in := &ddb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.keyOf(namespace, key),
		ConsistentRead: aws.Bool(true),
	}
	if len(projection) > 0 {
		in.ProjectionExpression = aws.String(projectionExpr(projection))
		in.ExpressionAttributeNames = projectionNames(projection)
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	out, err := s.client.GetItem(ctx, in)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return out.Item, nil
}

func projectionExpr(attrs []string) string {
	e := ""
	for i := range attrs {
		if i > 0 {
			e += ", "
		}
		e += "#p" + strconv.Itoa(i)
	}
	return e
}

func projectionNames(attrs []string) map[string]string {
	m := make(map[string]string, len(attrs))
	for i, a := range attrs {
		m["#p"+strconv.Itoa(i)] = a
	}
	return m
}

// maxSortKeyLen is DynamoDB's limit on a sort key value, in bytes.
const maxSortKeyLen = 1024

// storableKey reports whether DynamoDB can hold an item under key: sort key
// values are 1 to 1024 bytes long.
func storableKey(key string) bool { return key != "" && len(key) <= maxSortKeyLen }

// Get returns the item of the given kind and key with a consistent read.
func (s *Store) Get(ctx context.Context, kind store.Kind, key string) (store.Item, bool, error) {
	if !storableKey(key) {
		// Nothing can be stored under such a key; DynamoDB would refuse the
		// request instead of answering "not found".
		return store.Item{}, false, s.checkOpen()
	}
	av, err := s.getItem(ctx, fmt.Sprintf("get %s %q", kind, key), s.namespace(string(kind)), key)
	if err != nil || len(av) == 0 {
		return store.Item{}, false, err
	}
	_, it, err := decodeItem(kind, key, av)
	if err != nil {
		return store.Item{}, false, err
	}
	return it, true, nil
}

// GetAll returns every item of the kind: a consistent, paginated Query of the
// kind's namespace. An item whose "item" attribute is missing or malformed is
// returned with Version 0 and its raw JSON, as [store.Reader.GetAll]
// documents, and does not fail the call.
func (s *Store) GetAll(ctx context.Context, kind store.Kind) ([]store.KeyedItem, error) {
	var all []store.KeyedItem
	err := s.queryNamespace(ctx, "get all "+string(kind), s.namespace(string(kind)), nil,
		func(av map[string]types.AttributeValue) error {
			key, it, err := decodeItem(kind, "", av)
			if err != nil && key == "" {
				return err // not an item of this layout at all
			}
			// A malformed item concerns its key only (see store.Reader.GetAll).
			all = append(all, store.KeyedItem{Key: key, Item: it})
			return nil
		})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// queryNamespace runs a consistent, paginated Query of every item in
// namespace, projected to attrs (all attributes when attrs is nil), and calls
// fn for each item.
func (s *Store) queryNamespace(ctx context.Context, op, namespace string, attrs []string, fn func(map[string]types.AttributeValue) error) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		ConsistentRead:            aws.Bool(true),
		KeyConditionExpression:    aws.String("#ns = :ns"),
		ExpressionAttributeNames:  map[string]string{"#ns": attrNamespace},
		ExpressionAttributeValues: map[string]types.AttributeValue{":ns": &types.AttributeValueMemberS{Value: namespace}},
	}
	if len(attrs) > 0 {
		in.ProjectionExpression = aws.String(projectionExpr(attrs))
		for k, v := range projectionNames(attrs) {
			in.ExpressionAttributeNames[k] = v
		}
	}
	for {
		pctx, cancel := s.opCtx(ctx)
		out, err := s.client.Query(pctx, in)
		cancel()
		if err != nil {
			return s.wrap(op, err)
		}
		for _, av := range out.Items {
			if err := fn(av); err != nil {
				return err
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// Initialized reports whether the "$inited" marker item exists. While a
// writer's Init is in progress, or after one was interrupted (a writer
// killed midway leaves a mix of the old and the new dataset), it returns an
// error wrapping [store.ErrInitInProgress] and store.ErrUnavailable (the
// store cannot give a consistent dataset now) that says when the init started;
// the boolean then still reports the "$inited" marker. One consistent Query
// reads both the marker and the init-in-progress mark.
func (s *Store) Initialized(ctx context.Context) (bool, error) {
	inited, startedAt, err := s.initState(ctx)
	if err != nil {
		return false, err
	}
	if startedAt != nil {
		return inited, fmt.Errorf("dynamodb: an init of the dataset (table %q, prefix %q) started at %s has not finished: "+
			"%w (%w); the store may hold a mix of the old and the new dataset until the writer runs again",
			s.table, s.prefix, startedAt.UTC().Format(time.RFC3339), store.ErrInitInProgress, store.ErrUnavailable)
	}
	return inited, nil
}

// initState reads the "$inited" partition: whether the marker exists, and
// when the init in progress, if any, started.
func (s *Store) initState(ctx context.Context) (inited bool, startedAt *time.Time, err error) {
	ns := s.namespace(initedNamespace)
	initing := s.namespace(initingKey)
	err = s.queryNamespace(ctx, "check $inited", ns, []string{attrKey, attrStartedAt}, func(av map[string]types.AttributeValue) error {
		k, _ := av[attrKey].(*types.AttributeValueMemberS)
		switch {
		case k == nil:
		case k.Value == ns:
			inited = true
		case k.Value == initing:
			t := time.Time{}
			if n, ok := av[attrStartedAt].(*types.AttributeValueMemberN); ok {
				if ms, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
					t = time.UnixMilli(ms)
				}
			}
			startedAt = &t
		}
		return nil
	})
	return inited, startedAt, err
}

// Ping checks that the table answers: the consistent Query of Initialized,
// which needs no permission beyond the reads a client makes anyway. An init
// in progress is not an error here.
func (s *Store) Ping(ctx context.Context) error {
	_, _, err := s.initState(ctx)
	return err
}

// upsertCondition applies a put when no item exists, when the stored item
// has no "version" attribute (a hand-written item, which counts as older
// than any, as a malformed item does on Redis), or when its version is lower.
const upsertCondition = "attribute_not_exists(#ns) OR attribute_not_exists(#version) OR #version < :version"

// Upsert writes item unless the stored item under key has the same or a
// higher version: a PutItem conditioned on the stored "version" attribute.
// A stored item without that attribute counts as older than any item. An
// applied upsert is then recorded in the change log (see [Store.Notify]).
// An item over DynamoDB's 400 KB item limit is an *ItemTooLargeError and
// leaves the stored copy as it was.
func (s *Store) Upsert(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	applied, err := s.put(ctx, kind, key, item)
	if applied {
		s.logChanges(ctx, []store.Change{{Kind: kind, Key: key}})
	}
	return applied, err
}

// UpsertBatch applies the updates as Upsert would, one conditional PutItem
// after another in the given order (DynamoDB has no atomic write of this
// size; writers pass dependencies first), and then logs the applied ones
// in one change-log update. It stops at the first failure, returning it;
// the updates before it stay applied.
func (s *Store) UpsertBatch(ctx context.Context, updates []store.ItemUpdate) ([]bool, error) {
	applied := make([]bool, len(updates))
	var changes []store.Change
	for i, u := range updates {
		ok, err := s.put(ctx, u.Kind, u.Key, u.Item)
		if err != nil {
			s.logChanges(ctx, changes)
			return nil, fmt.Errorf("dynamodb upsert batch: update %d of %d: %w", i+1, len(updates), err)
		}
		applied[i] = ok
		if ok {
			changes = append(changes, store.Change{Kind: u.Kind, Key: u.Key})
		}
	}
	if len(changes) > changeLogEntries {
		changes = []store.Change{store.ChangeAll}
	}
	s.logChanges(ctx, changes)
	return applied, nil
}

// put is Upsert without the change log.
func (s *Store) put(ctx context.Context, kind store.Kind, key string, item store.Item) (bool, error) {
	if kind == "" {
		return false, fmt.Errorf("dynamodb upsert: empty kind")
	}
	if err := s.checkOpen(); err != nil {
		return false, err
	}
	av, err := s.encodeItem(kind, key, item)
	if err != nil {
		return false, err
	}
	if err := checkSize(kind, key, av); err != nil {
		return false, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	_, err = s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName:           aws.String(s.table),
		Item:                av,
		ConditionExpression: aws.String(upsertCondition),
		ExpressionAttributeNames: map[string]string{
			"#ns":      attrNamespace,
			"#version": attrVersion,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":version": &types.AttributeValueMemberN{Value: strconv.Itoa(item.Version)},
		},
	})
	if err != nil {
		if isConditionFailed(err) {
			return false, nil
		}
		return false, s.wrap(fmt.Sprintf("upsert %s %q", kind, key), err)
	}
	return true, nil
}

// Close marks the store closed; later calls return [ErrClosed]. The AWS
// client holds no connection that needs closing.
func (s *Store) Close() error {
	if s.closed.CompareAndSwap(false, true) {
		close(s.done)
		s.hub.Close()
	}
	return nil
}

// encodeItem builds the DynamoDB item for a flag or segment as LaunchDarkly
// writes it.
func (s *Store) encodeItem(kind store.Kind, key string, it store.Item) (map[string]types.AttributeValue, error) {
	if !storableKey(key) {
		return nil, fmt.Errorf("dynamodb: %s key of %d bytes: DynamoDB keys are 1 to %d bytes long", kind, len(key), maxSortKeyLen)
	}
	data := it.Data
	if len(data) == 0 {
		if !it.Deleted {
			return nil, fmt.Errorf("dynamodb: %s %q has no data", kind, key)
		}
		data = store.Tombstone(key, it.Version).Data
	}
	return map[string]types.AttributeValue{
		attrNamespace: &types.AttributeValueMemberS{Value: s.namespace(string(kind))},
		attrKey:       &types.AttributeValueMemberS{Value: key},
		attrVersion:   &types.AttributeValueMemberN{Value: strconv.Itoa(it.Version)},
		attrItem:      &types.AttributeValueMemberS{Value: string(data)},
	}, nil
}

func checkSize(kind store.Kind, key string, av map[string]types.AttributeValue) *ItemTooLargeError {
	if n := itemSize(av); n > maxItemSize {
		return &ItemTooLargeError{Kind: string(kind), Key: key, Size: n, Limit: maxItemSize}
	}
	return nil
}

// decodeItem reads a flag or segment item. wantKey, when not empty, is the
// key asked for (used in errors when the item has none). An item whose "item"
// attribute is missing, not a string, or not JSON with a whole-number
// version gives an error wrapping store.ErrMalformedItem, together with the
// key and the Item [store.Reader.GetAll] returns for it (Version 0, the raw
// JSON as Data).
func decodeItem(kind store.Kind, wantKey string, av map[string]types.AttributeValue) (string, store.Item, error) {
	key := wantKey
	if k, ok := av[attrKey].(*types.AttributeValueMemberS); ok {
		key = k.Value
	} else if wantKey == "" {
		return "", store.Item{}, fmt.Errorf("dynamodb: %s item without a string %q attribute: %w", kind, attrKey, store.ErrMalformedItem)
	}
	data, ok := av[attrItem].(*types.AttributeValueMemberS)
	if !ok {
		return key, store.Item{}, fmt.Errorf("dynamodb: %s %q has no string %q attribute: %w", kind, key, attrItem, store.ErrMalformedItem)
	}
	raw := []byte(data.Value)
	version, deleted, err := store.ParseVersion(raw)
	if err != nil {
		return key, store.Item{Data: raw}, fmt.Errorf("dynamodb: %s %q: %w", kind, key, err)
	}
	// The version attribute is what conditional writes compare, so it is the
	// version; LaunchDarkly's writers keep it equal to the JSON's. When it is
	// missing or not a whole number (a hand-written item), the JSON's
	// version, which LaunchDarkly's SDKs read, stands.
	if n, ok := av[attrVersion].(*types.AttributeValueMemberN); ok {
		if v, err := strconv.Atoi(n.Value); err == nil {
			version = v
		}
	}
	return key, store.Item{Version: version, Deleted: deleted, Data: raw}, nil
}
