package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testlog"
	"github.com/daemonflag/daemonflag/store"
)

// The commands the package documentation lists for an ACL user.
var (
	aclReaderCommands  = []string{"hget", "hgetall", "exists", "smembers", "get"}
	aclWriterCommands  = []string{"hset", "del", "set", "sadd", "srem", "watch", "unwatch", "multi", "exec", "discard", "scan"}
	aclClusterCommands = []string{"cluster|slots"}
	aclNotifyReader    = []string{"subscribe", "ssubscribe", "ping"}
	aclNotifyWriter    = []string{"publish", "spublish"}
	aclUnhashedInit    = []string{"rename", "expire", "persist"}
)

// aclRules builds ACL SETUSER rules: on, a password, only the key patterns
// and commands given.
func aclRules(password string, keyPatterns []string, commands ...[]string) []any {
	rules := []any{"reset", "on", ">" + password, "resetchannels", "-@all"}
	for _, p := range keyPatterns {
		rules = append(rules, "~"+p)
	}
	for _, list := range commands {
		for _, c := range list {
			rules = append(rules, "+"+c)
		}
	}
	return rules
}

// everything runs every call of the store, returning the first error.
func everything(ctx context.Context, t *testing.T, s *Store) error {
	it := mustItem(t, `{"key":"f","version":1}`)
	steps := []struct {
		name string
		fn   func() error
	}{
		{"Init", func() error {
			return s.Init(ctx, []store.Collection{
				{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: it}}},
				{Kind: store.Segments, Items: []store.KeyedItem{{Key: "s", Item: it}}},
			})
		}},
		{"Get", func() error { _, _, err := s.Get(ctx, store.Features, "f"); return err }},
		{"GetAll", func() error { _, err := s.GetAll(ctx, store.Segments); return err }},
		{"Initialized", func() error { _, err := s.Initialized(ctx); return err }},
		{"Ping", func() error { return s.Ping(ctx) }},
		{"Upsert applied", func() error {
			ok, err := s.Upsert(ctx, store.Features, "f", mustItem(t, `{"version":2}`))
			if err == nil && !ok {
				err = errors.New("not applied")
			}
			return err
		}},
		{"Upsert not applied", func() error { _, err := s.Upsert(ctx, store.Features, "f", it); return err }},
		{"ApplyMembership", func() error {
			return s.ApplyMembership(ctx, []store.MembershipChange{
				{ContextHash: "h1", SegmentRef: "s.g1"}, {ContextHash: "h2", SegmentRef: "s.g1", Excluded: true},
				{ContextHash: "h1", SegmentRef: "s.g0", Remove: true},
			})
		}},
		{"Membership", func() error { _, err := s.Membership(ctx, "h1"); return err }},
		{"SetSynchronizedOn", func() error { return s.SetSynchronizedOn(ctx, time.Now()) }},
		{"SynchronizedOn", func() error { _, _, err := s.SynchronizedOn(ctx); return err }},
		{"ScanMembership", func() error {
			n := 0
			err := s.ScanMembership(ctx, func(string, store.Membership) error { n++; return nil })
			if err == nil && n != 2 {
				err = fmt.Errorf("scanned %d memberships, want 2", n)
			}
			return err
		}},
	}
	for _, st := range steps {
		if err := st.fn(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
	}
	return nil
}

// reads runs the read side of the store.
func reads(ctx context.Context, s *Store) error {
	if _, _, err := s.Get(ctx, store.Features, "f"); err != nil {
		return err
	}
	if _, err := s.GetAll(ctx, store.Features); err != nil {
		return err
	}
	if _, err := s.Initialized(ctx); err != nil {
		return err
	}
	if err := s.Ping(ctx); err != nil {
		return err
	}
	if _, err := s.Membership(ctx, "h1"); err != nil {
		return err
	}
	_, _, err := s.SynchronizedOn(ctx)
	return err
}

