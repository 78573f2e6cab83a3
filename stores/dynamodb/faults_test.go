package dynamodb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/daemonflag/daemonflag/store"
)

// faultClient wraps the real client to the test server and injects the
// faults DynamoDB produces under load: BatchWriteItem returning part of a
// batch as unprocessed, and throttling errors. It also records, in order,
// the writes the real server completed.
type faultClient struct {
	api
	table string

	mu sync.Mutex
	// unprocessed is how many more BatchWriteItem calls send only the first
	// half of their requests and return the rest as unprocessed; -1: all.
	unprocessed int
	// throttleBatch, throttleUpdate: how many more BatchWriteItem/UpdateItem
	// calls fail with a throttling error; -1: all.
	throttleBatch, throttleUpdate int
	// throttleReads makes every GetItem and Query fail with throttling.
	throttleReads bool
	batchCalls    int
	written       []string // "put ns/key", "delete ns/key", in completion order
	// gate, when set, holds every BatchWriteItem until it is closed.
	gate chan struct{}
}

func throttled(op string) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op,
		Err: &types.ProvisionedThroughputExceededException{Message: aws.String("injected: throughput exceeded")}}
}

// take decrements a fault counter and reports whether the fault fires.
func take(counter *int) bool {
	switch {
	case *counter < 0:
		return true
	case *counter > 0:
		*counter--
		return true
	}
	return false
}

func (f *faultClient) BatchWriteItem(ctx context.Context, in *ddb.BatchWriteItemInput, opts ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error) {
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	f.batchCalls++
	throttle := take(&f.throttleBatch)
	partial := !throttle && take(&f.unprocessed)
	f.mu.Unlock()
	if throttle {
		return nil, throttled("BatchWriteItem")
	}
	reqs := in.RequestItems[f.table]
	send, withheld := reqs, []types.WriteRequest(nil)
	if partial {
		send, withheld = reqs[:len(reqs)/2], reqs[len(reqs)/2:]
	}
	out := &ddb.BatchWriteItemOutput{UnprocessedItems: map[string][]types.WriteRequest{}}
	if len(send) > 0 {
		real, err := f.api.BatchWriteItem(ctx, &ddb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{f.table: send}}, opts...)
		if err != nil {
			return nil, err
		}
		notDone := real.UnprocessedItems[f.table]
		f.record(send, notDone)
		withheld = append(withheld, notDone...)
	}
	if len(withheld) > 0 {
		out.UnprocessedItems[f.table] = withheld
	}
	return out, nil
}

func (f *faultClient) record(sent, notDone []types.WriteRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	skip := map[string]bool{}
	for _, r := range notDone {
		skip[describeRequests([]types.WriteRequest{r})] = true
	}
	for _, r := range sent {
		if d := describeRequests([]types.WriteRequest{r}); !skip[d] {
			f.written = append(f.written, d)
		}
	}
}

func (f *faultClient) PutItem(ctx context.Context, in *ddb.PutItemInput, opts ...func(*ddb.Options)) (*ddb.PutItemOutput, error) {
	out, err := f.api.PutItem(ctx, in, opts...)
	if err == nil {
		f.record([]types.WriteRequest{{PutRequest: &types.PutRequest{Item: in.Item}}}, nil)
	}
	return out, err
}

func (f *faultClient) UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, opts ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error) {
	f.mu.Lock()
	throttle := take(&f.throttleUpdate)
	f.mu.Unlock()
	if throttle {
		return nil, throttled("UpdateItem")
	}
	return f.api.UpdateItem(ctx, in, opts...)
}

func (f *faultClient) GetItem(ctx context.Context, in *ddb.GetItemInput, opts ...func(*ddb.Options)) (*ddb.GetItemOutput, error) {
	f.mu.Lock()
	t := f.throttleReads
	f.mu.Unlock()
	if t {
		return nil, throttled("GetItem")
	}
	return f.api.GetItem(ctx, in, opts...)
}

func (f *faultClient) Query(ctx context.Context, in *ddb.QueryInput, opts ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	f.mu.Lock()
	t := f.throttleReads
	f.mu.Unlock()
	if t {
		return nil, throttled("Query")
	}
	return f.api.Query(ctx, in, opts...)
}

