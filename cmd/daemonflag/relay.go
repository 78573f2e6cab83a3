package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/daemonflag/daemonflag/relay"
)

// envSDKKey is the environment variable that supplies the SDK key to
// relay. There is deliberately no flag: a key on the command line shows in
// ps(1) output and shell history.
const envSDKKey = "DAEMONFLAG_SDK_KEY"

var cmdRelay = &command{
	name:    "relay",
	summary: "fill a store from a LaunchDarkly streaming or polling service",
	usage:   "relay --store ADDR --stream URI | --poll URI [--interval D]",
	help: `
Keeps a store filled from LaunchDarkly (or a LaunchDarkly Relay Proxy), as an
SDK or Relay Proxy in front of a persistent store would, so that clients in
daemon mode read what LaunchDarkly serves. The server-side SDK key comes from
the ` + envSDKKey + ` environment variable, never from a flag, and is never
logged.

--stream URI reads the server-sent events at URI/all: the first "put" replaces
the store's dataset and marks it initialized, "patch" and "delete" events
update single flags and segments (the store keeps the highest version of each).
A dropped stream, malformed data or a store error makes the relay connect again
after a delay that grows from --retry-delay to 30 s, with jitter; the store
keeps its data meanwhile. --poll URI reads URI/sdk/latest-all every --interval
instead, sending the last ETag, and replaces the dataset with each new answer.

The relay stops with exit status 1 when the service rejects the SDK key (401
or 403) or answers another status that retrying cannot fix; otherwise it runs
until interrupted (SIGINT or SIGTERM) and exits 0. Logs go to standard error.
The examples assume ` + envSDKKey + ` is set.

Examples:
  daemonflag relay --store bolt:/var/lib/flags/flags.db --stream https://stream.launchdarkly.com
  daemonflag relay --store redis://localhost:6379 --stream http://relay-proxy:8030
  daemonflag relay --store 'dynamodb://flags?region=eu-west-1' --poll https://sdk.launchdarkly.com --interval 1m
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
	interval := fs.Duration("interval", relay.DefaultPollInterval, "time between polls (with --poll)")
	retry := fs.Duration("retry-delay", relay.DefaultRetryDelay, "first delay before connecting a stream again (with --stream)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	verbose := fs.Bool("v", false, "log debug messages too")
	rest, err := a.parse(cmd, fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		return usagef("relay", "unexpected argument %q", rest[0])
	case *stream == "" && *poll == "":
		return usagef("relay", "give --stream URI or --poll URI")
	case *stream != "" && *poll != "":
		return usagef("relay", "give --stream URI or --poll URI, not both")
	case *interval <= 0 || *retry <= 0:
		return usagef("relay", "--interval and --retry-delay must be positive")
	case *logFormat != "text" && *logFormat != "json":
		return usagef("relay", "--log-format must be text or json")
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
	s, parsed, err := a.openStore(ctx, "relay", *addr, false)
	if err != nil {
		return err
	}
	defer s.Close()
	log := a.logger(level, *logFormat)
	log.Info("relaying", "store", describe(parsed))
	err = relay.Run(ctx, s, relay.Options{
		SDKKey:            key,
		StreamURI:         *stream,
		PollURI:           *poll,
		PollInterval:      *interval,
		InitialRetryDelay: *retry,
		Logger:            log,
	})
	if errors.Is(err, relay.ErrSDKKeyRejected) {
		return fmt.Errorf("%w (the key comes from %s)", err, envSDKKey)
	}
	return err
}
