package events

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/daemonflag/daemonflag/internal/testlog"
)

// received is one request the receiver got.
type received struct {
	header http.Header
	body   []byte // decompressed
	events []map[string]any
}

// receiver is a real HTTP events service: it parses every POST /bulk,
// checks it is a JSON array, and answers the next status of its script
// (202 once the script is used up).
type receiver struct {
	t   testing.TB
	ln  net.Listener
	srv *http.Server
	url string

	mu       sync.Mutex
	reqs     []received
	statuses []int
	date     string // Date header to answer, if set
}

func newReceiver(t testing.TB, statuses ...int) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, statuses: statuses, url: "http://" + ln.Addr().String()}
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *receiver) serve(ln net.Listener) {
	r.ln = ln
	r.srv = &http.Server{Handler: http.HandlerFunc(r.handle)}
	go func() { _ = r.srv.Serve(ln) }()
}

// stop kills the receiver: connections are refused until restart.
func (r *receiver) stop() { _ = r.srv.Close() }

// restart listens again on the same address.
func (r *receiver) restart() {
	ln, err := net.Listen("tcp", strings.TrimPrefix(r.url, "http://"))
	if err != nil {
		r.t.Fatalf("restart receiver: %v", err)
	}
	r.serve(ln)
}

func (r *receiver) handle(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost || req.URL.Path != "/bulk" {
		r.t.Errorf("receiver: unexpected %s %s", req.Method, req.URL.Path)
		w.WriteHeader(http.StatusNotFound)
		return
	}
	var rd io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			r.t.Errorf("receiver: bad gzip: %v", err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		rd = zr
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var evs []map[string]any
	if err := json.Unmarshal(body, &evs); err != nil {
		r.t.Errorf("receiver: body is not a JSON array of objects: %v\n%s", err, body)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, received{header: req.Header.Clone(), body: body, events: evs})
	status := http.StatusAccepted
	if len(r.statuses) > 0 {
		status, r.statuses = r.statuses[0], r.statuses[1:]
	}
	date := r.date
	r.mu.Unlock()
	if date != "" {
		w.Header().Set("Date", date)
	}
	w.WriteHeader(status)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// eventsOfKind counts the events of a kind in the requests answered 2xx
// (the requests list holds every attempt; pass only accepted ones).
func countKind(reqs []received, kind string) int {
	n := 0
	for _, rq := range reqs {
		for _, e := range rq.events {
			if e["kind"] == kind {
				n++
			}
		}
	}
	return n
}

// logBuffer is a log target that tests can read while the processor
// writes to it.
type logBuffer = testlog.Buffer

func newLogger(b *logBuffer) *slog.Logger { return b.Logger() }