// newFaultStore opens a store on a fresh prefix whose client is a faultClient.
func newFaultStore(t *testing.T, setup func(*faultClient), opt func(*Options)) (*Store, *faultClient) {
	t.Helper()
	var fc *faultClient
	opts := testOptions(t, uniquePrefix("fault"))
	if opt != nil {
		opt(&opts)
	}
	c, region, err := newClient(t.Context(), &opts)
	if err != nil {
		t.Fatal(err)
	}
	fc = &faultClient{api: c, table: opts.Table}
	if setup != nil {
		setup(fc)
	}
	st, err := open(t.Context(), opts, fc, region)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, fc
}

// dataset builds nFlags flags and nSegs segments at version v.
func dataset(nFlags, nSegs, v int) []store.Collection {
	var flags, segs []store.KeyedItem
	for i := range nFlags {
		k := fmt.Sprintf("flag-%04d", i)
		flags = append(flags, store.KeyedItem{Key: k, Item: store.Item{Version: v, Data: fmt.Appendf(nil, `{"key":%q,"version":%d}`, k, v)}})
	}
	for i := range nSegs {
		k := fmt.Sprintf("seg-%04d", i)
		segs = append(segs, store.KeyedItem{Key: k, Item: store.Item{Version: v, Data: fmt.Appendf(nil, `{"key":%q,"version":%d}`, k, v)}})
	}
	return []store.Collection{{Kind: store.Segments, Items: segs}, {Kind: store.Features, Items: flags}}
}

// wantDataset checks that st holds exactly data.
func wantDataset(t *testing.T, st store.Reader, data []store.Collection) {
	t.Helper()
	for _, c := range data {
		got, err := st.GetAll(t.Context(), c.Kind)
		if err != nil {
			t.Fatalf("GetAll(%s): %v", c.Kind, err)
		}
		if len(got) != len(c.Items) {
			t.Fatalf("GetAll(%s): %d items, want %d", c.Kind, len(got), len(c.Items))
		}
		want := map[string]string{}
		for _, ki := range c.Items {
			want[ki.Key] = string(ki.Item.Data)
		}
		for _, ki := range got {
			if want[ki.Key] != string(ki.Item.Data) {
				t.Fatalf("GetAll(%s): %q = %s, want %s", c.Kind, ki.Key, ki.Item.Data, want[ki.Key])
			}
		}
	}
}

func TestInitRetriesUnprocessedItems(t *testing.T) {
	st, fc := newFaultStore(t, func(f *faultClient) { f.unprocessed = 6 }, nil)
	data := dataset(120, 30, 1)
	if err := st.Init(t.Context(), data); err != nil {
		t.Fatalf("Init: %v", err)
	}
	wantDataset(t, st, data)
	if ok, err := st.Initialized(t.Context()); err != nil || !ok {
		t.Fatalf("Initialized = %v, %v", ok, err)
	}
	if fc.batchCalls <= 6 {
		t.Fatalf("%d BatchWriteItem calls: the injected unprocessed items were not retried", fc.batchCalls)
	}
}

func TestInitFailsWhenItemsStayUnprocessed(t *testing.T) {
	st, fc := newFaultStore(t, func(f *faultClient) { f.unprocessed = -1 }, func(o *Options) { o.MaxAttempts = 4 })
	err := st.Init(t.Context(), dataset(60, 5, 1))
	if err == nil {
		t.Fatal("Init succeeded although DynamoDB never processed some items")
	}
	t.Log(err)
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "unprocessed") || !strings.Contains(err.Error(), "4 attempts") {
		t.Fatalf("Init error = %v; want an ErrUnavailable naming the unprocessed writes and attempts", err)
	}
	// No silent success: the dataset is not marked complete, and readers
	// are told an init was interrupted.
	if ok, err := st.Initialized(t.Context()); ok || !errors.Is(err, store.ErrInitInProgress) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Initialized = %v, %v after a failed Init; want false and ErrInitInProgress (and ErrUnavailable)", ok, err)
	}
	// Ping only asks whether the table answers.
	if err := st.Ping(t.Context()); err != nil {
		t.Errorf("Ping during an interrupted init: %v", err)
	}
	if fc.batchCalls < 4 {
		t.Fatalf("%d BatchWriteItem calls, want at least 4 attempts", fc.batchCalls)
	}
}

func TestInitRetriesThrottledBatches(t *testing.T) {
	st, _ := newFaultStore(t, func(f *faultClient) { f.throttleBatch = 3 }, nil)
	data := dataset(80, 0, 2)
	if err := st.Init(t.Context(), data); err != nil {
		t.Fatalf("Init: %v", err)
	}
	wantDataset(t, st, data)
}

