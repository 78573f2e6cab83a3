package main

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/daemonflag/daemonflag/bigsegments"
	"github.com/daemonflag/daemonflag/events"
	"github.com/daemonflag/daemonflag/jsonvalue"
	"github.com/daemonflag/daemonflag/store/cache"
)

// sdkConfig is the "configuration" of POST /, as the harness sends it.
// Properties the service does not use (tags, wrapper, tls,
// clientSide, ...) are accepted and ignored.
type sdkConfig struct {
	Credential          string               `json:"credential"`
	StartWaitTimeMS     *int64               `json:"startWaitTimeMs"`
	InitCanFail         bool                 `json:"initCanFail"`
	ServiceEndpoints    *serviceEndpoints    `json:"serviceEndpoints"`
	Streaming           *streamingConfig     `json:"streaming"`
	Polling             *pollingConfig       `json:"polling"`
	PersistentDataStore *persistentDataStore `json:"persistentDataStore"`
	BigSegments         *bigSegmentsConfig   `json:"bigSegments"`
	Hooks               *hooksConfig         `json:"hooks"`
	Events              *eventsConfig        `json:"events"`

	// The relay's connection (relayconfig.go).
	TLS        *tlsConfig        `json:"tls"`
	Proxy      *proxyConfig      `json:"proxy"`
	Tags       *tagsConfig       `json:"tags"`
	Wrapper    *wrapperConfig    `json:"wrapper"`
	DataSystem *dataSystemConfig `json:"dataSystem"`
}

type serviceEndpoints struct {
	Streaming string `json:"streaming"`
	Polling   string `json:"polling"`
	Events    string `json:"events"`
}

type streamingConfig struct {
	BaseURI                string  `json:"baseUri"`
	InitialRetryDelayMS    *int64  `json:"initialRetryDelayMs"`
	ExtendedInitialDelayMS *int64  `json:"extendedInitialDelayMs"`
	Filter                 *string `json:"filter"`
}

type pollingConfig struct {
	BaseURI                string  `json:"baseUri"`
	PollIntervalMS         *int64  `json:"pollIntervalMs"`
	ExtendedInitialDelayMS *int64  `json:"extendedInitialDelayMs"`
	Filter                 *string `json:"filter"`
}

type persistentDataStore struct {
	Store *struct {
		Type   string `json:"type"`
		Prefix string `json:"prefix"`
		DSN    string `json:"dsn"`
	} `json:"store"`
	Cache *struct {
		Mode string   `json:"mode"`
		TTL  *float64 `json:"ttl"` // seconds
	} `json:"cache"`
}

type bigSegmentsConfig struct {
	CallbackURI          string `json:"callbackUri"`
	UserCacheSize        *int   `json:"userCacheSize"`
	UserCacheTimeMS      *int64 `json:"userCacheTimeMs"`
	StatusPollIntervalMS *int64 `json:"statusPollIntervalMs"`
	StaleAfterMS         *int64 `json:"staleAfterMs"`
}

type hooksConfig struct {
	Hooks []hookConfig `json:"hooks"`
}

type hookConfig struct {
	Name        string                                `json:"name"`
	CallbackURI string                                `json:"callbackUri"`
	Data        map[string]map[string]jsonvalue.Value `json:"data"`
	Errors      map[string]*string                    `json:"errors"`
}

// Defaults of the harness's configuration, from its service specification.
const (
	defaultStartWait = 5 * time.Second
	// contractTestsTable is the DynamoDB table the harness's persistent
	// store tests use.
	contractTestsTable = "sdk-contract-tests"
)

// clientPlan is a validated configuration: what startEntity builds.
type clientPlan struct {
	sdkKey      string
	startWait   time.Duration
	initCanFail bool

	// The relay's source: at most one of streamURI and pollURI.
	streamURI  string
	retryDelay time.Duration
	pollURI    string
	pollEvery  time.Duration
	relay      relayPlan // the rest of the relay's connection (relayconfig.go)

	// The store: a temporary bbolt file when storeType is "".
	storeType   string // "", "redis" or "dynamodb"
	storePrefix string
	storeDSN    string
	cache       cache.Options

	bigSegments *bigsegmentsPlan
	hooks       []hookConfig
	events      *events.Config // nil: no events
}

type bigsegmentsPlan struct {
	callbackURI string
	opts        bigsegments.Options // without Store
}

