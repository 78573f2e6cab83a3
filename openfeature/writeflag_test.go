package openfeature

import (
	"context"
	"os"
	"strconv"
	"testing"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/writer"
)

func itoa(n int) string { return strconv.Itoa(n) }

// writeFlag upserts one flag through the writer.
func (f *fixture) writeFlag(t *testing.T, doc string) {
	t.Helper()
	if _, err := writer.UpsertFlag(context.Background(), f.w, []byte(doc)); err != nil {
		t.Fatal(err)
	}
}

func mustContext(t *testing.T, flat of.FlattenedContext) evalctx.Context {
	t.Helper()
	c, err := ToContext(flat)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFileT(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }
