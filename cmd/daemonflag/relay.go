package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/relay"
)

// envSDKKey is the environment variable that supplies the SDK key to
// relay. There is deliberately no flag: a key on the command line shows in
// ps(1) output and shell history.
const envSDKKey = "DAEMONFLAG_SDK_KEY"

var cmdRelay = &command{
	name:    "relay",
	summary: "fill a store from a LaunchDarkly streaming or polling service",
	usage:   "relay --store ADDR --stream URI | --poll URI | --relay-proxy URI [flags]",
	help: `
Keeps a store filled from LaunchDarkly (or a LaunchDarkly Relay Proxy), as an
SDK or Relay Proxy in front of a persistent store would, so that clients in
daemon mode read what LaunchDarkly serves. The server-side SDK key comes from
the ` + envSDKKey + ` environment variable, never from a flag, and is never
logged.

--stream URI reads the server-sent events at URI/all: the first "put" replaces
the store's dataset and marks it initialized, "patch" and "delete" events
update single flags and segments (the store keeps the highest version of each).
A dropped or silent stream, malformed data or a store error makes the relay
connect again after a delay that grows from --retry-delay to 30 s, with
jitter; the store keeps its data meanwhile. --poll URI reads URI/sdk/latest-all
every --interval (at least 30 s) instead, with gzip and the last ETag, and
replaces the dataset with each new answer. --relay-proxy URI streams from a
LaunchDarkly Relay Proxy (which serves server-side SDKs by streaming only).
LaunchDarkly's own services are https://stream.launchdarkly.com and
https://sdk.launchdarkly.com.

When the store loses its dataset (a Redis restarted without persistence), the
relay writes its last complete dataset again within --heal-interval.

With --listen ADDR (host:port) it serves /healthz (200 while the process
runs), /readyz (200 while connected upstream, with the dataset written and the
store answering; 503 with the reason otherwise) and /metrics (Prometheus text
format: writes, failures and reconnects, connection state, events received,
re-seeds, last write and last data times).

The relay stops with exit status 1 when the service rejects the SDK key (401
or 403) or answers another status that retrying cannot fix, unless
--keep-retrying; otherwise it runs until interrupted (SIGINT or SIGTERM) and
exits 0. Proxies come from HTTPS_PROXY, HTTP_PROXY and NO_PROXY unless --proxy
is given. Logs go to standard error. The examples assume ` + envSDKKey + ` is
set.

Examples:
  daemonflag relay --store bolt:/var/lib/flags/flags.db --stream https://stream.launchdarkly.com
  daemonflag relay --store redis://localhost:6379 --relay-proxy http://relay-proxy:8030
  daemonflag relay --store 'dynamodb://flags?region=eu-west-1' --poll https://sdk.launchdarkly.com --interval 1m
  daemonflag relay --store redis://localhost:6379 --stream https://stream.launchdarkly.com \
      --filter mobile-flags --app-id checkout --app-version 4.2.0 --proxy http://proxy.internal:3128
`,
	run: runRelay,
}

