package stores_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/stores/file"
)

func TestParseFileAddress(t *testing.T) {
	a, err := stores.Parse("file:a.json,dir/b.yaml?duplicates=first&settle=50ms&poll_interval=2s&poll_only=true")
	if err != nil {
		t.Fatal(err)
	}
	if a.Backend != stores.File || len(a.FilePaths) != 2 || a.FilePaths[1] != "dir/b.yaml" || a.Prefix != "" {
		t.Fatalf("parsed %+v", a)
	}
	if o := a.File; !o.KeepFirstDuplicates || o.Settle != 50*time.Millisecond || o.PollInterval != 2*time.Second || !o.PollOnly {
		t.Errorf("options %+v", o)
	}
	if a, err := stores.Parse("file:///etc/flags/flags.yaml"); err != nil || a.FilePaths[0] != "/etc/flags/flags.yaml" {
		t.Errorf("file:///abs = %+v, %v", a, err)
	}
	for addr, msg := range map[string]string{
		"file:":                     "empty file path",
		"file:a.json,,b.json":       "empty file path",
		"file:a.json?duplicates=x":  `duplicates="x"`,
		"file:a.json?settle=soon":   "not a duration",
		"file:a.json?prefix=p":      `unknown parameter "prefix"`,
		"file:a.json?poll_only=yes": "not true or false",
	} {
		_, err := stores.Parse(addr)
		var ae *stores.AddressError
		if !errors.As(err, &ae) || !strings.Contains(err.Error(), msg) || !strings.HasPrefix(ae.Example, stores.ExampleFile) {
			t.Errorf("Parse(%q) = %v, want an AddressError containing %q with a file example", addr, err, msg)
		}
	}
}

func TestOpenFileAddress(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(a, []byte(`{"flagValues":{"x":1}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte("flagValues:\n  y: two\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := stores.Open(t.Context(), "file:"+a+","+b)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.GetAll(t.Context(), store.Features)
	if err != nil || len(all) != 2 {
		t.Fatalf("GetAll = %v, %v; want x and y", all, err)
	}
	if _, err := s.Upsert(t.Context(), store.Features, "x", all[0].Item); !errors.Is(err, file.ErrReadOnly) {
		t.Errorf("Upsert = %v, want file.ErrReadOnly", err)
	}
	if _, err := stores.Open(t.Context(), "file:"+filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("Open of a missing file = %v", err)
	}
}
