// Command contract-tests is daemonflag's test service for LaunchDarkly's
// public SDK contract-test harness (github.com/launchdarkly/sdk-test-harness,
// v2). The harness drives the service over HTTP: it creates clients, feeds
// them flag data from its simulated streaming or polling service, and checks
// what they evaluate.
//
// Start it with one command from the repository root:
//
//	go run ./contract-tests
//
// It listens on 127.0.0.1:8000. The environment variable PORT sets another
// port and HOST another interface (HOST=0.0.0.0 when the harness runs in a
// container); LOG_LEVEL=debug logs every relay event. Then run the harness
// against it, skipping what daemonflag does not do (it sends no events):
//
//	sdk-test-harness -url http://localhost:8000 -skip events -stop-service-at-end
//
// The harness's persistent-store tests write to Redis at localhost:6379 and
// DynamoDB at localhost:8000 (table sdk-contract-tests); run the service on
// another port then, such as PORT=8001.
//
// Our client never connects upstream, so for every client with a streaming
// or polling configuration the service runs relay.Run, which reads the
// harness's service and writes into a store, and the client reads that
// store, as in a deployment. Without a persistentDataStore in the
// configuration the store is a new temporary bbolt file read without a
// cache, so relay updates show at once. GET / lists the capabilities the
// service claims; DELETE / stops it.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	if err := run(logger); err != nil {
		logger.Error("contract-test service failed", "err", err)
		os.Exit(1)
	}
}

// logLevel reads LOG_LEVEL (debug, info, warn, error); default info.
func logLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return l
}

func run(logger *slog.Logger) error {
	host, port := os.Getenv("HOST"), os.Getenv("PORT")
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "8000"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	svc := newService(logger)
	svc.stop = stop // DELETE / ends the process the same way as a signal
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("contract-test service listening", "addr", ln.Addr().String(), "capabilities", capabilities)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("contract-test service stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	svc.closeAll()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
