package nudge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/daemonflag/daemonflag/internal/testwait"
)

// pair returns a wrapped client connection and the server's end of it, over
// loopback TCP.
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	c, ok := Wrap(raw).(*Conn)
	if !ok {
		t.Fatalf("Wrap of a TCP connection returned %T", Wrap(raw))
	}
	t.Cleanup(func() { c.Close(); srv.Close() })
	return c, srv
}

// waitReading waits until c's reader waits in Read.
func waitReading(t *testing.T, c *Conn) {
	testwait.Eventually(t, "a reader waiting in Read", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.reading
	})
}

// oneProcessor runs the rest of the test on one processor, so that the
// network poller cannot wake a parked reader before the test's own
// goroutine, which holds that processor, blocks: replies reach readers only
// through Nudge until then (as when busy goroutines hold every processor).
func oneProcessor(t *testing.T) {
	prev := runtime.GOMAXPROCS(1)
	t.Cleanup(func() { runtime.GOMAXPROCS(prev) })
}

// nudgeUntilWoken nudges without blocking until a reader was woken.
func nudgeUntilWoken(t *testing.T) {
	t.Helper()
	for range 1_000_000 {
		if Nudge() > 0 {
			return
		}
	}
	t.Fatal("no nudge woke the reader")
}

type readResult struct {
	data string
	err  error
}

func readOnce(c net.Conn, n int) chan readResult {
	ch := make(chan readResult, 1)
	go func() {
		buf := make([]byte, n)
		k, err := c.Read(buf)
		ch <- readResult{string(buf[:k]), err}
	}()
	return ch
}

func TestNudgeWakesReaderWithItsReply(t *testing.T) {
	oneProcessor(t)
	c, srv := pair(t)
	if err := c.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := readOnce(c, 16)
	waitReading(t, c)
	if n := Nudge(); n != 0 {
		t.Fatalf("Nudge with no reply in the buffer woke %d readers, want 0", n)
	}
	if _, err := srv.Write([]byte("+PONG\r\n")); err != nil {
		t.Fatal(err)
	}
	nudgeUntilWoken(t)
	r := <-got
	if r.err != nil || r.data != "+PONG\r\n" {
		t.Fatalf("Read = %q, %v; want the reply and no error", r.data, r.err)
	}
}

// The user's deadline holds after a wake-up: the next Read times out at it,
// with the error a deadline gives.
func TestNudgeRestoresTheDeadline(t *testing.T) {
	oneProcessor(t)
	c, srv := pair(t)
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	got := readOnce(c, 1)
	waitReading(t, c)
	if _, err := srv.Write([]byte("ab")); err != nil {
		t.Fatal(err)
	}
	nudgeUntilWoken(t)
	if r := <-got; r.err != nil || r.data != "a" {
		t.Fatalf("Read = %q, %v; want \"a\"", r.data, r.err)
	}
	buf := make([]byte, 4)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "b" {
		t.Fatalf("second Read = %q, %v; want \"b\"", buf[:n], err)
	}
	_, err := c.Read(buf)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v, want os.ErrDeadlineExceeded", err)
	}
}

// A wake-up is never seen as a timeout: with no deadline at all, the reader
// woken while its reply is still partial keeps waiting for the rest.
func TestNudgeWithoutDeadline(t *testing.T) {
	oneProcessor(t)
	c, srv := pair(t)
	got := readOnce(c, 16)
	waitReading(t, c)
	if _, err := srv.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	nudgeUntilWoken(t)
	if r := <-got; r.err != nil || r.data != "x" {
		t.Fatalf("Read = %q, %v; want \"x\"", r.data, r.err)
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	got = readOnce(c, 16)
	waitReading(t, c)
	if _, err := srv.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.err != nil || r.data != "y" {
		t.Fatalf("Read woken by the network = %q, %v; want \"y\"", r.data, r.err)
	}
}

// A peer that closes is readable too: the woken reader gets io.EOF.
func TestNudgeWakesReaderOfClosedPeer(t *testing.T) {
	oneProcessor(t)
	c, srv := pair(t)
	got := readOnce(c, 16)
	waitReading(t, c)
	srv.Close()
	nudgeUntilWoken(t)
	if r := <-got; !errors.Is(r.err, io.EOF) {
		t.Fatalf("Read after the peer closed: %q, %v; want io.EOF", r.data, r.err)
	}
}

// The wrapped connection is under TLS: a reader waiting in the TLS layer
// is woken and gets the decrypted record.
func TestNudgeUnderTLS(t *testing.T) {
	oneProcessor(t)
	c, srv := pair(t)
	cert := selfSigned(t)
	ts := tls.Server(srv, &tls.Config{Certificates: []tls.Certificate{cert}})
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	tc := tls.Client(c, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	hs := make(chan error, 1)
	go func() { hs <- ts.Handshake() }()
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if err := <-hs; err != nil {
		t.Fatal(err)
	}
	if err := tc.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got := readOnce(tc, 64)
	waitReading(t, c)
	if _, err := ts.Write([]byte("$5\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	nudgeUntilWoken(t)
	if r := <-got; r.err != nil || r.data != "$5\r\nhello\r\n" {
		t.Fatalf("TLS Read = %q, %v; want the record", r.data, r.err)
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(crand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

func TestWrapLeavesOtherConnectionsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if w := Wrap(a); w != a {
		t.Fatalf("Wrap(net.Pipe end) = %T, want the connection itself", w)
	}
}

func TestNudgeMakesNoAllocation(t *testing.T) {
	c, _ := pair(t)
	got := readOnce(c, 1)
	waitReading(t, c)
	if n := testing.AllocsPerRun(100, func() { Nudge() }); n != 0 {
		t.Fatalf("Nudge with a waiting reader: %v allocations, want 0", n)
	}
	c.Close()
	<-got
}

// Many connections echo requests while other goroutines nudge without
// pause: every reply arrives whole and in order (run with -race).
func TestNudgeUnderConcurrentEchoes(t *testing.T) {
	const conns, rounds = 8, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var nudgers sync.WaitGroup
	for range 2 {
		nudgers.Add(1)
		go func() {
			defer nudgers.Done()
			for {
				select {
				case <-stop:
					return
				default:
					Nudge()
				}
			}
		}()
	}
	errs := make(chan error, conns)
	for range conns {
		c, srv := pair(t)
		go func() { _, _ = io.Copy(srv, srv) }()
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 8)
			for i := range rounds {
				msg := []byte{byte(i), byte(i >> 8), 'a', 'b', 'c', 'd', 'e', 'f'}
				if err := c.SetReadDeadline(time.Now().Add(time.Minute)); err != nil {
					errs <- err
					return
				}
				if _, err := c.Write(msg); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					errs <- err
					return
				}
				if string(buf) != string(msg) {
					errs <- errors.New("echo mismatch: " + string(buf))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	nudgers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
