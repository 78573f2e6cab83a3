package redis

import (
	"context"
	"errors"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// GetChecked answers what Initialized and Get answer alone, on a single
// server and on a Cluster (a hash-tagged prefix: one node; an unhashed one:
// the two keys may be on two nodes), for a stored item, a missing key, a
// store without its marker and a malformed item; a closed store and an empty
// kind are errors.
func TestGetChecked(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(t *testing.T, prefix string) *Store
		tag  bool
	}{
		{"single", func(t *testing.T, p string) *Store { return openSingle(t, p) }, false},
		{"cluster tagged", func(t *testing.T, p string) *Store { return openCluster(t, p, false) }, true},
		{"cluster unhashed", func(t *testing.T, p string) *Store { return openCluster(t, p, true) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := ctxT(t)
			p := testPrefix("checked")
			if tc.tag {
				p = taggedPrefix("checked")
			}
			s := tc.open(t, p)
			same := func(kind store.Kind, key string) {
				t.Helper()
				inited, initErr, it, found, err := s.GetChecked(ctx, kind, key)
				wantInited, wantInitErr := s.Initialized(ctx)
				wantIt, wantFound, wantErr := s.Get(ctx, kind, key)
				if inited != wantInited || (initErr == nil) != (wantInitErr == nil) {
					t.Errorf("GetChecked %s %q: inited %v, %v; Initialized says %v, %v", kind, key, inited, initErr, wantInited, wantInitErr)
				}
				if found != wantFound || it.Version != wantIt.Version || string(it.Data) != string(wantIt.Data) ||
					(err == nil) != (wantErr == nil) || errors.Is(err, store.ErrMalformedItem) != errors.Is(wantErr, store.ErrMalformedItem) {
					t.Errorf("GetChecked %s %q: %v %v %v; Get says %v %v %v", kind, key, it, found, err, wantIt, wantFound, wantErr)
				}
			}
			same(store.Features, "f") // no marker, no item
			if inited, _, _, _, _ := s.GetChecked(ctx, store.Features, "f"); inited {
				t.Error("GetChecked: inited on an empty prefix")
			}
			it, err := store.ItemFromJSON([]byte(`{"key":"f","version":3}`))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: it}}}}); err != nil {
				t.Fatal(err)
			}
			same(store.Features, "f")
			same(store.Features, "missing")
			same(store.Segments, "f")
			if inited, initErr, got, found, err := s.GetChecked(ctx, store.Features, "f"); !inited || initErr != nil || !found || err != nil || got.Version != 3 {
				t.Errorf("GetChecked after Init = %v, %v, %v, %v, %v; want the item of version 3 and inited", inited, initErr, got, found, err)
			}
			if err := s.client.HSet(ctx, s.keys.kind(store.Features), "bad", `{"version":`).Err(); err != nil {
				t.Fatal(err)
			}
			same(store.Features, "bad")
			if inited, initErr, _, _, err := s.GetChecked(ctx, store.Features, "bad"); !inited || initErr != nil || !errors.Is(err, store.ErrMalformedItem) {
				t.Errorf("GetChecked of a malformed item: inited %v, %v, err %v; want inited and ErrMalformedItem", inited, initErr, err)
			}
			if _, initErr, _, _, err := s.GetChecked(ctx, "", "f"); initErr != nil || err == nil {
				t.Errorf("GetChecked of an empty kind: %v, %v; want the check and an error for the read", initErr, err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, initErr, _, _, err := s.GetChecked(context.Background(), store.Features, "f"); !errors.Is(initErr, ErrClosed) || !errors.Is(err, ErrClosed) {
				t.Errorf("GetChecked after Close: %v, %v; want ErrClosed twice", initErr, err)
			}
		})
	}
}
