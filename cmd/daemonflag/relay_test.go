package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testaddrs"
	"github.com/daemonflag/daemonflag/internal/testlog"
)

const relayTestKey = "sdk-cli-relay-test-key-42"

// relayService is a test streaming service: each connection gets the put,
// then whatever is pushed. A non-zero status answers every request.
type relayService struct {
	*httptest.Server
	mu     sync.Mutex
	put    string
	conns  []chan string
	status int
	auth   []string
}

func newRelayService(t *testing.T, put string) *relayService {
	s := &relayService{put: put}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.auth = append(s.auth, r.Header.Get("Authorization"))
		if s.status != 0 {
			st := s.status
			s.mu.Unlock()
			w.WriteHeader(st)
			return
		}
		ch := make(chan string, 8)
		s.conns = append(s.conns, ch)
		put := s.put
		s.mu.Unlock()
		if r.URL.Path != "/all" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "event: put\ndata: "+put+"\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case m := <-ch:
				_, _ = io.WriteString(w, m)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *relayService) push(event, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c <- "event: " + event + "\ndata: " + data + "\n\n"
	}
}

const relayPut = `{"path":"/","data":{"flags":{"greeting":{"key":"greeting","version":1,"on":false,"offVariation":0,"variations":["hello"],"salt":"s"}},"segments":{}}}`

func TestRelayUsageErrors(t *testing.T) {
	db := "bolt:" + t.TempDir() + "/f.db"
	withKey := map[string]string{envSDKKey: relayTestKey}
	for _, tc := range []struct {
		env  map[string]string
		args []string
		msg  string
	}{
		{withKey, []string{"relay", "--store", db}, "give --stream URI or --poll URI"},
		{withKey, []string{"relay", "--store", db, "--stream", "http://a", "--poll", "http://b"}, "not both"},
		{withKey, []string{"relay", "--store", db, "--poll", "http://a", "--interval", "0s"}, "must be positive"},
		{withKey, []string{"relay", "--store", db, "--stream", "http://a", "extra"}, `unexpected argument "extra"`},
		{withKey, []string{"relay", "--store", db, "--stream", "http://a", "--log-format", "xml"}, "--log-format"},
		{withKey, []string{"relay", "--stream", "http://a"}, "no store"},
		{nil, []string{"relay", "--store", db, "--stream", "http://a"}, "no SDK key: set " + envSDKKey},
		{nil, []string{"relay", "--store", db, "--stream", "http://a", "--sdk-key", "sdk-x"}, "never a flag"},
		{nil, []string{"relay", "--store", db, "--stream", "http://a", "-sdk-key=sdk-x"}, "never a flag"},
	} {
		r := runApp(t, tc.env, tc.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("%v: want exit 2 and %q: %s", tc.args, tc.msg, r)
		}
		if strings.Contains(r.stderr, "sdk-x") {
			t.Errorf("%v: the key given as a flag is echoed: %s", tc.args, r.stderr)
		}
	}
}

// runRelayApp runs "daemonflag relay" in process until ctx ends.
func runRelayApp(ctx context.Context, env map[string]string, args ...string) (result, *syncBuf) {
	var out bytes.Buffer
	errb := &syncBuf{}
	a := &app{stdin: strings.NewReader(""), stdout: &out, stderr: errb, getenv: func(k string) string { return env[k] }}
	code := a.run(ctx, append([]string{"relay"}, args...))
	return result{stdout: out.String(), stderr: errb.String(), code: code}, errb
}

// syncBuf is the command's stderr, read while the relay writes to it.
type syncBuf = testlog.Buffer

func TestRelayRejectedKey(t *testing.T) {
	svc := newRelayService(t, relayPut)
	svc.mu.Lock()
	svc.status = http.StatusUnauthorized
	svc.mu.Unlock()
	db := "bolt:" + t.TempDir() + "/f.db"
	r, _ := runRelayApp(context.Background(), map[string]string{envSDKKey: relayTestKey}, "--store", db, "--stream", svc.URL)
	if r.code != exitFail || !strings.Contains(r.stderr, "rejected the SDK key") || !strings.Contains(r.stderr, envSDKKey) {
		t.Fatalf("want exit 1 naming the rejected key: %s", r)
	}
	if strings.Contains(r.stderr, relayTestKey) {
		t.Fatalf("the key is in the output: %s", r.stderr)
	}
}

// TestBinaryRelay runs the relay binary against a test stream on every
// backend, reads the store with eval, and stops the relay with SIGTERM.
func TestBinaryRelay(t *testing.T) {
	testaddrs.ForEach(t, func(t *testing.T, addr string) {
		svc := newRelayService(t, relayPut)
		dir := t.TempDir()
		cmd, logs, done := startDaemon(t, dir, append(cliEnv(), envSDKKey+"="+relayTestKey),
			"relay", "--store", addr, "--stream", svc.URL, "--retry-delay", "50ms")
		eventually := func(want string) {
			t.Helper()
			waitForGreeting(t, dir, addr, want, logs)
		}
		eventually(`"value":"hello"`)
		svc.push("patch", `{"path":"/flags/greeting","data":{"key":"greeting","version":2,"on":false,"offVariation":0,"variations":["bonjour"],"salt":"s"}}`)
		eventually(`"value":"bonjour"`)

		log := stopDaemon(t, "relay", cmd, done, logs)
		for _, s := range []string{"store initialized with the first complete dataset", "flag updated", "relay: stopped"} {
			if !strings.Contains(log, s) {
				t.Errorf("relay logs lack %q:\n%s", s, log)
			}
		}
		if strings.Contains(log, relayTestKey) {
			t.Errorf("the SDK key is in the logs:\n%s", log)
		}
		svc.mu.Lock()
		defer svc.mu.Unlock()
		if len(svc.auth) == 0 || svc.auth[0] != relayTestKey {
			t.Errorf("Authorization headers %q", svc.auth)
		}
	})
}
