package redis

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/daemonflag/daemonflag/internal/nudge"
)

// The store's own dialer wraps the TCP connection for nudges, under TLS when
// TLS is configured, and checks the server's name against the address
// dialled when the configuration names none (as go-redis's dialer does).
func TestNudgeDialerWrapsUnderTLS(t *testing.T) {
	pki := newTestPKI(t)
	_, _, serverCert := pki.issue(t, "server", x509.ExtKeyUsageServerAuth)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{serverCert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 16)
				n, _ := c.Read(buf) // completes the handshake
				_, _ = c.Write(buf[:n])
			}()
		}
	}()
	ctx := context.Background()

	plain, err := nudgeDialer(0, nil)(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if _, ok := plain.(*nudge.Conn); !ok {
		t.Fatalf("plain connection is a %T, want *nudge.Conn", plain)
	}

	conn, err := nudgeDialer(0, &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12})(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tc, ok := conn.(*tls.Conn)
	if !ok {
		t.Fatalf("TLS connection is a %T, want *tls.Conn", conn)
	}
	if _, ok := tc.NetConn().(*nudge.Conn); !ok {
		t.Fatalf("under TLS: %T, want *nudge.Conn", tc.NetConn())
	}
	// The handshake verified the certificate against 127.0.0.1: with no
	// ServerName at all, crypto/tls refuses to verify.
	if _, err := conn.Write([]byte("PING")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := conn.Read(buf); err != nil || string(buf) != "PING" {
		t.Fatalf("echo over TLS = %q, %v", buf, err)
	}

	// A server whose certificate does not name the address fails the
	// handshake, and the dial with it.
	if _, err := nudgeDialer(0, &tls.Config{RootCAs: pki.pool, ServerName: "elsewhere.example"})(ctx, "tcp", ln.Addr().String()); err == nil {
		t.Fatal("dial with a ServerName the certificate lacks succeeded")
	}
}