func runRelay(ctx context.Context, a *app, cmd *command, args []string) error {
	for _, arg := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if strings.HasPrefix(arg, "-") && (name == "sdk-key" || name == "key" || name == "sdkkey") {
			return usagef("relay", "the SDK key is never a flag (it would show in ps output and shell history): set %s", envSDKKey)
		}
		if arg == "--" {
			break
		}
	}
	fs := a.flags("relay")
	addr := a.storeFlag(fs)
	stream := fs.String("stream", "", "base `URI` of a streaming service, e.g. https://stream.launchdarkly.com")
	poll := fs.String("poll", "", "base `URI` of a polling service, e.g. https://sdk.launchdarkly.com")
	relayProxy := fs.String("relay-proxy", "", "base `URI` of a LaunchDarkly Relay Proxy to stream from")
	filter := fs.String("filter", "", "payload filter `KEY`: relay only the flags and segments the environment's filter selects")
	interval := fs.Duration("interval", relay.DefaultPollInterval, "time between polls, at least 30s (with --poll)")
	retry := fs.Duration("retry-delay", relay.DefaultRetryDelay, "first delay before connecting a stream again")
	keepRetrying := fs.Bool("keep-retrying", false, "after 401, 403 and other 4xx errors keep retrying from 5 minutes (LaunchDarkly's RETRY specification) instead of exiting")
	readTimeout := fs.Duration("read-timeout", relay.DefaultReadTimeout, "restart a stream silent for this long")
	maxEvent := fs.String("max-event-size", "256MiB", "largest stream event or poll response (`SIZE`: bytes, or with KiB, MiB, GiB)")
	heal := fs.Duration("heal-interval", relay.DefaultHealInterval, "how often to check that the store still holds the dataset (0: never)")
	appID := fs.String("app-id", "", "application ID sent to LaunchDarkly as application metadata")
	appVersion := fs.String("app-version", "", "application version sent to LaunchDarkly as application metadata")
	wrapper := fs.String("wrapper", "", "`NAME[/VERSION]` of a wrapper, sent in X-LaunchDarkly-Wrapper")
	caFile := fs.String("ca-file", "", "PEM `FILE` of the only certificate authorities to trust")
	insecure := fs.Bool("insecure-skip-verify", false, "accept any TLS certificate (tests only: anyone on the path could serve flags)")
	proxy := fs.String("proxy", "", "HTTP(S) proxy `URL` (default: HTTPS_PROXY, HTTP_PROXY, NO_PROXY)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	verbose := fs.Bool("v", false, "log debug messages too")
	listenAddr := fs.String("listen", "", "serve /healthz, /readyz and /metrics on `ADDR` (host:port; default: no listener)")
	rest, err := a.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	sources := 0
	for _, s := range []string{*stream, *poll, *relayProxy} {
		if s != "" {
			sources++
		}
	}
	switch {
	case len(rest) > 0:
		return usagef("relay", "unexpected argument %q", rest[0])
	case sources == 0:
		return usagef("relay", "give --stream URI or --poll URI (or --relay-proxy URI)")
	case sources > 1:
		return usagef("relay", "give one of --stream URI, --poll URI and --relay-proxy URI, not both")
	case *interval <= 0 || *retry <= 0 || *readTimeout <= 0:
		return usagef("relay", "--interval, --retry-delay and --read-timeout must be positive")
	case *heal < 0:
		return usagef("relay", "--heal-interval must not be negative")
	case *logFormat != "text" && *logFormat != "json":
		return usagef("relay", "--log-format must be text or json")
	}
	maxSize, err := parseSize(*maxEvent)
	if err != nil {
		return usagef("relay", "--max-event-size: %v", err)
	}
	key := strings.TrimSpace(a.getenv(envSDKKey))
	if key == "" {
		return usagef("relay", "no SDK key: set %s to the environment's server-side SDK key", envSDKKey)
	}
	if _, err := a.storeAddress("relay", *addr); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	opts := relay.Options{
		SDKKey:             key,
		Polling:            *poll != "",
		Filter:             *filter,
		PollInterval:       *interval,
		InitialRetryDelay:  *retry,
		KeepRetrying:       *keepRetrying,
		ReadTimeout:        *readTimeout,
		MaxEventSize:       maxSize,
		HealInterval:       *heal,
		ApplicationID:      *appID,
		ApplicationVersion: *appVersion,
		CAFile:             *caFile,
		InsecureSkipVerify: *insecure,
		ProxyURL:           *proxy,
	}
	opts.WrapperName, opts.WrapperVersion, _ = strings.Cut(*wrapper, "/")
	if *heal == 0 {
		opts.HealInterval = -1
	}
	switch {
	case *relayProxy != "":
		opts.Endpoints = relay.RelayProxyEndpoints(*relayProxy)
	case *poll != "":
		opts.Endpoints.Polling = *poll
	default:
		opts.Endpoints.Streaming = *stream
	}
	s, parsed, err := a.openStore(ctx, "relay", *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	log := a.logger(level, *logFormat)
	opts.Logger = log
	health := &daemonHealth{daemon: "relay", store: s, started: time.Now(), relayStats: &relay.Stats{}}
	opts.Stats, opts.OnUpdate, opts.OnFailure = health.relayStats, health.relayUpdate, health.relayFailure
	stopHealth, err := serveHealth(ctx, *listenAddr, health, log)
	if err != nil {
		return err
	}
	defer stopHealth()
	log.Info("relaying", "store", describe(parsed))
	err = relay.Run(ctx, s, opts)
	var he *relay.HTTPError
	switch {
	case errors.Is(err, relay.ErrSDKKeyRejected):
		return fmt.Errorf("%w (the key comes from %s)", err, envSDKKey)
	case errors.As(err, &he) && he.StatusCode == http.StatusNotFound && opts.Polling:
		return fmt.Errorf("%w: for a Relay Proxy use --relay-proxy URI or --stream URI", err)
	}
	return err
}

// parseSize reads a byte count: a number, optionally followed by KiB, MiB
// or GiB (or KB, MB, GB, also powers of 1024 here).
func parseSize(s string) (int, error) {
	num, mult := strings.TrimSpace(s), 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size such as 50MiB", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * mult, nil
}
