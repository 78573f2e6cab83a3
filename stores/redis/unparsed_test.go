package redis

import (
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// GetAllUnparsed gives each stored JSON as is, and ItemFromStored of it is
// exactly GetAll's item: good items, a tombstone and malformed ones, on a
// single server and on a Cluster.
func TestGetAllUnparsed(t *testing.T) {
	ctx := ctxT(t)
	forUnparsedStores(t, "unparsed", func(t *testing.T, s *Store) {
		all, err := s.GetAll(ctx, store.Features)
		if err != nil {
			t.Fatal(err)
		}
		unparsed, err := s.GetAllUnparsed(ctx, store.Features)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]store.Item{}
		for _, ki := range all {
			want[ki.Key] = ki.Item
		}
		got := map[string]store.Item{}
		for _, ki := range unparsed {
			if string(ki.Item.Data) != unparsedStored[ki.Key] || ki.Item.Version != 0 || ki.Item.Deleted {
				t.Errorf("unparsed %s = %+v; want the stored JSON only", ki.Key, ki.Item)
			}
			got[ki.Key] = store.ItemFromStored(ki.Item.Data)
		}
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(unparsedStored))) {
			t.Fatalf("unparsed keys = %v; want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(unparsedStored)))
		}
		for key, w := range want {
			g := got[key]
			if g.Version != w.Version || g.Deleted != w.Deleted || string(g.Data) != string(w.Data) {
				t.Errorf("%s: ItemFromStored of the unparsed item = %+v; GetAll = %+v", key, g, w)
			}
		}
		if got["tombstone"].Version != 4 || !got["tombstone"].Deleted || got["ok"].Version != 3 || got["float"].Version != 0 {
			t.Errorf("items = %+v", got)
		}
		if _, err := s.GetAllUnparsed(ctx, ""); err == nil {
			t.Error("GetAllUnparsed of an empty kind: no error")
		}
	})
}

// GetUnparsed gives the stored JSON as is, ItemFromStored of it is exactly
// Get's item for every item Get accepts, and an item Get refuses as
// malformed comes back as stored (Version 0 from ItemFromStored); a missing
// key is not found, on a single server and on a Cluster.
func TestGetUnparsed(t *testing.T) {
	ctx := ctxT(t)
	forUnparsedStores(t, "getunparsed", func(t *testing.T, s *Store) {
		for key, doc := range unparsedStored {
			data, found, err := s.GetUnparsed(ctx, store.Features, key)
			if err != nil || !found || string(data) != doc {
				t.Errorf("GetUnparsed(%s) = %q, %v, %v; want the stored JSON", key, data, found, err)
				continue
			}
			it, found, err := s.Get(ctx, store.Features, key)
			fromStored := store.ItemFromStored(data)
			switch {
			case err != nil:
				if !errors.Is(err, store.ErrMalformedItem) || found {
					t.Errorf("Get(%s): %v, %v; want a malformed-item error", key, found, err)
				}
				if fromStored.Version != 0 || fromStored.Deleted {
					t.Errorf("%s: ItemFromStored = %+v; want Version 0 for an item Get refuses", key, fromStored)
				}
			case !found:
				t.Errorf("Get(%s): not found", key)
			case fromStored.Version != it.Version || fromStored.Deleted != it.Deleted || string(fromStored.Data) != string(it.Data):
				t.Errorf("%s: ItemFromStored of the unparsed item = %+v; Get = %+v", key, fromStored, it)
			}
		}
		if data, found, err := s.GetUnparsed(ctx, store.Features, "nope"); found || err != nil || data != nil {
			t.Errorf("GetUnparsed of a missing key = %q, %v, %v; want not found", data, found, err)
		}
		if _, _, err := s.GetUnparsed(ctx, "", "ok"); err == nil {
			t.Error("GetUnparsed of an empty kind: no error")
		}
		s.Close()
		if _, _, err := s.GetUnparsed(ctx, store.Features, "ok"); !errors.Is(err, ErrClosed) {
			t.Errorf("GetUnparsed on a closed store: %v, want ErrClosed", err)
		}
	})
}

// unparsedStored are the stored items of the unparsed-read tests: good
// items, a tombstone and malformed ones.
var unparsedStored = map[string]string{
	"ok":        `{"key":"ok","version":3,"on":true}`,
	"tombstone": `{"key":"tombstone","version":4,"deleted":true}`,
	"not-json":  `{"version":`,
	"float":     `{"key":"float","version":1.5}`,
	"empty":     ``,
}

// forUnparsedStores runs test on a single server and on a Cluster, each
// with a store under a new prefix that holds unparsedStored as flags.
func forUnparsedStores(t *testing.T, name string, test func(t *testing.T, s *Store)) {
	ctx := ctxT(t)
	for _, tc := range []struct {
		name string
		open func(t *testing.T, prefix string) *Store
		hset func(t *testing.T, key string, values ...any) error
	}{
		{"single", func(t *testing.T, p string) *Store { return openSingle(t, p) },
			func(t *testing.T, key string, values ...any) error {
				return rawSingle(t).HSet(ctx, key, values...).Err()
			}},
		{"cluster", func(t *testing.T, p string) *Store { return openCluster(t, p, false) },
			func(t *testing.T, key string, values ...any) error {
				return rawCluster(t).HSet(ctx, key, values...).Err()
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := taggedPrefix(name)
			s := tc.open(t, p)
			var args []any
			for k, v := range unparsedStored {
				args = append(args, k, v)
			}
			if err := tc.hset(t, p+":features", args...); err != nil {
				t.Fatal(err)
			}
			test(t, s)
		})
	}
}