// TestACL runs the store as ACL users limited to the documented commands
// and to the dataset's keys, on a server the test owns.
func TestACL(t *testing.T) {
	srv := startServer(t, plainArgs)
	ctx := ctxT(t)
	admin := goredis.NewClient(&goredis.Options{Addr: srv.addr()})
	t.Cleanup(func() { _ = admin.Close() })
	p := testPrefix("acl")
	setUser := func(name string, rules []any) {
		t.Helper()
		if err := admin.Do(ctx, append([]any{"ACL", "SETUSER", name}, rules...)...).Err(); err != nil {
			t.Fatalf("ACL SETUSER %s: %v", name, err)
		}
	}
	open := func(user, password string) *Store {
		return mustOpen(t, Options{URL: fmt.Sprintf("redis://%s:%s@%s", user, password, srv.addr()), Prefix: p})
	}

	setUser("df-writer", aclRules("w-pass", []string{p + ":*"}, aclReaderCommands, aclWriterCommands))
	setUser("df-reader", aclRules("r-pass", []string{p + ":*"}, aclReaderCommands))
	setUser("df-no-hset", aclRules("n-pass", []string{p + ":*"}, aclReaderCommands,
		slices.DeleteFunc(slices.Clone(aclWriterCommands), func(c string) bool { return c == "hset" })))

	w := open("df-writer", "w-pass")
	if err := everything(ctx, t, w); err != nil {
		t.Fatalf("writer with the documented commands: %v", err)
	}
	r := open("df-reader", "r-pass")
	if err := reads(ctx, r); err != nil {
		t.Errorf("reader with the documented commands: %v", err)
	}
	if err := r.Init(ctx, nil); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("Init by the reader: %v; want NOPERM", err)
	}
	_, err := open("df-no-hset", "n-pass").Upsert(ctx, store.Features, "f", mustItem(t, `{"version":9}`))
	if err == nil || !strings.Contains(err.Error(), "NOPERM") || !strings.Contains(err.Error(), "ACL user") {
		t.Errorf("Upsert without +hset: %v; want NOPERM with a hint", err)
	}
	// Keys outside the user's patterns are refused.
	other := mustOpen(t, Options{URL: fmt.Sprintf("redis://df-reader:r-pass@%s", srv.addr()), Prefix: p + "-other"})
	if _, _, err := other.Get(ctx, store.Features, "f"); err == nil || !strings.Contains(err.Error(), "NOPERM") {
		t.Errorf("Get outside the key pattern: %v; want NOPERM", err)
	}
	// With the channel pattern and the notification commands, a reader is
	// notified of a writer's change, and the writer publishes without a
	// warning.
	var wlog testlog.Buffer
	setUser("df-nwriter", append(aclRules("nw-pass", []string{p + ":*"}, aclReaderCommands, aclWriterCommands, aclNotifyWriter), "&"+p+":*"))
	setUser("df-nreader", append(aclRules("nr-pass", []string{p + ":*"}, aclReaderCommands, aclNotifyReader), "&"+p+":*"))
	nw := mustOpen(t, Options{URL: fmt.Sprintf("redis://df-nwriter:nw-pass@%s", srv.addr()), Prefix: p, Logger: wlog.Logger()})
	nr := open("df-nreader", "nr-pass")
	clog := newChangeLog()
	if err := nr.Notify(ctx, clog.fn); err != nil {
		t.Fatalf("Notify by a reader with the documented commands: %v", err)
	}
	if _, err := nw.Upsert(ctx, store.Features, "f", mustItem(t, `{"version":20}`)); err != nil {
		t.Fatalf("Upsert by a writer with the documented commands: %v", err)
	}
	clog.wait(t, "a change by an ACL writer", isItem(store.Features, "f"))
	if strings.Contains(wlog.String(), "may not publish") {
		t.Errorf("writer with PUBLISH warned: %s", wlog.String())
	}
	// A wrong password is named as such.
	_, _, err = open("df-reader", "nope").Get(ctx, store.Features, "f")
	if err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Errorf("wrong password: %v", err)
	}
}

// TestACLCluster does the same on the shared Cluster (users are created on
// every master and deleted afterwards), with a hash-tagged prefix and with
// an unhashed one.
func TestACLCluster(t *testing.T) {
	addrs := clusterAddrs(t)
	ctx := ctxT(t)
	admin := rawCluster(t)
	user := "df-acl-" + runToken
	forEach := func(args ...any) error {
		return admin.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error {
			return c.Do(ctx, args...).Err()
		})
	}
	t.Cleanup(func() { _ = forEach("ACL", "DELUSER", user) })
	for _, tc := range []struct {
		name     string
		prefix   string
		patterns func(p string) []string
		extra    []string
	}{
		{"tagged", taggedPrefix("acl"), func(p string) []string { return []string{p + ":*"} }, nil},
		// An unhashed Init also writes "{<prefix>:<kind>}:init:<token>".
		{"unhashed", testPrefix("acl-unhashed"), func(p string) []string { return []string{p + ":*", "{" + p + ":*"} }, aclUnhashedInit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() { dropPrefix(admin, tc.prefix) }) // the user may not delete
			rules := aclRules("c-pass", tc.patterns(tc.prefix), aclReaderCommands, aclWriterCommands, aclClusterCommands, tc.extra)
			if err := forEach(append([]any{"ACL", "SETUSER", user}, rules...)...); err != nil {
				t.Fatal(err)
			}
			s := mustOpen(t, Options{Addrs: addrs, Redis: goredis.UniversalOptions{Username: user, Password: "c-pass"}, Prefix: tc.prefix,
				AllowUnhashedClusterPrefix: tc.extra != nil})
			if err := everything(ctx, t, s); err != nil {
				t.Fatalf("Cluster user with the documented commands: %v", err)
			}
		})
	}
}
