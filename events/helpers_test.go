package events

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/evaluation"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/model"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// memSink keeps payloads in memory.
type memSink struct {
	mu       sync.Mutex
	payloads []Payload
	failNext int
}

func (s *memSink) WritePayload(_ context.Context, p Payload) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext > 0 {
		s.failNext--
		return errFake
	}
	s.payloads = append(s.payloads, p)
	return nil
}

func (s *memSink) all() []Payload {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Payload(nil), s.payloads...)
}

type fakeError struct{}

func (fakeError) Error() string { return "the sink failed" }

var errFake error = fakeError{}

func mustFlag(t testing.TB, js string) *model.Flag {
	t.Helper()
	f, err := model.DecodeFlag([]byte(js))
	if err != nil {
		t.Fatalf("flag %s: %v", js, err)
	}
	return f
}

func mustContext(t testing.TB, js string) evalctx.Context {
	t.Helper()
	c, err := evalctx.Parse([]byte(js))
	if err != nil {
		t.Fatalf("context %s: %v", js, err)
	}
	return c
}

func detail(v jsonvalue.Value, idx int, r evaluation.Reason) evaluation.Detail {
	return evaluation.Detail{Value: v, VariationIndex: idx, Reason: r}
}

// indent pretty-prints a JSON document for a golden file.
func indent(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, data)
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

// golden compares got (JSON) with testdata/NAME.json, or rewrites it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".json")
	pretty := indent(t, got)
	if *update {
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test -update to create it)", err)
	}
	if !bytes.Equal(pretty, want) {
		t.Errorf("payload differs from %s\ngot:\n%s\nwant:\n%s", path, pretty, want)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func decodeEvents(t testing.TB, body []byte) []map[string]any {
	t.Helper()
	var evs []map[string]any
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatalf("payload: %v\n%s", err, body)
	}
	return evs
}

func contextWithTimeout(t testing.TB, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}
