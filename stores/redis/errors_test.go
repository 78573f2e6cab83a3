package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/store"
)

// wantErr checks that err is non-nil, mentions every part, and wraps (or
// does not wrap) store.ErrUnavailable.
func wantErr(t *testing.T, what string, err error, unavailable bool, parts ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: nil error", what)
		return
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not mention %q", what, err, p)
		}
	}
	if got := errors.Is(err, store.ErrUnavailable); got != unavailable {
		t.Errorf("%s: errors.Is(err, store.ErrUnavailable) = %v, want %v (err: %v)", what, got, unavailable, err)
	}
}

func TestClusterRefusesUnhashedPrefix(t *testing.T) {
	addrs := clusterAddrs(t)
	for _, prefix := range []string{"", "launchdarkly", "no-tag", "{}empty-tag", "open{only"} {
		s, err := New(Options{Addrs: addrs, Prefix: prefix})
		if err == nil {
			_ = s.Close()
			t.Errorf("New on a Cluster with prefix %q succeeded; want an error", prefix)
			continue
		}
		if !strings.Contains(err.Error(), "hash tag") || !strings.Contains(err.Error(), "{") {
			t.Errorf("prefix %q: error %q does not tell the user to use a {hash tag}", prefix, err)
		}
	}
	// The default prefix's error names the fix.
	_, err := New(Options{Addrs: addrs})
	if err == nil || !strings.Contains(err.Error(), `"{launchdarkly}"`) {
		t.Errorf("default prefix on a Cluster: error %v does not suggest {launchdarkly}", err)
	}
	// The same through a redis+cluster URL with one seed, and through NewFromClient.
	_, err = New(Options{URL: "redis+cluster://" + addrs[0] + "?prefix=launchdarkly"})
	if err == nil {
		t.Error("redis+cluster URL with an unhashed prefix: no error")
	}
	cc := rawCluster(t)
	if _, err := NewFromClient(cc, Options{Prefix: "launchdarkly"}); err == nil {
		t.Error("NewFromClient(ClusterClient) with an unhashed prefix: no error")
	}
	// Opting in works, and braces without a valid tag stay refused.
	s, err := NewFromClient(cc, Options{AllowUnhashedClusterPrefix: true})
	if err != nil {
		t.Fatalf("AllowUnhashedClusterPrefix: %v", err)
	}
	if s.AtomicInit() || s.Prefix() != "launchdarkly" {
		t.Errorf("AtomicInit = %v, Prefix = %q", s.AtomicInit(), s.Prefix())
	}
	if _, err := NewFromClient(cc, Options{Prefix: "{}x", AllowUnhashedClusterPrefix: true}); err == nil {
		t.Error("a prefix with braces but no valid tag was accepted with AllowUnhashedClusterPrefix")
	}
	// A single server takes any prefix.
	if _, err := NewFromClient(rawSingle(t), Options{Prefix: "launchdarkly"}); err != nil {
		t.Errorf("single server: %v", err)
	}
}

func TestWrongTypeIsClearError(t *testing.T) {
	ctx := ctxT(t)
	p := testPrefix("wrongtype")
	raw := rawSingle(t)
	s := openSingle(t, p)
	hash := contextHash("k")
	for _, key := range []string{p + ":features", p + ":big_segment_include:" + hash, p + ":big_segments_synchronized_on"} {
		if err := raw.HSet(ctx, key, "x", "y").Err(); err != nil { // a hash where a set or string belongs too
			t.Fatal(err)
		}
	}
	if err := raw.Set(ctx, p+":features", "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	_, _, err := s.Get(ctx, store.Features, "f")
	wantErr(t, "Get", err, false, "WRONGTYPE", "features", `"f"`, "another Redis type")
	_, err = s.GetAll(ctx, store.Features)
	wantErr(t, "GetAll", err, false, "WRONGTYPE")
	_, err = s.Upsert(ctx, store.Features, "f", mustItem(t, `{"version":1}`))
	wantErr(t, "Upsert", err, false, "WRONGTYPE")
	_, err = s.Membership(ctx, hash)
	wantErr(t, "Membership", err, false, "WRONGTYPE")
	err = s.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: hash, SegmentRef: "s.g1"}})
	wantErr(t, "ApplyMembership", err, false, "WRONGTYPE")
	_, _, err = s.SynchronizedOn(ctx)
	wantErr(t, "SynchronizedOn", err, false, "WRONGTYPE")
	// Init replaces whatever is at the collection keys.
	if err := s.Init(ctx, nil); err != nil {
		t.Fatalf("Init over a wrong type: %v", err)
	}
	if _, _, err := s.Get(ctx, store.Features, "f"); err != nil {
		t.Errorf("Get after Init: %v", err)
	}
}