func TestThrottlingIsAWrappedError(t *testing.T) {
	t.Run("Init", func(t *testing.T) {
		st, _ := newFaultStore(t, func(f *faultClient) { f.throttleBatch = -1 }, func(o *Options) { o.MaxAttempts = 3 })
		err := st.Init(t.Context(), dataset(10, 0, 1))
		t.Log(err)
		var pt *types.ProvisionedThroughputExceededException
		if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &pt) || !strings.Contains(err.Error(), "throttled") {
			t.Fatalf("Init error = %v; want ErrUnavailable wrapping the throttling error", err)
		}
	})
	t.Run("Reads", func(t *testing.T) {
		st, _ := newFaultStore(t, func(f *faultClient) { f.throttleReads = true }, nil)
		checks := map[string]error{}
		_, _, checks["Get"] = st.Get(t.Context(), store.Features, "f")
		_, checks["GetAll"] = st.GetAll(t.Context(), store.Features)
		_, checks["Initialized"] = st.Initialized(t.Context())
		checks["Ping"] = st.Ping(t.Context())
		_, checks["Membership"] = st.Membership(t.Context(), "hash")
		_, _, checks["SynchronizedOn"] = st.SynchronizedOn(t.Context())
		for name, err := range checks {
			var pt *types.ProvisionedThroughputExceededException
			if !errors.Is(err, store.ErrUnavailable) || !errors.As(err, &pt) {
				t.Errorf("%s error = %v; want ErrUnavailable wrapping the throttling error", name, err)
			}
		}
	})
	t.Run("ApplyMembershipRetries", func(t *testing.T) {
		st, _ := newFaultStore(t, func(f *faultClient) { f.throttleUpdate = 2 }, nil)
		if err := st.ApplyMembership(t.Context(), []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}}); err != nil {
			t.Fatalf("ApplyMembership after two throttled attempts: %v", err)
		}
		m, err := st.Membership(t.Context(), "h")
		if err != nil || !slices.Equal(m.Included, []string{"s.g1"}) {
			t.Fatalf("Membership = %+v, %v", m, err)
		}
	})
	t.Run("ApplyMembershipGivesUp", func(t *testing.T) {
		st, _ := newFaultStore(t, func(f *faultClient) { f.throttleUpdate = -1 }, func(o *Options) { o.MaxAttempts = 3 })
		err := st.ApplyMembership(t.Context(), []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}})
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "3 attempts") {
			t.Fatalf("ApplyMembership error = %v; want ErrUnavailable after 3 attempts", err)
		}
	})
}

