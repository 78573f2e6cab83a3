package file_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/daemonflag/daemonflag/stores/file"
)

// BenchmarkOpen measures loading, validating and storing a file of 1000
// flags with a rule and targets each: what a file store pays at start and
// on every reload.
func BenchmarkOpen(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"flags":{`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"flag-%d":{"on":true,"variations":[true,false],"offVariation":1,"fallthrough":{"variation":0},`+
			`"targets":[{"variation":1,"values":["a","b","c"]}],`+
			`"rules":[{"id":"r","variation":1,"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`, i)
	}
	sb.WriteString(`}}`)
	path := filepath.Join(b.TempDir(), "flags.json")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	o := &file.Options{Logger: slog.New(slog.DiscardHandler), PollOnly: true}
	b.ReportAllocs()
	for b.Loop() {
		s, err := file.Open(b.Context(), []string{path}, o)
		if err != nil {
			b.Fatal(err)
		}
		s.Close()
	}
}
