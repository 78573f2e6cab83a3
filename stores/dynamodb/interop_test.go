package dynamodb

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/daemonflag/daemonflag/store"
)

// These tests pin the table layout against LaunchDarkly's DynamoDB
// integration: items written with raw requests exactly as it writes them are
// read through the store, and items the store writes are read back raw.

func avS(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func avN(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func avSS(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }

func prefixed(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + ":" + name
}

func TestInteropReadsLaunchDarklyItems(t *testing.T) {
	for _, withPrefix := range []bool{false, true} {
		t.Run("prefix="+strconv.FormatBool(withPrefix), func(t *testing.T) {
			// Without a prefix the namespaces are bare; a unique table keeps
			// this run apart from others.
			prefix := ""
			if withPrefix {
				prefix = uniquePrefix("ld")
			}
			opts := testOptions(t, prefix)
			if !withPrefix {
				opts.Table = "daemonflag-interop-" + randomToken()
				opts.CreateTable = true
			}
			st, err := New(t.Context(), opts)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			c, _ := rawClient(t)
			table := opts.Table
			if !withPrefix {
				t.Cleanup(func() {
					_, _ = c.DeleteTable(t.Context(), &ddb.DeleteTableInput{TableName: aws.String(table)})
				})
			}
			put := func(item map[string]types.AttributeValue) {
				t.Helper()
				if _, err := c.PutItem(t.Context(), &ddb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
					t.Fatalf("raw PutItem: %v", err)
				}
			}

			ok, err := st.Initialized(t.Context())
			if err != nil || ok {
				t.Fatalf("Initialized before marker = %v, %v", ok, err)
			}

			flagJSON := `{"key":"flag-a","version":12,"on":true,"variations":[true,false],"prerequisites":[],"salt":"x"}`
			segJSON := `{"key":"seg-a","version":3,"included":["u1"],"unbounded":false}`
			tombJSON := `{"key":"gone","version":7,"deleted":true}`
			put(map[string]types.AttributeValue{
				"namespace": avS(prefixed(prefix, "features")), "key": avS("flag-a"), "version": avN(12), "item": avS(flagJSON),
			})
			put(map[string]types.AttributeValue{
				"namespace": avS(prefixed(prefix, "features")), "key": avS("gone"), "version": avN(7), "item": avS(tombJSON),
			})
			put(map[string]types.AttributeValue{
				"namespace": avS(prefixed(prefix, "segments")), "key": avS("seg-a"), "version": avN(3), "item": avS(segJSON),
			})
			inited := prefixed(prefix, "$inited")
			put(map[string]types.AttributeValue{"namespace": avS(inited), "key": avS(inited)})
			meta := prefixed(prefix, "big_segments_metadata")
			put(map[string]types.AttributeValue{"namespace": avS(meta), "key": avS(meta), "synchronizedOn": avN(1700000000123)})
			// Memberships the way LaunchDarkly's big-segment writers add them:
			// UpdateItem ADD of a one-element string set.
			hash := "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0="
			for _, a := range []struct{ attr, ref string }{{"included", "big.g1"}, {"included", "other.g2"}, {"excluded", "big.g3"}} {
				_, err := c.UpdateItem(t.Context(), &ddb.UpdateItemInput{
					TableName: aws.String(table),
					Key: map[string]types.AttributeValue{
						"namespace": avS(prefixed(prefix, "big_segments_user")), "key": avS(hash),
					},
					UpdateExpression:          aws.String("ADD " + a.attr + " :value"),
					ExpressionAttributeValues: map[string]types.AttributeValue{":value": avSS(a.ref)},
				})
				if err != nil {
					t.Fatalf("raw UpdateItem: %v", err)
				}
			}

			ok, err = st.Initialized(t.Context())
			if err != nil || !ok {
				t.Fatalf("Initialized = %v, %v; want true", ok, err)
			}
			it, found, err := st.Get(t.Context(), store.Features, "flag-a")
			if err != nil || !found || it.Version != 12 || it.Deleted || string(it.Data) != flagJSON {
				t.Fatalf("Get flag-a = %+v %v %v", it, found, err)
			}
			it, found, err = st.Get(t.Context(), store.Features, "gone")
			if err != nil || !found || it.Version != 7 || !it.Deleted {
				t.Fatalf("Get gone = %+v %v %v; want a tombstone at version 7", it, found, err)
			}
			all, err := st.GetAll(t.Context(), store.Segments)
			if err != nil || len(all) != 1 || all[0].Key != "seg-a" || string(all[0].Item.Data) != segJSON || all[0].Item.Version != 3 {
				t.Fatalf("GetAll segments = %+v, %v", all, err)
			}
			at, ok, err := st.SynchronizedOn(t.Context())
			if err != nil || !ok || at.UnixMilli() != 1700000000123 {
				t.Fatalf("SynchronizedOn = %v %v %v", at, ok, err)
			}
			m, err := st.Membership(t.Context(), hash)
			slices.Sort(m.Included)
			if err != nil || !slices.Equal(m.Included, []string{"big.g1", "other.g2"}) || !slices.Equal(m.Excluded, []string{"big.g3"}) {
				t.Fatalf("Membership = %+v, %v", m, err)
			}
			// Our conditional upsert respects the version LaunchDarkly stored.
			if applied, err := st.Upsert(t.Context(), store.Features, "flag-a", mustItem(t, `{"key":"flag-a","version":11}`)); err != nil || applied {
				t.Fatalf("Upsert of an older version: applied=%v err=%v", applied, err)
			}
		})
	}
}

func mustItem(t testing.TB, js string) store.Item {
	t.Helper()
	it, err := store.ItemFromJSON([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func TestInteropWritesLaunchDarklyItems(t *testing.T) {
	prefix := uniquePrefix("ours")
	st := newTestStore(t, prefix)
	c, table := rawClient(t)
	get := func(ns, key string) map[string]types.AttributeValue {
		t.Helper()
		out, err := c.GetItem(t.Context(), &ddb.GetItemInput{
			TableName: aws.String(table), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{"namespace": avS(ns), "key": avS(key)},
		})
		if err != nil {
			t.Fatalf("raw GetItem %s/%s: %v", ns, key, err)
		}
		return out.Item
	}
	wantAttrs := func(what string, got, want map[string]types.AttributeValue) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d attributes %v, want %d", what, len(got), keys(got), len(want))
		}
		for name, w := range want {
			g, ok := got[name]
			if !ok {
				t.Fatalf("%s: no attribute %q", what, name)
			}
			if !sameValue(g, w) {
				t.Fatalf("%s: attribute %q = %#v, want %#v", what, name, g, w)
			}
		}
	}

	flagJSON := `{"key":"f","version":4,"on":false,"prerequisites":[{"key":"p","variation":0}]}`
	prereqJSON := `{"key":"p","version":1}`
	segJSON := `{"key":"sg","version":2,"unbounded":true,"generation":1}`
	err := st.Init(t.Context(), []store.Collection{
		{Kind: store.Features, Items: []store.KeyedItem{
			{Key: "f", Item: mustItem(t, flagJSON)}, {Key: "p", Item: mustItem(t, prereqJSON)},
			{Key: "dead", Item: store.Tombstone("dead", 9)},
		}},
		{Kind: store.Segments, Items: []store.KeyedItem{{Key: "sg", Item: mustItem(t, segJSON)}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	fns, sns := prefix+":features", prefix+":segments"
	wantAttrs("flag", get(fns, "f"), map[string]types.AttributeValue{
		"namespace": avS(fns), "key": avS("f"), "version": avN(4), "item": avS(flagJSON)})
	wantAttrs("tombstone", get(fns, "dead"), map[string]types.AttributeValue{
		"namespace": avS(fns), "key": avS("dead"), "version": avN(9), "item": avS(string(store.Tombstone("dead", 9).Data))})
	wantAttrs("segment", get(sns, "sg"), map[string]types.AttributeValue{
		"namespace": avS(sns), "key": avS("sg"), "version": avN(2), "item": avS(segJSON)})
	inited := prefix + ":$inited"
	wantAttrs("$inited", get(inited, inited), map[string]types.AttributeValue{"namespace": avS(inited), "key": avS(inited)})

	newer := `{"key":"f","version":5,"on":true}`
	if applied, err := st.Upsert(t.Context(), store.Features, "f", mustItem(t, newer)); err != nil || !applied {
		t.Fatalf("Upsert: %v %v", applied, err)
	}
	wantAttrs("upserted flag", get(fns, "f"), map[string]types.AttributeValue{
		"namespace": avS(fns), "key": avS("f"), "version": avN(5), "item": avS(newer)})

	at := time.UnixMilli(1712345678901)
	if err := st.SetSynchronizedOn(t.Context(), at); err != nil {
		t.Fatal(err)
	}
	meta := prefix + ":big_segments_metadata"
	wantAttrs("metadata", get(meta, meta), map[string]types.AttributeValue{
		"namespace": avS(meta), "key": avS(meta), "synchronizedOn": avN(1712345678901)})

	hash := "CEXjZY7cHJG/ydFy7q4+YEFwVrG3/pkJwA4FAjrbfx0="
	err = st.ApplyMembership(t.Context(), []store.MembershipChange{
		{ContextHash: hash, SegmentRef: "sg.g1"},
		{ContextHash: hash, SegmentRef: "x.g2"},
		{ContextHash: hash, SegmentRef: "y.g1", Excluded: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	users := prefix + ":big_segments_user"
	wantAttrs("membership", get(users, hash), map[string]types.AttributeValue{
		"namespace": avS(users), "key": avS(hash), "included": avSS("sg.g1", "x.g2"), "excluded": avSS("y.g1")})
}

func keys(m map[string]types.AttributeValue) []string {
	var k []string
	for name := range m {
		k = append(k, name)
	}
	slices.Sort(k)
	return k
}

func sameValue(a, b types.AttributeValue) bool {
	switch a := a.(type) {
	case *types.AttributeValueMemberS:
		b, ok := b.(*types.AttributeValueMemberS)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberN:
		b, ok := b.(*types.AttributeValueMemberN)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberSS:
		b, ok := b.(*types.AttributeValueMemberSS)
		if !ok {
			return false
		}
		x, y := slices.Clone(a.Value), slices.Clone(b.Value)
		slices.Sort(x)
		slices.Sort(y)
		return slices.Equal(x, y)
	}
	return false
}
