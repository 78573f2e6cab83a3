package stores_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
)

// TestOpen opens every backend through its address, writes a dataset and
// big-segment data through one store, and reads them through a second
// store opened from the same address.
func TestOpen(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		w, err := stores.Open(ctx, addr)
		if err != nil {
			t.Fatalf("Open(%q): %v", addr, err)
		}
		defer w.Close()
		item, err := store.ItemFromJSON([]byte(`{"key":"f","version":3,"on":true}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: item}}}}); err != nil {
			t.Fatalf("Init: %v", err)
		}
		bw, ok := w.(store.BigSegmentWriter)
		if !ok {
			t.Fatalf("%T is not a store.BigSegmentWriter", w)
		}
		at := time.UnixMilli(time.Now().UnixMilli())
		if err := bw.SetSynchronizedOn(ctx, at); err != nil {
			t.Fatalf("SetSynchronizedOn: %v", err)
		}

		a, err := stores.Parse(addr)
		if err != nil {
			t.Fatal(err)
		}
		r, err := a.Open(ctx, &stores.OpenOptions{ReadOnly: true})
		if err != nil {
			t.Fatalf("Open read-only: %v", err)
		}
		defer r.Close()
		got, found, err := r.Get(ctx, store.Features, "f")
		if err != nil || !found || got.Version != 3 {
			t.Fatalf("Get = %+v, %v, %v; want version 3", got, found, err)
		}
		if ok, err := r.Initialized(ctx); err != nil || !ok {
			t.Fatalf("Initialized = %v, %v", ok, err)
		}
		br, ok := r.(store.BigSegmentReader)
		if !ok {
			t.Fatalf("%T is not a store.BigSegmentReader", r)
		}
		on, set, err := br.SynchronizedOn(ctx)
		if err != nil || !set || !on.Equal(at) {
			t.Fatalf("SynchronizedOn = %v, %v, %v; want %v", on, set, err, at)
		}
		if _, ok := r.(store.MembershipScanner); !ok {
			t.Errorf("%T is not a store.MembershipScanner", r)
		}
		if _, ok := r.(store.Pinger); !ok {
			t.Errorf("%T is not a store.Pinger", r)
		}
	})
}

// TestOpenPrefixesIsolate checks that the prefix parameter reaches the
// backend: two prefixes on one store are two datasets.
func TestOpenPrefixesIsolate(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		ctx := context.Background()
		other := otherPrefix(t, addr)
		s1, err := stores.Open(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		defer s1.Close()
		if err := s1.Init(ctx, nil); err != nil {
			t.Fatalf("Init: %v", err)
		}
		// bbolt lets one Store write a file at a time: close the first
		// before opening the second.
		s1.Close()
		s2, err := stores.Open(ctx, other)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		if ok, err := s2.Initialized(ctx); err != nil || ok {
			t.Fatalf("another prefix is initialized: %v, %v", ok, err)
		}
	})
}

// otherPrefix returns addr with another prefix.
func otherPrefix(t *testing.T, addr string) string {
	t.Helper()
	a, err := stores.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p := "other-" + testaddrs.Token()
	if strings.Contains(a.Prefix, "{") {
		p = "{" + p + "}"
	}
	if i := strings.Index(addr, "prefix="); i >= 0 {
		j := strings.IndexByte(addr[i:], '&')
		if j < 0 {
			return addr[:i] + "prefix=" + p
		}
		return addr[:i] + "prefix=" + p + addr[i+j:]
	}
	return addr + "?prefix=" + p
}

func TestOpenBoltReadOnlyCreatesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "flags.db")
	a, err := stores.Parse("bolt:" + path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Open(context.Background(), &stores.OpenOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A reader says the file does not exist, with its absolute path.
	if ok, err := s.Initialized(context.Background()); !errors.Is(err, fs.ErrNotExist) || ok || !strings.Contains(err.Error(), path) {
		t.Fatalf("Initialized = %v, %v; want an error saying %s does not exist", ok, err, path)
	}
	if err := s.Init(context.Background(), nil); err == nil {
		t.Fatal("Init on a read-only store succeeded")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, "*")); len(matches) != 0 {
		t.Fatalf("a read-only open created %v", matches)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	_, err := stores.Open(ctx, "nope")
	var ae *stores.AddressError
	if !errors.As(err, &ae) {
		t.Fatalf("Open(bad address) = %v, want an *AddressError", err)
	}
	// A corrupt bbolt file fails a read-only open, naming the address; a
	// writer opens it (a full write may replace it) and its reads name it.
	path := filepath.Join(t.TempDir(), "bad.db")
	if err := writeFile(path, []byte("this is not a bbolt file, not at all, no")); err != nil {
		t.Fatal(err)
	}
	a, err := stores.Parse("bolt:" + path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Open(ctx, &stores.OpenOptions{ReadOnly: true})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open(corrupt file) = %v; want an error naming the file", err)
	}
	w, err := stores.Open(ctx, "bolt:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.Initialized(ctx); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Initialized on a corrupt file = %v; want an error naming the file", err)
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }
