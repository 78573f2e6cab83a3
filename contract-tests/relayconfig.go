package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/daemonflag/daemonflag/internal/ldheaders"
	"github.com/daemonflag/daemonflag/relay"
)

// The parts of the harness's configuration that shape the relay's
// connection to the harness's services: TLS, the proxy, application
// metadata, the wrapper, payload filters and the retry regime.

type tlsConfig struct {
	SkipVerifyPeer bool   `json:"skipVerifyPeer"`
	CustomCAFile   string `json:"customCAFile"`
}

type proxyConfig struct {
	HTTPProxy *string `json:"httpProxy"`
}

type tagsConfig struct {
	ApplicationID      *string `json:"applicationId"`
	ApplicationVersion *string `json:"applicationVersion"`
}

type wrapperConfig struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// dataSystemConfig is the newer harnesses' way of naming the data source;
// the service reads its first synchronizer when streaming and polling are
// not given the older way.
type dataSystemConfig struct {
	Synchronizers []struct {
		Streaming *streamingConfig `json:"streaming"`
		Polling   *pollingConfig   `json:"polling"`
	} `json:"synchronizers"`
}

// relayPlan is the validated connection configuration.
type relayPlan struct {
	filter        string
	extendedDelay time.Duration
	caFile        string
	skipVerify    bool
	proxyURL      string
	// meta is the client's identity: tags, wrapper and one instance ID,
	// shared by every request the client's components make (the relay's,
	// and the events sender's).
	meta ldheaders.Metadata
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// useDataSystem maps dataSystem.synchronizers[0] onto streaming or
// polling when neither is set.
func (c *sdkConfig) useDataSystem() {
	if c.Streaming != nil || c.Polling != nil || c.DataSystem == nil || len(c.DataSystem.Synchronizers) == 0 {
		return
	}
	s := c.DataSystem.Synchronizers[0]
	c.Streaming, c.Polling = s.Streaming, s.Polling
}

// planRelay fills p.relay.
func (c *sdkConfig) planRelay(p *clientPlan) error {
	if c.TLS != nil {
		p.relay.skipVerify = c.TLS.SkipVerifyPeer
		p.relay.caFile = c.TLS.CustomCAFile
		if p.relay.skipVerify && p.relay.caFile != "" {
			return errors.New("tls: give skipVerifyPeer or customCAFile, not both")
		}
	}
	if c.Proxy != nil {
		p.relay.proxyURL = deref(c.Proxy.HTTPProxy)
		if p.relay.proxyURL != "" {
			u, err := url.Parse(p.relay.proxyURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("proxy.httpProxy %q is not an http(s) URL", p.relay.proxyURL)
			}
		}
	}
	if c.Tags != nil {
		p.relay.meta.ApplicationID = deref(c.Tags.ApplicationID)
		p.relay.meta.ApplicationVersion = deref(c.Tags.ApplicationVersion)
	}
	if c.Wrapper != nil {
		p.relay.meta.WrapperName, p.relay.meta.WrapperVersion = c.Wrapper.Name, c.Wrapper.Version
	}
	p.relay.meta.InstanceID = ldheaders.NewInstanceID()
	return nil
}

// relayOptions returns the relay's options for a plan. Unexpected statuses
// (401, 403, ...) are retried in the extended regime, as LaunchDarkly's
// RETRY specification asks (the service claims retry-conformance).
func (p *clientPlan) relayOptions(logger *slog.Logger) relay.Options {
	o := relay.Options{
		SDKKey:             p.sdkKey,
		Polling:            p.pollURI != "",
		Filter:             p.relay.filter,
		PollInterval:       p.pollEvery,
		InitialRetryDelay:  p.retryDelay,
		KeepRetrying:       true,
		ExtendedRetryDelay: p.relay.extendedDelay,
		ApplicationID:      p.relay.meta.ApplicationID,
		ApplicationVersion: p.relay.meta.ApplicationVersion,
		WrapperName:        p.relay.meta.WrapperName,
		WrapperVersion:     p.relay.meta.WrapperVersion,
		InstanceID:         p.relay.meta.InstanceID,
		CAFile:             p.relay.caFile,
		InsecureSkipVerify: p.relay.skipVerify,
		ProxyURL:           p.relay.proxyURL,
		Logger:             logger,
	}
	if o.Polling {
		o.Endpoints.Polling = p.pollURI
	} else {
		o.Endpoints.Streaming = p.streamURI
	}
	return o
}

// relayCapabilities are the harness capabilities of the relay's
// connection, each implemented by relay.Run as configured above.
var relayCapabilities = []string{
	"server-side-polling",
	"polling-gzip",
	"etag-caching",
	"filtering",
	"filtering-strict",
	"tags",
	"wrapper",
	"instance-id",
	"tls:verify-peer",
	"tls:skip-verify-peer",
	"tls:custom-ca",
	"http-proxy",
	"retry-conformance-fdv1-streaming",
	"retry-conformance-fdv1-polling",
}

func init() { capabilities = append(capabilities, relayCapabilities...) }
