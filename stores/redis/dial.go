package redis

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/daemonflag/daemonflag/internal/nudge"
)

// nudgeDialer returns the dialer of the store's connections when the user
// sets none: go-redis's own (TCP with a 5-minute keep-alive, then TLS when
// tlsConfig is set, its ServerName taken from the address dialled when
// empty, as tls.DialWithDialer does), with each TCP connection wrapped by
// nudge.Wrap under TLS, so that a cache saturating the processors can hand
// one to a refresh whose reply has arrived (see the package nudge).
func nudgeDialer(dialTimeout time.Duration, tlsConfig *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 5 * time.Minute}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		conn = nudge.Wrap(conn)
		if tlsConfig == nil {
			return conn, nil
		}
		cfg := tlsConfig
		if cfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		hctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
}
