package redis

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/store"

	goredis "github.com/redis/go-redis/v9"
)

// testPKI is a CA made for one test, and certificates it signed.
type testPKI struct {
	dir    string
	ca     *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caFile string
	pool   *x509.CertPool
}

func newTestPKI(t *testing.T) *testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "daemonflag test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	p := &testPKI{dir: t.TempDir(), ca: ca, caKey: key, pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	return p
}

func (p *testPKI) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(p.dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// issue signs a certificate for 127.0.0.1 and localhost; it returns the
// cert and key files and the tls.Certificate.
func (p *testPKI) issue(t *testing.T, name string, usage x509.ExtKeyUsage) (string, string, tls.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile := p.write(t, name+".pem", "CERTIFICATE", der)
	keyFile := p.write(t, name+"-key.pem", "EC PRIVATE KEY", keyDER)
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pair
}

// roundTrip checks a store works: Init, Get, a big-segment write and read.
func roundTrip(t *testing.T, s *Store) error {
	t.Helper()
	ctx := ctxT(t)
	it := mustItem(t, `{"key":"f","version":1}`)
	if err := s.Init(ctx, []store.Collection{{Kind: store.Features, Items: []store.KeyedItem{{Key: "f", Item: it}}}}); err != nil {
		return err
	}
	got, found, err := s.Get(ctx, store.Features, "f")
	if err != nil {
		return err
	}
	if !found || got.Version != 1 {
		return fmt.Errorf("Get = %+v, %v", got, found)
	}
	if err := s.ApplyMembership(ctx, []store.MembershipChange{{ContextHash: "h", SegmentRef: "s.g1"}}); err != nil {
		return err
	}
	m, err := s.Membership(ctx, "h")
	if err != nil {
		return err
	}
	if len(m.Included) != 1 {
		return fmt.Errorf("Membership = %+v", m)
	}
	return nil
}

// TestTLS runs a redis-server that speaks only TLS, with a certificate from a
// CA made here and a password, and connects through every way of giving the
// CA; without it, the connection is refused as unverified.
func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	certFile, keyFile, _ := pki.issue(t, "server", x509.ExtKeyUsageServerAuth)
	_, _, clientCert := pki.issue(t, "client", x509.ExtKeyUsageClientAuth)
	srv := startServer(t, func(port int) []string {
		return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
			"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", pki.caFile,
			"--tls-auth-clients", "optional", "--requirepass", "tls-secret"}
	})
	p := testPrefix("tls")
	base := "rediss://:tls-secret@" + srv.addr()
	ok := []struct {
		name string
		o    Options
	}{
		{"URL and TLSCAFile", Options{URL: base, TLSCAFile: pki.caFile}},
		{"URL ca_file parameter", Options{URL: base + "?ca_file=" + pki.caFile}},
		{"TLSConfig with RootCAs", Options{Addrs: []string{srv.addr()}, Redis: goredis.UniversalOptions{Password: "tls-secret",
			TLSConfig: &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}}}},
		{"localhost name", Options{URL: strings.Replace(base, "127.0.0.1", "localhost", 1), TLSCAFile: pki.caFile}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			c.o.Prefix = p
			if err := roundTrip(t, mustOpen(t, c.o)); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("system roots refuse the test CA", func(t *testing.T) {
		s := mustOpen(t, Options{URL: base, Prefix: p})
		_, _, err := s.Get(ctxT(t), store.Features, "f")
		if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Get without the CA: %v; want an unavailable certificate error", err)
		}
	})
	t.Run("plain TCP to the TLS port fails", func(t *testing.T) {
		s := mustOpen(t, Options{URL: "redis://:tls-secret@" + srv.addr(), Prefix: p, Redis: goredis.UniversalOptions{ReadTimeout: 500 * time.Millisecond}})
		if _, _, err := s.Get(ctxT(t), store.Features, "f"); err == nil {
			t.Error("plain TCP to a TLS port: no error")
		}
	})
	t.Run("client certificate required", func(t *testing.T) {
		mtls := startServer(t, func(port int) []string {
			return []string{"--port", "0", "--tls-port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
				"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", pki.caFile,
				"--tls-auth-clients", "yes"}
		})
		with := mustOpen(t, Options{URL: "rediss://" + mtls.addr(), Prefix: p, Redis: goredis.UniversalOptions{TLSConfig: &tls.Config{
			RootCAs: pki.pool, Certificates: []tls.Certificate{clientCert}, MinVersion: tls.VersionTLS12}}})
		if err := roundTrip(t, with); err != nil {
			t.Errorf("with a client certificate: %v", err)
		}
		without := mustOpen(t, Options{URL: "rediss://" + mtls.addr(), Prefix: p, TLSCAFile: pki.caFile})
		if _, _, err := without.Get(ctxT(t), store.Features, "f"); !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("without a client certificate: %v; want an unavailable error", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		s := mustOpen(t, Options{URL: "rediss://:nope@" + srv.addr(), TLSCAFile: pki.caFile, Prefix: p})
		_, _, err := s.Get(ctxT(t), store.Features, "f")
		if err == nil || !strings.Contains(err.Error(), "WRONGPASS") || !strings.Contains(err.Error(), "Password") {
			t.Errorf("Get with a wrong password: %v", err)
		}
	})
}
