package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// capabilities are the harness capabilities the service claims. Each one
// names behaviour the service and daemonflag implement; see the README.
var capabilities = []string{
	"server-side",
	"strongly-typed",
	"all-flags-with-reasons",
	"all-flags-client-side-only",
	"all-flags-details-only-for-tracked-flags",
	"big-segments",
	"context-type",
	"context-comparison",
	"secure-mode-hash",
	"evaluation-hooks",
	"user-type",
	"persistent-data-store-redis",
	"persistent-data-store-dynamodb",
	"migrations",
	"anonymous-redaction",
	"inline-context-all",
}

// maxBody bounds a request body.
const maxBody = 16 << 20

// service is the test service's HTTP handler: the status resource, client
// creation, and one resource per client.
type service struct {
	log  *slog.Logger
	stop func() // called by DELETE /; nil: DELETE / only closes the clients

	mu      sync.Mutex
	clients map[string]*entity
	nextID  int
}

func newService(logger *slog.Logger) *service {
	return &service{log: logger, clients: map[string]*entity{}}
}

// ServeHTTP routes: GET / (status), POST / (create a client), DELETE /
// (stop), POST /clients/ID (a command), DELETE /clients/ID (close).
func (s *service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			s.status(w)
		case http.MethodPost:
			s.create(w, r)
		case http.MethodDelete:
			s.log.Info("the harness asked the service to stop")
			w.WriteHeader(http.StatusNoContent)
			if s.stop != nil {
				go s.stop()
			} else {
				go s.closeAll()
			}
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "method %s not allowed on /", r.Method)
		}
	case strings.HasPrefix(r.URL.Path, "/clients/"):
		id := strings.TrimPrefix(r.URL.Path, "/clients/")
		s.mu.Lock()
		e := s.clients[id]
		s.mu.Unlock()
		if e == nil {
			httpError(w, http.StatusNotFound, "no client %q", id)
			return
		}
		switch r.Method {
		case http.MethodPost:
			s.command(w, r, e)
		case http.MethodDelete:
			s.mu.Lock()
			delete(s.clients, id)
			s.mu.Unlock()
			e.close()
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "POST, DELETE")
			httpError(w, http.StatusMethodNotAllowed, "method %s not allowed on a client", r.Method)
		}
	default:
		httpError(w, http.StatusNotFound, "no resource %s", r.URL.Path)
	}
}

func (s *service) status(w http.ResponseWriter) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":          "daemonflag",
		"clientVersion": version(),
		"capabilities":  capabilities,
	})
}

// version is the daemonflag module's version as built, or "dev".
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// createRequest is the body of POST /.
type createRequest struct {
	Tag           string     `json:"tag"`
	Configuration *sdkConfig `json:"configuration"`
}

func (s *service) create(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	if req.Configuration == nil {
		httpError(w, http.StatusBadRequest, "no configuration")
		return
	}
	plan, err := req.Configuration.plan()
	if err != nil {
		httpError(w, http.StatusBadRequest, "configuration: %v", err)
		return
	}
	s.mu.Lock()
	s.nextID++
	id := strconv.Itoa(s.nextID)
	s.mu.Unlock()
	logger := s.log.With("client", id, "tag", req.Tag)
	e, err := startEntity(r.Context(), plan, logger)
	if err != nil {
		logger.Error("client failed to start", "err", err)
		httpError(w, http.StatusInternalServerError, "client failed to start: %v", err)
		return
	}
	s.mu.Lock()
	s.clients[id] = e
	s.mu.Unlock()
	logger.Info("client created")
	w.Header().Set("Location", "/clients/"+id)
	w.WriteHeader(http.StatusCreated)
}

// closeAll closes every client.
func (s *service) closeAll() {
	s.mu.Lock()
	clients := s.clients
	s.clients = map[string]*entity{}
	s.mu.Unlock()
	for _, e := range clients {
		e.close()
	}
}

// commandRequest is the body of POST /clients/ID: the command name and its
// parameters under the same name.
type commandRequest struct {
	Command           string                `json:"command"`
	Evaluate          *evaluateParams       `json:"evaluate"`
	EvaluateAll       *evaluateAllParams    `json:"evaluateAll"`
	ContextBuild      *contextBuildParams   `json:"contextBuild"`
	ContextConvert    *contextConvertParams `json:"contextConvert"`
	ContextComparison *contextComparePair   `json:"contextComparison"`
	SecureModeHash    *secureModeHashParams `json:"secureModeHash"`

	IdentifyEvent      *identifyEventParams      `json:"identifyEvent"`
	CustomEvent        *customEventParams        `json:"customEvent"`
	MigrationVariation *migrationVariationParams `json:"migrationVariation"`
	MigrationOperation *migrationOperationParams `json:"migrationOperation"`
}

// errBadRequest marks command errors that are the request's fault (400).
var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

func (s *service) command(w http.ResponseWriter, r *http.Request, e *entity) {
	var req commandRequest
	if err := decodeBody(r, &req); err != nil {
		httpError(w, http.StatusBadRequest, "%v", err)
		return
	}
	var (
		resp any
		err  error
	)
	switch req.Command {
	case "evaluate":
		resp, err = e.evaluate(r.Context(), req.Evaluate)
	case "evaluateAll":
		resp, err = e.evaluateAll(r.Context(), req.EvaluateAll)
	case "getBigSegmentStoreStatus":
		resp, err = e.bigSegmentStoreStatus()
	case "contextBuild":
		resp, err = contextBuild(req.ContextBuild)
	case "contextConvert":
		resp, err = contextConvert(req.ContextConvert)
	case "contextComparison":
		resp, err = contextComparison(req.ContextComparison)
	case "secureModeHash":
		resp, err = e.secureModeHash(req.SecureModeHash)
	case "identifyEvent":
		resp, err = e.identifyEvent(req.IdentifyEvent)
	case "customEvent":
		resp, err = e.customEvent(req.CustomEvent)
	case "flushEvents":
		resp, err = e.flushEvents(r.Context())
	case "migrationVariation":
		resp, err = e.migrationVariation(r.Context(), req.MigrationVariation)
	case "migrationOperation":
		resp, err = e.migrationOperation(r.Context(), req.MigrationOperation)
	case "":
		err = badRequest("no command")
	default:
		err = badRequest("unknown or unsupported command %q", req.Command)
	}
	switch {
	case errors.Is(err, errBadRequest):
		httpError(w, http.StatusBadRequest, "%s: %v", req.Command, err)
	case err != nil:
		e.log.Error("command failed", "command", req.Command, "err", err)
		httpError(w, http.StatusInternalServerError, "%s: %v", req.Command, err)
	default:
		writeJSON(w, http.StatusOK, resp)
	}
}

// decodeBody reads a JSON request body into v. Unknown properties are
// allowed (the harness adds some over time, and events, tags and wrapper
// are accepted and ignored); malformed JSON and wrong types are errors.
func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("reading the request body: %w", err)
	}
	if len(data) > maxBody {
		return fmt.Errorf("request body larger than %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return errors.New("empty request body; want a JSON object")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "encoding the response: %v", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// httpError answers a plain-text message, which the harness shows in its
// log.
func httpError(w http.ResponseWriter, status int, format string, args ...any) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, format+"\n", args...)
}
