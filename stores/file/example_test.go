package file_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/stores/file"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "flags")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "flags.yaml")
	os.WriteFile(path, []byte(`
flags:
  new-ui:
    on: true
    variations: [true, false]
    fallthrough: {variation: 1}
    targets: [{variation: 0, values: [user-1]}]
flagValues:
  banner: Welcome
`), 0o644)

	s, err := file.Open(context.Background(), []string{path}, &file.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err) // names the file, line and column of what is wrong
	}
	defer s.Close()
	c, err := client.New(client.Config{Store: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for _, key := range []string{"user-1", "user-2"} {
		on, _ := c.BoolVariation("new-ui", evalctx.New(key), false)
		banner, _ := c.StringVariation("banner", evalctx.New(key), "")
		fmt.Println(key, on, banner)
	}
	// Output:
	// user-1 true Welcome
	// user-2 false Welcome
}
