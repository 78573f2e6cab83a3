package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testwait"
	"github.com/daemonflag/daemonflag/jsonvalue"
)

const testKey = "sdk-contract-test-key"

// testLogger logs to the test output when -v is given, else nowhere.
func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// harness drives a service over HTTP the way the contract-test harness
// does.
type harness struct {
	t   *testing.T
	url string
	svc *service
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	svc := newService(testLogger(t))
	srv := httptest.NewServer(svc)
	t.Cleanup(func() {
		svc.closeAll()
		srv.Close()
	})
	return &harness{t: t, url: srv.URL, svc: svc}
}

// do sends a request and returns the status, the Location header and the
// body.
func (h *harness) do(method, path string, body any) (int, string, []byte) {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), data
}

// create creates a client and returns its resource path; it fails the test
// unless the service answers 201.
func (h *harness) create(config map[string]any) string {
	h.t.Helper()
	status, loc, body := h.do("POST", "/", map[string]any{"tag": h.t.Name(), "configuration": config})
	if status != http.StatusCreated || !strings.HasPrefix(loc, "/clients/") {
		h.t.Fatalf("create: %d %q %s", status, loc, body)
	}
	h.t.Cleanup(func() { h.do("DELETE", loc, nil) })
	return loc
}

// command runs a command and returns its JSON answer; it fails the test
// unless the service answers 200.
func (h *harness) command(client, name string, params any) jsonvalue.Value {
	h.t.Helper()
	body := map[string]any{"command": name}
	if params != nil {
		body[name] = params
	}
	status, _, data := h.do("POST", client, body)
	if status != http.StatusOK {
		h.t.Fatalf("%s: %d %s", name, status, data)
	}
	v, err := jsonvalue.Parse(data)
	if err != nil {
		h.t.Fatalf("%s: answer %s: %v", name, data, err)
	}
	return v
}

// evaluate runs "evaluate" with a context of kind user and key "user-key".
func (h *harness) evaluate(client, flag, valueType string, def any, detail bool) jsonvalue.Value {
	h.t.Helper()
	return h.command(client, "evaluate", map[string]any{
		"flagKey": flag, "context": map[string]any{"kind": "user", "key": "user-key"},
		"valueType": valueType, "defaultValue": def, "detail": detail,
	})
}

// mustJSON parses JSON for comparisons.
func mustJSON(t *testing.T, s string) jsonvalue.Value {
	t.Helper()
	v, err := jsonvalue.Parse([]byte(s))
	if err != nil {
		t.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

func assertJSON(t *testing.T, what string, got jsonvalue.Value, want string) {
	t.Helper()
	if w := mustJSON(t, want); !got.Equal(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, got, w)
	}
}

// streamer is a test streaming service: every connection gets a put of
// the current data, then every pushed event.
type streamer struct {
	*httptest.Server
	mu      sync.Mutex
	flags   map[string]string
	segs    map[string]string
	conns   []chan string
	status  int
	headers []http.Header
}

func newStreamer(t *testing.T) *streamer {
	s := &streamer{flags: map[string]string{}, segs: map[string]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/all" {
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		s.headers = append(s.headers, r.Header.Clone())
		if s.status != 0 {
			st := s.status
			s.mu.Unlock()
			w.WriteHeader(st)
			return
		}
		ch := make(chan string, 64)
		s.conns = append(s.conns, ch)
		put := s.putLocked()
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, put)
		w.(http.Flusher).Flush()
		for {
			select {
			case msg := <-ch:
				_, _ = io.WriteString(w, msg)
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *streamer) putLocked() string {
	obj := func(m map[string]string) string {
		var parts []string
		for k, v := range m {
			parts = append(parts, fmt.Sprintf("%q:%s", k, v))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return fmt.Sprintf("event: put\ndata: {\"path\":\"/\",\"data\":{\"flags\":%s,\"segments\":%s}}\n\n", obj(s.flags), obj(s.segs))
}

// header returns the headers of the i-th request.
func (s *streamer) header(i int) http.Header {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.headers[i]
}

// setFlag sets a flag's JSON for the next put.
func (s *streamer) setFlag(key, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flags[key] = data
}

func (s *streamer) setSegment(key, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.segs[key] = data
}

// push sends an event to every open connection.
func (s *streamer) push(event, data string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c <- "event: " + event + "\ndata: " + data + "\n\n"
	}
}

// eventually is the repository's one wait helper (internal/testwait).
var eventually = testwait.Eventually

// The flags most tests use, in LaunchDarkly's schema.
const (
	flagBool = `{"key":"bool-flag","version":1,"on":true,"variations":[false,true],"offVariation":0,
		"fallthrough":{"variation":1},"salt":"s",
		"rules":[{"id":"rule-1","variation":0,"clauses":[{"attribute":"key","op":"in","values":["rule-user"]}]}],
		"targets":[{"values":["target-user"],"variation":0}]}`
	flagString = `{"key":"string-flag","version":3,"on":true,"variations":["off","on"],"offVariation":0,
		"fallthrough":{"variation":1},"salt":"s","clientSideAvailability":{"usingEnvironmentId":true}}`
	flagNumber = `{"key":"number-flag","version":1,"on":false,"variations":[0,42],"offVariation":1,"salt":"s"}`
	flagDouble = `{"key":"double-flag","version":1,"on":false,"variations":[2.5],"offVariation":0,"salt":"s"}`
	flagJSON   = `{"key":"json-flag","version":1,"on":true,"variations":[{"a":1},{"a":2}],
		"fallthrough":{"variation":1},"salt":"s","trackEvents":true}`
	flagPrereq = `{"key":"prereq-flag","version":7,"on":true,"variations":["no","yes"],"offVariation":0,
		"fallthrough":{"variation":1},"salt":"s","prerequisites":[{"key":"bool-flag","variation":1}]}`
	flagOffNoVariation = `{"key":"off-flag","version":2,"on":false,"variations":["a"],"salt":"s"}`
)

// standardStreamer returns a streaming service holding the standard flags.
func standardStreamer(t *testing.T) *streamer {
	s := newStreamer(t)
	for key, data := range map[string]string{
		"bool-flag": flagBool, "string-flag": flagString, "number-flag": flagNumber, "double-flag": flagDouble,
		"json-flag": flagJSON, "prereq-flag": flagPrereq, "off-flag": flagOffNoVariation,
	} {
		s.setFlag(key, strings.Join(strings.Fields(data), " "))
	}
	return s
}