func TestMalformedItem(t *testing.T) {
	ctx := ctxT(t)
	p := testPrefix("malformed")
	raw := rawSingle(t)
	s := openSingle(t, p)
	cases := map[string]string{
		"not-json":      `{"version":`,
		"array":         `[1,2]`,
		"float-version": `{"key":"x","version":1.5}`,
		"string":        `"just a string"`,
	}
	for key, data := range cases {
		if err := raw.HSet(ctx, p+":segments", key, data).Err(); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.Get(ctx, store.Segments, key)
		if !errors.Is(err, store.ErrMalformedItem) {
			t.Errorf("Get %q: error %v does not wrap ErrMalformedItem", key, err)
			continue
		}
		wantErr(t, "Get "+key, err, false, "segments", fmt.Sprintf("%q", key))
		if err := raw.HDel(ctx, p+":segments", key).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// One bad value does not hide the rest: GetAll returns every item, the
	// malformed ones with Version 0 and their raw bytes (store.Reader.GetAll).
	if err := raw.HSet(ctx, p+":segments", "ok", `{"version":1}`, "bad", `{`, "f1", "not json").Err(); err != nil {
		t.Fatal(err)
	}
	all, err := s.GetAll(ctx, store.Segments)
	if err != nil {
		t.Fatalf("GetAll with malformed items: %v; want the items", err)
	}
	got := map[string]store.Item{}
	for _, ki := range all {
		got[ki.Key] = ki.Item
	}
	if len(got) != 3 || got["ok"].Version != 1 {
		t.Errorf("GetAll = %v; want ok (v1), bad and f1", all)
	}
	for key, data := range map[string]string{"bad": `{`, "f1": "not json"} {
		it := got[key]
		if it.Version != 0 || it.Deleted || string(it.Data) != data {
			t.Errorf("GetAll item %q = %+v; want Version 0 and raw data %q", key, it, data)
		}
		if _, _, err := store.ParseVersion(it.Data); !errors.Is(err, store.ErrMalformedItem) {
			t.Errorf("ParseVersion of GetAll item %q: %v; want ErrMalformedItem", key, err)
		}
	}
	if err := raw.HDel(ctx, p+":segments", "f1").Err(); err != nil {
		t.Fatal(err)
	}
	// A malformed stored item is replaced by any valid upsert.
	applied, err := s.Upsert(ctx, store.Segments, "bad", mustItem(t, `{"key":"bad","version":1}`))
	if err != nil || !applied {
		t.Errorf("Upsert over a malformed item = %v, %v; want applied", applied, err)
	}
	if _, err := s.GetAll(ctx, store.Segments); err != nil {
		t.Errorf("GetAll after repair: %v", err)
	}
	// A malformed synchronized-on time.
	if err := raw.Set(ctx, p+":big_segments_synchronized_on", "yesterday", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.SynchronizedOn(ctx); !errors.Is(err, store.ErrMalformedItem) {
		t.Errorf("SynchronizedOn of %q: %v", "yesterday", err)
	}
}

func TestInvalidWritesSendNothing(t *testing.T) {
	ctx := ctxT(t)
	s := openSingle(t, testPrefix("invalid"))
	err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{
		{Key: "ok", Item: mustItem(t, `{"version":1}`)},
		{Key: "empty", Item: store.Item{Version: 1}},
	}}})
	if err == nil || !strings.Contains(err.Error(), `"empty"`) {
		t.Errorf("Init with an item without data: %v", err)
	}
	if ok, _ := s.Initialized(ctx); ok {
		t.Error("a refused Init set $inited")
	}
	if _, err := s.Upsert(ctx, store.Features, "empty", store.Item{Version: 1}); err == nil {
		t.Error("Upsert of an item without data: no error")
	}
	err = s.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}, {ContextHash: "", SegmentRef: "s.g1"}})
	if err == nil {
		t.Error("ApplyMembership with an empty hash: no error")
	}
	if m, _ := s.Membership(ctx, "h"); len(m.Included) != 0 {
		t.Error("a refused ApplyMembership wrote its valid changes")
	}
	if err := s.SetSynchronizedOn(ctx, time.UnixMilli(-1)); err == nil {
		t.Error("SetSynchronizedOn before 1970: no error")
	}
	for _, kind := range []store.Kind{""} {
		if _, _, err := s.Get(ctx, kind, "k"); err == nil {
			t.Error("Get with an empty kind: no error")
		}
	}
}

