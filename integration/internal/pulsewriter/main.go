// Command pulsewriter is a writer process of the integration benchmarks:
// for each line N read from stdin it writes flag "pulse" at version N,
// serving the string "v<N>", through package writer (as `daemonflag`
// does), and prints {"version":N,"returned":T} (T: Unix nanoseconds when
// the write returned) or {"version":N,"error":E}. It exits when stdin
// closes. It is built by the tests and never installed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/stores"
	"github.com/daemonflag/daemonflag/writer"
)

func main() {
	addr := flag.String("store", "", "store address (required)")
	flag.Parse()
	if err := run(*addr); err != nil {
		fmt.Fprintln(os.Stderr, "pulsewriter:", err)
		os.Exit(1)
	}
}

func run(addr string) error {
	ctx := context.Background()
	s, err := stores.Open(ctx, addr)
	if err != nil {
		return err
	}
	defer s.Close()
	out := bufio.NewWriter(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		n, err := strconv.Atoi(strings.TrimSpace(in.Text()))
		if err != nil {
			return fmt.Errorf("line %q: want a version", in.Text())
		}
		doc := fmt.Sprintf(`{"key":"pulse","version":%d,"on":true,"variations":["v%d"],"offVariation":0,"fallthrough":{"variation":0},"salt":"pulse"}`, n, n)
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err = writer.UpsertFlag(wctx, s, []byte(doc))
		cancel()
		res := map[string]any{"version": n, "returned": time.Now().UnixNano()}
		if err != nil {
			res = map[string]any{"version": n, "error": err.Error()}
		}
		line, _ := json.Marshal(res)
		out.Write(line)
		out.WriteByte('\n')
		out.Flush()
	}
	return in.Err()
}
