// Command listenclient is a client process of the integration benchmarks: it
// runs a daemonflag client on a store with a flag-change listener and prints
// one JSON line per change it is told of, {"flag":K,"value":V,"at":T} (T:
// Unix nanoseconds when the listener was called, V: the flag's string value
// for the context "bench" then). With -no-notify it hides the store's
// change notifications, so only the cache's change poll (every TTL) finds
// changes. It stops when its stdin closes or on SIGTERM. It is built by the
// tests and never installed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/evalctx"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/store/cache"
	"github.com/daemonflag/daemonflag/stores"
)

func main() {
	addr := flag.String("store", "", "store address (required)")
	ttl := flag.Duration("ttl", time.Minute, "cache TTL (and change poll interval)")
	noNotify := flag.Bool("no-notify", false, "hide the store's change notifications")
	flag.Parse()
	if err := run(*addr, *ttl, *noNotify); err != nil {
		fmt.Fprintln(os.Stderr, "listenclient:", err)
		os.Exit(1)
	}
}

// readerOnly hides every optional interface of a store, Notifier included.
type readerOnly struct{ store.Reader }

func run(addr string, ttl time.Duration, noNotify bool) error {
	a, err := stores.Parse(addr)
	if err != nil {
		return err
	}
	openCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	st, err := a.Open(openCtx, &stores.OpenOptions{ReadOnly: true})
	cancel()
	if err != nil {
		return err
	}
	defer st.Close()
	var r store.Reader = st
	if noNotify {
		r = readerOnly{st}
	}
	c, err := client.New(client.Config{
		Store:  r,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Cache:  cache.Options{TTL: ttl},
	})
	if err != nil {
		return err
	}
	defer c.Close()

	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	ec := evalctx.New("bench")
	remove := c.AddFlagChangeListener(func(ev client.FlagChangeEvent) {
		at := time.Now().UnixNano()
		v, _ := c.StringVariation(ev.Key, ec, "")
		line, _ := json.Marshal(map[string]any{"flag": ev.Key, "value": v, "at": at})
		mu.Lock()
		defer mu.Unlock()
		w.Write(line)
		w.WriteByte('\n')
		w.Flush()
	})
	defer remove()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	<-ctx.Done()
	return nil
}
