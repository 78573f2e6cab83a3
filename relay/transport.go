package relay

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/daemonflag/daemonflag/internal/ldheaders"
)

// newHTTPClient builds the client of o: its own when given, otherwise a
// transport like http.DefaultTransport's with o's TLS and proxy settings.
func newHTTPClient(o Options) (*http.Client, error) {
	if o.HTTPClient != nil {
		return o.HTTPClient, nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = requestTimeout
	// Streams get the transport's transparent gzip; polls ask for gzip
	// themselves and decode it (poll.go), so that a given HTTPClient that
	// disables compression still sends Accept-Encoding on polls.
	t.Proxy = http.ProxyFromEnvironment
	if o.ProxyURL != "" {
		u, err := url.Parse(o.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("relay: proxy URL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("relay: proxy URL %q: want http://host:port or https://host:port", u.Redacted())
		}
		t.Proxy = http.ProxyURL(u)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("relay: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("relay: CA file %s holds no PEM certificate", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	if o.InsecureSkipVerify {
		cfg.InsecureSkipVerify = true
		o.Logger.Warn("relay: TLS CERTIFICATE VERIFICATION IS OFF: anyone on the network path can serve these flags; use this only in tests")
	}
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t}, nil
}

// newRequest builds a GET request with the relay's headers.
func (r *relay) newRequest(ctx context.Context, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	ldheaders.Apply(req.Header, r.headers)
	req.Header.Set("Authorization", r.o.SDKKey)
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}
