package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/daemonflag/daemonflag/client"
	"github.com/daemonflag/daemonflag/relay"
	"github.com/daemonflag/daemonflag/store"
	"github.com/daemonflag/daemonflag/stores/bolt"
	"github.com/daemonflag/daemonflag/stores/dynamodb"
	"github.com/daemonflag/daemonflag/stores/redis"
)

// entity is one client the harness created: its store, the relay filling
// the store (if any), and the daemonflag client reading it.
type entity struct {
	log    *slog.Logger
	client *client.Client
	store  store.Store
	tmpDir string // the temporary bbolt store's directory, or ""

	stopRelay context.CancelFunc // nil without a relay
	relayDone chan struct{}      // closed when the relay has returned
	closeOnce sync.Once
}

// startEntity builds the client of a plan: it opens the store, starts the
// relay and waits up to the start wait time for its first dataset. An error
// is the harness's 500: the client could not be created, or (without
// initCanFail) did not get its data in time.
func startEntity(ctx context.Context, p *clientPlan, logger *slog.Logger) (_ *entity, err error) {
	e := &entity{log: logger}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	if e.store, err = e.openStore(ctx, p); err != nil {
		return nil, err
	}
	relayed := p.streamURI != "" || p.pollURI != ""
	// The client reads the very store object the relay writes, so a store
	// that notifies its own readers (store.Notifier) carries every update
	// at once, whatever the cache mode. A client the service relays for
	// answers CLIENT_NOT_READY until the relay's first dataset is in the
	// store, as the harness expects of a client whose data never arrived;
	// in daemon mode (no relay) a store without a dataset reads as
	// FLAG_NOT_FOUND, as LaunchDarkly's daemon mode answers.
	cacheOpts := p.cache
	cacheOpts.ProbeInterval = 20 * time.Millisecond // notice the relay's first dataset quickly
	cfg := client.Config{Store: e.store, Cache: cacheOpts, Logger: logger, SecureModeKey: p.sdkKey,
		NotReadyWithoutData: relayed}
	if p.bigSegments != nil {
		opts := p.bigSegments.opts
		opts.Store = newBigSegmentFixture(p.bigSegments.callbackURI)
		cfg.BigSegments = opts
	}
	for _, h := range p.hooks {
		cfg.Hooks = append(cfg.Hooks, newPostingHook(h, logger))
	}
	if p.events != nil {
		cfg.Events = *p.events
		cfg.Events.Logger = logger
		m := p.relay.meta // the same identity as the relay's requests
		cfg.Events.ApplicationID, cfg.Events.ApplicationVersion = m.ApplicationID, m.ApplicationVersion
		cfg.Events.WrapperName, cfg.Events.WrapperVersion = m.WrapperName, m.WrapperVersion
		cfg.Events.InstanceID = m.InstanceID
	}
	if e.client, err = client.New(cfg); err != nil {
		return nil, err
	}
	if !relayed {
		return e, nil // daemon mode on the store as it is
	}

	initialized := make(chan struct{})
	var once sync.Once
	relayErr := make(chan error, 1)
	rctx, cancel := context.WithCancel(context.Background())
	e.stopRelay, e.relayDone = cancel, make(chan struct{})
	opts := p.relayOptions(logger)
	opts.OnUpdate = func(u relay.Update) {
		if u.Init {
			once.Do(func() { close(initialized) })
		}
	}
	// A status LaunchDarkly's SDKs treat as an initialization failure
	// (401, 403, ...) ends the start wait of a client that may fail to
	// initialize; the relay keeps retrying in the background.
	opts.OnFailure = func(err error) {
		var he *relay.HTTPError
		if p.initCanFail && errors.As(err, &he) && !relay.Recoverable(he.StatusCode) {
			select {
			case relayErr <- err:
			default:
			}
		}
	}
	go func() {
		defer close(e.relayDone)
		if err := relay.Run(rctx, e.store, opts); err != nil {
			logger.Error("relay stopped", "err", err)
			select {
			case relayErr <- err:
			default:
			}
		}
	}()

	timer := time.NewTimer(p.startWait)
	defer timer.Stop()
	var failure error
	select {
	case <-initialized:
		// The client answers once its cache has seen the dataset.
		wctx, cancel := context.WithTimeout(ctx, p.startWait)
		defer cancel()
		if err := e.client.WaitForInitialization(wctx); err != nil {
			return nil, fmt.Errorf("the relay wrote the first dataset but the client did not see it: %w", err)
		}
		return e, nil
	case err := <-relayErr:
		failure = err
	case <-timer.C:
		failure = fmt.Errorf("no flag data within %v", p.startWait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if p.initCanFail {
		logger.Warn("client started without flag data (initCanFail)", "why", failure)
		return e, nil
	}
	return nil, failure
}

// openStore opens the plan's store: Redis or DynamoDB as the harness
// describes them, or a new temporary bbolt file.
func (e *entity) openStore(ctx context.Context, p *clientPlan) (store.Store, error) {
	switch p.storeType {
	case "redis":
		dsn := p.storeDSN
		if dsn == "" {
			dsn = "redis://localhost:6379"
		}
		o, err := redis.ParseURL(dsn)
		if err != nil {
			return nil, fmt.Errorf("persistent store dsn: %w", err)
		}
		o.Prefix = p.storePrefix // empty: LaunchDarkly's default
		s, err := redis.New(*o)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "dynamodb":
		endpoint, err := dynamoEndpoint(p.storeDSN)
		if err != nil {
			return nil, err
		}
		// Local DynamoDB servers accept any credentials.
		cfg := aws.Config{
			Region:      "us-east-1",
			Credentials: credentials.NewStaticCredentialsProvider("contract-tests", "contract-tests", ""),
		}
		s, err := dynamodb.New(ctx, dynamodb.Options{
			Table: contractTestsTable, Prefix: p.storePrefix, Endpoint: endpoint,
			AWSConfig: &cfg, CreateTable: true,
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	dir, err := os.MkdirTemp("", "daemonflag-contract-tests-")
	if err != nil {
		return nil, err
	}
	e.tmpDir = dir
	s, err := bolt.Open(filepath.Join(dir, "flags.db"), &bolt.Options{NoSync: true})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// dynamoEndpoint turns the harness's dsn ("http://localhost:8000", or a
// bare "localhost:8000") into an endpoint URL.
func dynamoEndpoint(dsn string) (string, error) {
	if dsn == "" {
		return "http://localhost:8000", nil
	}
	if !strings.Contains(dsn, "://") {
		dsn = "http://" + dsn
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("persistent store dsn %q is not an http(s) endpoint", dsn)
	}
	return u.Scheme + "://" + u.Host, nil
}

// close stops the relay, closes the client and the store, and removes a
// temporary store file. It may be called more than once.
func (e *entity) close() {
	e.closeOnce.Do(func() {
		if e.stopRelay != nil {
			e.stopRelay()
			<-e.relayDone
		}
		if e.client != nil {
			_ = e.client.Close()
		}
		if e.store != nil {
			if err := e.store.Close(); err != nil {
				e.log.Warn("closing the store", "err", err)
			}
		}
		if e.tmpDir != "" {
			if err := os.RemoveAll(e.tmpDir); err != nil && !errors.Is(err, os.ErrNotExist) {
				e.log.Warn("removing the temporary store", "err", err)
			}
		}
		e.log.Info("client closed")
	})
}
