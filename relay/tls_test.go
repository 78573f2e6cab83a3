package relay_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/relay"
)

// newTLSStream starts a TLS streaming service that sends one put per
// connection, and writes its certificate to a PEM file.
func newTLSStream(t *testing.T) (srv *httptest.Server, caFile string) {
	t.Helper()
	put := putData(map[string]string{"f": flagJSON("f", 1)}, nil)
	srv = httptest.NewTLSServer(http.HandlerFunc(streamPut(put)))
	t.Cleanup(srv.Close)
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, caFile
}

func TestRelayTLS(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	srv, caFile := newTLSStream(t)

	t.Run("verify peer: an unknown certificate fails", func(t *testing.T) {
		stats := new(relay.Stats)
		var mu sync.Mutex
		var errs []error
		failed := make(chan struct{}, 10)
		startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, Stats: stats,
			OnFailure: func(err error) {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				failed <- struct{}{}
			}})
		<-failed
		<-failed
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(errs[0].Error(), "certificate") {
			t.Errorf("err = %v", errs[0])
		}
		if s := stats.Snapshot(); s.Connections != 0 || s.Initialized || s.Writes != 0 {
			t.Errorf("connected through an unverified certificate: %+v", s)
		}
	})
	t.Run("custom CA", func(t *testing.T) {
		run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, CAFile: caFile})
		if u := run.update(t); !u.Init {
			t.Fatalf("update %+v", u)
		}
	})
	t.Run("custom CA is the only one trusted", func(t *testing.T) {
		// A CA file that does not hold the server's certificate fails.
		otherCA := writeOtherCA(t)
		stats := new(relay.Stats)
		failed := make(chan error, 10)
		startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, CAFile: otherCA, Stats: stats,
			OnFailure: func(err error) { failed <- err }})
		if err := <-failed; !strings.Contains(err.Error(), "certificate") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("skip verification, with a warning", func(t *testing.T) {
		run := startRelay(t, st, relay.Options{Endpoints: relay.ServiceEndpoints{Streaming: srv.URL}, InsecureSkipVerify: true})
		if u := run.update(t); !u.Init {
			t.Fatalf("update %+v", u)
		}
		if !strings.Contains(run.logs.String(), "TLS CERTIFICATE VERIFICATION IS OFF") {
			t.Errorf("no warning:\n%s", run.logs)
		}
	})
}

// writeOtherCA writes a new self-signed CA certificate to a PEM file.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// forwardProxy is a small HTTP forward proxy on 127.0.0.1: CONNECT
// tunnels (for https) and absolute-form requests (for http). Whatever host
// a client names, the proxy connects to 127.0.0.1 at the requested port, so
// tests can use names that do not resolve.
type forwardProxy struct {
	*httptest.Server
	mu    sync.Mutex
	hosts []string // the host of each request, as the client named it
}

func newForwardProxy(t *testing.T) *forwardProxy {
	t.Helper()
	p := &forwardProxy{}
	local := func(hostport string) string {
		_, port, _ := net.SplitHostPort(hostport)
		return net.JoinHostPort("127.0.0.1", port)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:       func(pr *httputil.ProxyRequest) { pr.Out.URL.Host = local(pr.In.URL.Host) },
		FlushInterval: -1,
	}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hosts = append(p.hosts, r.Host)
		p.mu.Unlock()
		if r.Method != http.MethodConnect {
			if !r.URL.IsAbs() {
				http.Error(w, "not a proxy request", http.StatusBadRequest)
				return
			}
			rp.ServeHTTP(w, r)
			return
		}
		upstream, err := net.Dial("tcp", local(r.Host))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		go func() {
			_, _ = io.Copy(upstream, buf)
			upstream.Close()
		}()
		_, _ = io.Copy(conn, upstream)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *forwardProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.hosts...)
}

func TestRelayThroughProxy(t *testing.T) {
	st := openStore(t, testaddrs.Bolt(t))
	t.Run("http", func(t *testing.T) {
		proxy := newForwardProxy(t)
		put := putData(map[string]string{"f": flagJSON("f", 1)}, nil)
		srv := httptest.NewServer(http.HandlerFunc(streamPut(put)))
		t.Cleanup(srv.Close)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		run := startRelay(t, st, relay.Options{
			Endpoints: relay.ServiceEndpoints{Streaming: "http://flags.invalid:" + port},
			ProxyURL:  proxy.URL,
		})
		if u := run.update(t); !u.Init {
			t.Fatalf("update %+v", u)
		}
		if hosts := proxy.seen(); len(hosts) == 0 || hosts[0] != "flags.invalid:"+port {
			t.Errorf("the proxy saw %q", hosts)
		}
	})
	t.Run("https through CONNECT", func(t *testing.T) {
		proxy := newForwardProxy(t)
		srv, caFile := newTLSStream(t)
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		// The test certificate is for example.com: the tunnel reaches
		// 127.0.0.1, the TLS name check is against example.com.
		run := startRelay(t, st, relay.Options{
			Endpoints: relay.ServiceEndpoints{Streaming: "https://example.com:" + port},
			ProxyURL:  proxy.URL, CAFile: caFile,
		})
		if u := run.update(t); !u.Init {
			t.Fatalf("update %+v", u)
		}
		if hosts := proxy.seen(); len(hosts) == 0 || hosts[0] != "example.com:"+port {
			t.Errorf("the proxy saw %q", hosts)
		}
	})
}