func TestConnectionRefusedIsUnavailableQuickly(t *testing.T) {
	port := freePort(t) // nothing listens there
	s := mustOpen(t, Options{URL: fmt.Sprintf("redis://127.0.0.1:%d", port), Prefix: testPrefix("refused")})
	ctx := ctxT(t)
	start := time.Now()
	_, _, err := s.Get(ctx, store.Features, "f")
	wantErr(t, "Get", err, true, "connection refused")
	t.Logf("Get: %v after %v", err, time.Since(start))
	_, err = s.GetAll(ctx, store.Features)
	wantErr(t, "GetAll", err, true)
	_, err = s.Initialized(ctx)
	wantErr(t, "Initialized", err, true)
	wantErr(t, "Ping", s.Ping(ctx), true)
	wantErr(t, "Init", s.Init(ctx, nil), true)
	_, err = s.Upsert(ctx, store.Features, "f", mustItem(t, `{"version":1}`))
	wantErr(t, "Upsert", err, true)
	_, err = s.Membership(ctx, "h")
	wantErr(t, "Membership", err, true)
	_, _, err = s.SynchronizedOn(ctx)
	wantErr(t, "SynchronizedOn", err, true)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("8 calls on a refused connection took %v; want an immediate failure", d)
	}
}

func TestTimeoutIsUnavailable(t *testing.T) {
	// A listener that accepts and never answers, like a hung server.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	// Not mustOpen: its cleanup would wait on the silent server too.
	open := func(o Options) *Store {
		s, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s := open(Options{Addrs: []string{l.Addr().String()}, Redis: goredis.UniversalOptions{ReadTimeout: 100 * time.Millisecond, MaxRetries: -1}})
	start := time.Now()
	_, _, err = s.Get(ctxT(t), store.Features, "f")
	wantErr(t, "Get on a silent server", err, true, "timeout")
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Get took %v with a 100ms read timeout", d)
	}
	// A caller's deadline counts as unavailability too; cancellation does not.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s2 := open(Options{Addrs: []string{l.Addr().String()}, Redis: goredis.UniversalOptions{ReadTimeout: 10 * time.Second, MaxRetries: -1}})
	start = time.Now()
	_, _, err = s2.Get(ctx, store.Features, "f")
	wantErr(t, "Get past the context deadline", err, true)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Get took %v with a 50ms context deadline", d)
	}
}

// TestClusterNodeWithPlainClient connects a single-node client to one Cluster
// node: keys of other nodes' slots answer MOVED, keys of two slots in one
// transaction CROSSSLOT; both errors explain themselves, and a failed
// transaction writes nothing.
func TestClusterNodeWithPlainClient(t *testing.T) {
	addrs := clusterAddrs(t)
	ctx := ctxT(t)
	raw := rawCluster(t)
	var sawMoved, sawCrossSlot bool
	// About one prefix in three has its features key on the first node, and
	// one in nine of those its other keys there too, but in other slots.
	for i := 0; i < 1000 && !(sawMoved && sawCrossSlot); i++ {
		p := testPrefix(fmt.Sprintf("plain-%d", i))
		s, err := New(Options{Addrs: addrs[:1], Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Get(ctx, store.Features, "f")
		if err != nil {
			wantErr(t, "Get", err, false, "MOVED", "cluster client")
			sawMoved = true
			_ = s.Close()
			continue
		}
		if err = s.Init(ctx, nil); err != nil && strings.Contains(err.Error(), "CROSSSLOT") {
			wantErr(t, "Init", err, false, "CROSSSLOT", "hash tag")
			sawCrossSlot = true
		}
		if err != nil {
			// Nothing of the failed transaction may be visible.
			if n := raw.Exists(ctx, p+":$inited").Val(); n != 0 {
				t.Errorf("a failed Init left %s:$inited", p)
			}
		}
		_ = s.Close()
	}
	if !sawMoved || !sawCrossSlot {
		t.Errorf("saw MOVED %v, CROSSSLOT %v", sawMoved, sawCrossSlot)
	}
}

func TestCanceledContextIsNotUnavailable(t *testing.T) {
	s := openSingle(t, testPrefix("canceled"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := s.Get(ctx, store.Features, "f")
	if !errors.Is(err, context.Canceled) || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get with a canceled context: %v; want context.Canceled, not ErrUnavailable", err)
	}
}

func TestClosedStore(t *testing.T) {
	s := openSingle(t, testPrefix("closed"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx := ctxT(t)
	if _, _, err := s.Get(ctx, store.Features, "f"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := s.Membership(ctx, "h"); !errors.Is(err, ErrClosed) {
		t.Errorf("Membership after Close: %v", err)
	}
	if err := s.ScanMembership(ctx, func(string, store.Membership) error { return nil }); !errors.Is(err, ErrClosed) {
		t.Errorf("ScanMembership after Close: %v", err)
	}
	// A client passed in stays open after Close.
	raw := rawSingle(t)
	s2, err := NewFromClient(raw, Options{Prefix: testPrefix("closed2")})
	if err != nil {
		t.Fatal(err)
	}
	_ = s2.Close()
	if err := raw.Ping(ctx).Err(); err != nil {
		t.Errorf("the caller's client was closed: %v", err)
	}
	_ = goredis.Nil
}