// plan validates the configuration. Errors are the harness's 400s.
func (c *sdkConfig) plan() (_ *clientPlan, err error) {
	p := &clientPlan{sdkKey: c.Credential, initCanFail: c.InitCanFail, startWait: defaultStartWait}
	if c.StartWaitTimeMS != nil && *c.StartWaitTimeMS != 0 {
		if *c.StartWaitTimeMS < 0 {
			return nil, errors.New("startWaitTimeMs is negative")
		}
		p.startWait = time.Duration(*c.StartWaitTimeMS) * time.Millisecond
	}
	var ep serviceEndpoints
	if c.ServiceEndpoints != nil {
		ep = *c.ServiceEndpoints
	}
	c.useDataSystem()
	switch {
	case c.Streaming != nil:
		p.relay.filter = deref(c.Streaming.Filter)
		if p.relay.extendedDelay, err = millis("streaming.extendedInitialDelayMs", c.Streaming.ExtendedInitialDelayMS); err != nil {
			return nil, err
		}
		p.streamURI = firstNonEmpty(c.Streaming.BaseURI, ep.Streaming)
		if p.streamURI == "" {
			return nil, errors.New("streaming has no baseUri and serviceEndpoints no streaming URI (the service never connects to LaunchDarkly itself)")
		}
		d, err := millis("streaming.initialRetryDelayMs", c.Streaming.InitialRetryDelayMS)
		if err != nil {
			return nil, err
		}
		p.retryDelay = d
	case c.Polling != nil:
		p.relay.filter = deref(c.Polling.Filter)
		if p.relay.extendedDelay, err = millis("polling.extendedInitialDelayMs", c.Polling.ExtendedInitialDelayMS); err != nil {
			return nil, err
		}
		p.pollURI = firstNonEmpty(c.Polling.BaseURI, ep.Polling)
		if p.pollURI == "" {
			return nil, errors.New("polling has no baseUri and serviceEndpoints no polling URI (the service never connects to LaunchDarkly itself)")
		}
		d, err := millis("polling.pollIntervalMs", c.Polling.PollIntervalMS)
		if err != nil {
			return nil, err
		}
		p.pollEvery = d
	case ep.Streaming != "":
		p.streamURI = ep.Streaming
	case ep.Polling != "":
		p.pollURI = ep.Polling
	}
	for _, u := range []string{p.streamURI, p.pollURI} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			return nil, fmt.Errorf("service URI %q is not an http(s) URI", u)
		}
		if p.sdkKey == "" {
			return nil, errors.New("no credential: the relay needs the SDK key")
		}
	}
	if err := c.planRelay(p); err != nil {
		return nil, err
	}

	// Without a persistent store, relay updates must show at once.
	p.cache = cache.Options{Mode: cache.ModeOff, Jitter: -1}
	if ps := c.PersistentDataStore; ps != nil {
		if ps.Store == nil {
			return nil, errors.New("persistentDataStore has no store")
		}
		switch ps.Store.Type {
		case "redis", "dynamodb":
		case "":
			return nil, errors.New("persistentDataStore.store has no type")
		default:
			return nil, fmt.Errorf("persistent store type %q is not supported (redis and dynamodb are)", ps.Store.Type)
		}
		p.storeType, p.storePrefix, p.storeDSN = ps.Store.Type, ps.Store.Prefix, ps.Store.DSN
		// The cache as LaunchDarkly's SDKs configure it: TTL 15 s by
		// default, exact (no jitter) so that tests can time it.
		p.cache = cache.Options{Mode: cache.ModeTTL, Jitter: -1}
		if ps.Cache != nil {
			switch ps.Cache.Mode {
			case "off":
				p.cache.Mode = cache.ModeOff
			case "infinite":
				p.cache.Mode = cache.ModeForever
			case "ttl", "":
				if ps.Cache.TTL != nil {
					if *ps.Cache.TTL < 0 {
						return nil, errors.New("persistentDataStore.cache.ttl is negative")
					}
					p.cache.TTL = time.Duration(*ps.Cache.TTL * float64(time.Second))
					if p.cache.TTL == 0 {
						p.cache.Mode = cache.ModeOff // a zero TTL caches nothing
					}
				}
			default:
				return nil, fmt.Errorf("cache mode %q is not one of off, ttl, infinite", ps.Cache.Mode)
			}
		}
	}

	if bs := c.BigSegments; bs != nil {
		if bs.CallbackURI == "" {
			return nil, errors.New("bigSegments has no callbackUri")
		}
		bp := &bigsegmentsPlan{callbackURI: bs.CallbackURI}
		if bs.UserCacheSize != nil {
			if *bs.UserCacheSize < 0 {
				return nil, errors.New("bigSegments.userCacheSize is negative")
			}
			bp.opts.CacheSize = *bs.UserCacheSize
		}
		var err error
		if bp.opts.CacheTTL, err = millis("bigSegments.userCacheTimeMs", bs.UserCacheTimeMS); err != nil {
			return nil, err
		}
		if bp.opts.StatusPollInterval, err = millis("bigSegments.statusPollIntervalMs", bs.StatusPollIntervalMS); err != nil {
			return nil, err
		}
		if bp.opts.StaleAfter, err = millis("bigSegments.staleAfterMs", bs.StaleAfterMS); err != nil {
			return nil, err
		}
		p.bigSegments = bp
	}

	ev, err := c.eventsPlan(ep)
	if err != nil {
		return nil, err
	}
	p.events = ev

	if c.Hooks != nil {
		for i, h := range c.Hooks.Hooks {
			if h.CallbackURI == "" {
				return nil, fmt.Errorf("hooks[%d] (%q) has no callbackUri", i, h.Name)
			}
			for stage := range h.Data {
				if !knownStage(stage) {
					return nil, fmt.Errorf("hooks[%d]: unknown stage %q in data", i, stage)
				}
			}
		}
		p.hooks = c.Hooks.Hooks
	}
	return p, nil
}

func knownStage(s string) bool {
	return s == stageBefore || s == stageAfter || s == "afterTrack"
}

// millis converts an optional millisecond count; absent or zero is zero
// (the default).
func millis(name string, v *int64) (time.Duration, error) {
	if v == nil {
		return 0, nil
	}
	if *v < 0 {
		return 0, fmt.Errorf("%s is negative", name)
	}
	return time.Duration(*v) * time.Millisecond, nil
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