// TestInitWriteOrder checks the order readers can rely on: segments, then
// flags after their prerequisites, then deletions, then the marker.
func TestInitWriteOrder(t *testing.T) {
	st, fc := newFaultStore(t, nil, func(o *Options) { o.WriteConcurrency = 4 })
	flag := func(key string, prereqs ...string) store.KeyedItem {
		var p []string
		for _, k := range prereqs {
			p = append(p, fmt.Sprintf(`{"key":%q,"variation":0}`, k))
		}
		return store.KeyedItem{Key: key, Item: store.Item{Version: 1,
			Data: fmt.Appendf(nil, `{"key":%q,"version":1,"prerequisites":[%s]}`, key, strings.Join(p, ","))}}
	}
	old := dataset(40, 3, 1) // flag-0000.. and seg-0000..: deleted by the next Init
	if err := st.Init(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	fc.mu.Lock()
	fc.written = nil
	fc.mu.Unlock()

	// A chain a <- b <- c (c needs b needs a), a diamond, a cycle, a missing
	// prerequisite and many independent flags.
	flags := []store.KeyedItem{
		flag("c", "b"), flag("b", "a"), flag("a"),
		flag("d1", "c", "a"), flag("d2", "d1", "b"),
		flag("x", "y"), flag("y", "x"),
		flag("m", "not-in-dataset"),
	}
	for i := range 60 {
		flags = append(flags, flag(fmt.Sprintf("free-%02d", i)))
	}
	segs := []store.KeyedItem{{Key: "s1", Item: store.Item{Version: 1, Data: []byte(`{"key":"s1","version":1}`)}}}
	if err := st.Init(t.Context(), []store.Collection{{Kind: store.Features, Items: flags}, {Kind: store.Segments, Items: segs}}); err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, w := range fc.written {
		pos[w] = i
	}
	p := st.prefix
	at := func(verb, kind, key string) int {
		t.Helper()
		i, ok := pos[fmt.Sprintf("%s %s:%s/%q", verb, p, kind, key)]
		if !ok {
			t.Fatalf("no %s of %s %q among the writes %v", verb, kind, key, fc.written)
		}
		return i
	}
	before := func(a, b int, what string) {
		t.Helper()
		if a >= b {
			t.Errorf("%s: write %d is not before write %d", what, a, b)
		}
	}
	seg := at("put", "segments", "s1")
	for _, f := range flags {
		before(seg, at("put", "features", f.Key), "segment before flag "+f.Key)
	}
	before(at("put", "features", "a"), at("put", "features", "b"), "a before b")
	before(at("put", "features", "b"), at("put", "features", "c"), "b before c")
	before(at("put", "features", "c"), at("put", "features", "d1"), "c before d1")
	before(at("put", "features", "d1"), at("put", "features", "d2"), "d1 before d2")
	lastPut := 0
	for _, f := range flags {
		lastPut = max(lastPut, at("put", "features", f.Key))
	}
	firstDelete := len(fc.written)
	for _, c := range old {
		for _, ki := range c.Items {
			firstDelete = min(firstDelete, at("delete", string(c.Kind), ki.Key))
		}
	}
	before(lastPut, firstDelete, "puts before deletions")
	inited := p + ":$inited"
	before(firstDelete, at("put", "$inited", inited)-0, "deletions before the marker")
	// The init-in-progress mark comes before every dataset write; the
	// $inited marker is the last of them (the change log follows).
	before(at("put", "$inited", p+":$initing"), seg, "the init-in-progress mark before the first write")
	var dataWrites []string
	for _, w := range fc.written {
		if !strings.Contains(w, ":$changes/") {
			dataWrites = append(dataWrites, w)
		}
	}
	if last := dataWrites[len(dataWrites)-1]; last != fmt.Sprintf("put %s/%q", inited, inited) {
		t.Errorf("last dataset write %s, want the $inited marker", last)
	}
}

func TestPrerequisiteLevels(t *testing.T) {
	item := func(key, js string) store.KeyedItem {
		return store.KeyedItem{Key: key, Item: store.Item{Data: []byte(js)}}
	}
	tests := []struct {
		name  string
		items []store.KeyedItem
		want  [][]string
	}{
		{"none", nil, nil},
		{"independent", []store.KeyedItem{item("b", `{}`), item("a", `{"prerequisites":[]}`)}, [][]string{{"a", "b"}}},
		{"chain", []store.KeyedItem{
			item("c", `{"prerequisites":[{"key":"b"}]}`), item("b", `{"prerequisites":[{"key":"a"}]}`), item("a", `{}`),
		}, [][]string{{"a"}, {"b"}, {"c"}}},
		{"missing prerequisite", []store.KeyedItem{item("a", `{"prerequisites":[{"key":"zz"}]}`)}, [][]string{{"a"}}},
		{"self", []store.KeyedItem{item("a", `{"prerequisites":[{"key":"a"}]}`)}, [][]string{{"a"}}},
		{"cycle", []store.KeyedItem{
			item("a", `{"prerequisites":[{"key":"b"}]}`), item("b", `{"prerequisites":[{"key":"a"}]}`),
		}, [][]string{{"b"}, {"a"}}},
		{"malformed JSON", []store.KeyedItem{item("a", `{"prerequisites":[{"key":`), item("b", `{"prerequisites":"x"}`)}, [][]string{{"a", "b"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := prerequisiteLevels(tc.items)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("levels = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestInitDuplicateKeysKeepHighestVersion(t *testing.T) {
	st := newTestStore(t, uniquePrefix("dupes"))
	var items []store.KeyedItem
	for _, v := range []int{3, 9, 1} {
		items = append(items, store.KeyedItem{Key: "f", Item: mustItem(t, fmt.Sprintf(`{"key":"f","version":%d}`, v))})
	}
	if err := st.Init(t.Context(), []store.Collection{{Kind: store.Features, Items: items}}); err != nil {
		t.Fatal(err)
	}
	it, _, err := st.Get(t.Context(), store.Features, "f")
	if err != nil || it.Version != 9 {
		t.Fatalf("Get = v%d, %v; want v9", it.Version, err)
	}
}

func TestMalformedItems(t *testing.T) {
	prefix := uniquePrefix("malformed")
	st := newTestStore(t, prefix)
	c, table := rawClient(t)
	for _, it := range []map[string]types.AttributeValue{
		{"namespace": avS(prefix + ":features"), "key": avS("bad-json"), "version": avN(1), "item": avS(`{"key":"bad-json",`)},
		{"namespace": avS(prefix + ":segments"), "key": avS("no-item"), "version": avN(1)},
		{"namespace": avS(prefix + ":features"), "key": avS("bad-version"), "item": avS(`{"key":"bad-version","version":"seven"}`)},
	} {
		if _, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		kind store.Kind
		key  string
	}{{store.Features, "bad-json"}, {store.Segments, "no-item"}, {store.Features, "bad-version"}} {
		_, _, err := st.Get(t.Context(), tc.kind, tc.key)
		t.Log(err)
		if !errors.Is(err, store.ErrMalformedItem) || !strings.Contains(err.Error(), string(tc.kind)) || !strings.Contains(err.Error(), tc.key) {
			t.Errorf("Get(%s, %q) error = %v; want ErrMalformedItem naming kind and key", tc.kind, tc.key, err)
		}
	}
	// One bad item does not hide the rest: GetAll returns every item, the
	// malformed ones with Version 0 and their raw JSON (store.Reader.GetAll).
	for _, it := range []map[string]types.AttributeValue{
		{"namespace": avS(prefix + ":features"), "key": avS("good"), "version": avN(4), "item": avS(`{"key":"good","version":4}`)},
		{"namespace": avS(prefix + ":features"), "key": avS("no-version-attr"), "item": avS(`{"key":"no-version-attr","version":6}`)},
		{"namespace": avS(prefix + ":features"), "key": avS("float-version-attr"), "version": &types.AttributeValueMemberN{Value: "1.5"}, "item": avS(`{"key":"float-version-attr","version":2}`)},
	} {
		if _, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	want := map[store.Kind]map[string]store.Item{
		store.Features: {
			"bad-json":           {Data: []byte(`{"key":"bad-json",`)},
			"bad-version":        {Data: []byte(`{"key":"bad-version","version":"seven"}`)},
			"good":               {Version: 4, Data: []byte(`{"key":"good","version":4}`)},
			"no-version-attr":    {Version: 6, Data: []byte(`{"key":"no-version-attr","version":6}`)},
			"float-version-attr": {Version: 2, Data: []byte(`{"key":"float-version-attr","version":2}`)},
		},
		store.Segments: {"no-item": {}},
	}
	for kind, items := range want {
		all, err := st.GetAll(t.Context(), kind)
		if err != nil {
			t.Fatalf("GetAll(%s) with malformed items: %v; want the items", kind, err)
		}
		if len(all) != len(items) {
			t.Errorf("GetAll(%s) = %d items, want %d: %v", kind, len(all), len(items), all)
		}
		for _, ki := range all {
			w, ok := items[ki.Key]
			if !ok || ki.Item.Version != w.Version || ki.Item.Deleted || string(ki.Item.Data) != string(w.Data) {
				t.Errorf("GetAll(%s) item %q = %+v (%s); want %+v (%s)", kind, ki.Key, ki.Item, ki.Item.Data, w, w.Data)
			}
			if _, _, err := store.ParseVersion(ki.Item.Data); (err != nil) != (w.Version == 0) {
				t.Errorf("ParseVersion of GetAll(%s) item %q: %v", kind, ki.Key, err)
			}
		}
	}
	// A valid upsert repairs any of them, an item without a version
	// attribute included.
	for _, key := range []string{"bad-json", "bad-version", "no-version-attr"} {
		applied, err := st.Upsert(t.Context(), store.Features, key, mustItem(t, `{"key":"`+key+`","version":7}`))
		if err != nil || !applied {
			t.Errorf("Upsert over malformed %q = %v, %v; want applied", key, applied, err)
		}
	}
}

func TestMissingTable(t *testing.T) {
	opts := testOptions(t, "")
	opts.Table = "daemonflag-no-such-table-" + randomToken()
	st, err := New(t.Context(), opts)
	if err != nil {
		t.Fatalf("New does no I/O and must not fail: %v", err)
	}
	defer st.Close()
	checks := map[string]error{}
	_, _, checks["Get"] = st.Get(t.Context(), store.Features, "f")
	_, checks["GetAll"] = st.GetAll(t.Context(), store.Features)
	checks["Ping"] = st.Ping(t.Context())
	checks["Init"] = st.Init(t.Context(), dataset(3, 1, 1))
	_, checks["Upsert"] = st.Upsert(t.Context(), store.Features, "f", mustItem(t, `{"version":1}`))
	_, checks["Membership"] = st.Membership(t.Context(), "h")
	checks["ApplyMembership"] = st.ApplyMembership(t.Context(), []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}})
	t.Log(checks["Get"])
	for name, err := range checks {
		var tnf *TableNotFoundError
		if !errors.As(err, &tnf) || !errors.Is(err, store.ErrUnavailable) ||
			!strings.Contains(err.Error(), opts.Table) || !strings.Contains(err.Error(), testRegion) ||
			!strings.Contains(err.Error(), "?create=true") {
			t.Errorf("%s error = %v; want a TableNotFoundError naming the table, the region and ?create=true", name, err)
		}
	}
}

func TestCreateTable(t *testing.T) {
	opts := testOptions(t, "")
	opts.Table = "daemonflag-create-" + randomToken()
	opts.CreateTable = true
	c, _ := rawClient(t)
	t.Cleanup(func() {
		_, _ = c.DeleteTable(context.Background(), &ddb.DeleteTableInput{TableName: aws.String(opts.Table)})
	})
	for range 2 { // the second New finds the table there
		st, err := New(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Ping(t.Context()); err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	out, err := c.DescribeTable(t.Context(), &ddb.DescribeTableInput{TableName: aws.String(opts.Table)})
	if err != nil {
		t.Fatal(err)
	}
	var schema []string
	for _, k := range out.Table.KeySchema {
		schema = append(schema, aws.ToString(k.AttributeName)+"="+string(k.KeyType))
	}
	if fmt.Sprint(schema) != "[namespace=HASH key=RANGE]" {
		t.Errorf("key schema %v", schema)
	}
	if out.Table.BillingModeSummary == nil || out.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", out.Table.BillingModeSummary)
	}
}

// freePort returns a loopback port nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestServerDownIsUnavailable(t *testing.T) {
	cfg := testAWSConfig()
	cfg.RetryMaxAttempts = 2 // keep the SDK's own retries short
	st, err := New(t.Context(), Options{Table: "some-table", Endpoint: "http://" + freePort(t), AWSConfig: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checks := map[string]error{}
	_, _, checks["Get"] = st.Get(t.Context(), store.Features, "f")
	checks["Ping"] = st.Ping(t.Context())
	checks["Init"] = st.Init(t.Context(), dataset(3, 0, 1))
	t.Log(checks["Get"])
	_, checks["Upsert"] = st.Upsert(t.Context(), store.Features, "f", mustItem(t, `{"version":1}`))
	for name, err := range checks {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s error = %v; want ErrUnavailable", name, err)
		}
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	cfg := testAWSConfig()
	cfg.RetryMaxAttempts = 1
	st, err := New(t.Context(), Options{Table: "some-table", Endpoint: "http://" + l.Addr().String(), AWSConfig: &cfg,
		OperationTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, _, err = st.Get(t.Context(), store.Features, "f")
	t.Log(err)
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get error = %v; want ErrUnavailable and DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Get took %v with a 200ms operation timeout", d)
	}
}

// TestAbortedRequestsLeaveServerUsable cancels requests while the server is
// answering them. The store must report the cancellation, and the next
// requests must work (scripts/dynalite.sh keeps dynalite running through
// requests its clients abort).
func TestAbortedRequestsLeaveServerUsable(t *testing.T) {
	st := newTestStore(t, uniquePrefix("aborted"))
	var flags []store.KeyedItem
	for i := range 200 { // about 800 KB: a query the server takes a while to answer
		k := fmt.Sprintf("f%03d", i)
		flags = append(flags, store.KeyedItem{Key: k, Item: paddedItem(t, st, store.Features, k, 1, 4000)})
	}
	if err := st.Init(t.Context(), []store.Collection{{Kind: store.Features, Items: flags}}); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Duration(1+i%10)*time.Millisecond)
		_, err := st.GetAll(ctx, store.Features)
		cancel()
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("GetAll with a short deadline: %v", err)
		}
	}
	// A client that drops a request halfway through its body. It first
	// sends a whole request on the connection and reads the answer, so the
	// server is reading that connection when the second request is cut
	// off (no sleep needed to be sure it got that far).
	endpoint, _ := testTable(t)
	const head = "POST / HTTP/1.1\r\nHost: dynamodb\r\nContent-Type: application/x-amz-json-1.0\r\n" +
		"X-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Length: %d\r\n\r\n%s"
	for range 2 {
		c, err := net.Dial("tcp", strings.TrimPrefix(endpoint, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, head, 2, "{}")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("a whole request before the cut one: %v", err)
		}
		_ = resp.Body.Close()
		fmt.Fprintf(c, head, 100, "{")
		c.Close()
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after aborted requests: %v", err)
	}
}
