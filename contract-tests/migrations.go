package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/daemonflag/daemonflag/migration"
)

// migrationVariationParams are the parameters of "migrationVariation".
type migrationVariationParams struct {
	Key          string          `json:"key"`
	Context      json.RawMessage `json:"context"`
	DefaultStage string          `json:"defaultStage"`
}

func (e *entity) migrationVariation(ctx context.Context, p *migrationVariationParams) (any, error) {
	if p == nil {
		return nil, badRequest("no migrationVariation parameters")
	}
	ec, err := evaluationContext(p.Context, nil)
	if err != nil {
		return nil, err
	}
	stage, _, _ := e.client.MigrationVariationCtx(ctx, p.Key, ec, migration.Stage(p.DefaultStage))
	return map[string]string{"result": string(stage)}, nil
}

// migrationOperationParams are the parameters of "migrationOperation":
// the origins are the harness's HTTP endpoints, called with the payload as
// the body.
type migrationOperationParams struct {
	Key                string          `json:"key"`
	Context            json.RawMessage `json:"context"`
	DefaultStage       string          `json:"defaultStage"`
	ReadExecutionOrder string          `json:"readExecutionOrder"`
	Operation          string          `json:"operation"`
	OldEndpoint        string          `json:"oldEndpoint"`
	NewEndpoint        string          `json:"newEndpoint"`
	Payload            *string         `json:"payload"`
	TrackLatency       bool            `json:"trackLatency"`
	TrackErrors        bool            `json:"trackErrors"`
	TrackConsistency   bool            `json:"trackConsistency"`
}

// callOrigin posts the payload to an origin endpoint; a status outside
// 2xx is an error. The result is the response body.
func callOrigin(endpoint string) migration.Func[*string, string] {
	return func(ctx context.Context, payload *string) (string, error) {
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader([]byte(*payload))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, body)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			return "", err
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return "", fmt.Errorf("origin answered %d", resp.StatusCode)
		}
		return string(data), nil
	}
}

func (e *entity) migrationOperation(ctx context.Context, p *migrationOperationParams) (any, error) {
	if p == nil {
		return nil, badRequest("no migrationOperation parameters")
	}
	ec, err := evaluationContext(p.Context, nil)
	if err != nil {
		return nil, err
	}
	for _, u := range []string{p.OldEndpoint, p.NewEndpoint} {
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") {
			return nil, badRequest("origin endpoint %q is not an http(s) URI", u)
		}
	}
	cfg := migration.Config[*string, string, string]{
		ReadOld: callOrigin(p.OldEndpoint), ReadNew: callOrigin(p.NewEndpoint),
		WriteOld: callOrigin(p.OldEndpoint), WriteNew: callOrigin(p.NewEndpoint),
		ReadOrder: migration.ExecutionOrder(p.ReadExecutionOrder),
		NoLatency: !p.TrackLatency, NoErrors: !p.TrackErrors,
		Logger: e.log,
	}
	if p.TrackConsistency {
		cfg.Compare = func(a, b string) bool { return a == b }
	}
	m, err := migration.NewMigrator(e.client, cfg)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	def := migration.Stage(p.DefaultStage)
	var res migration.Result[string]
	switch migration.Operation(p.Operation) {
	case migration.Read:
		res = m.Read(ctx, p.Key, ec, def, p.Payload).Result
	case migration.Write:
		res = m.Write(ctx, p.Key, ec, def, p.Payload).Authoritative
	default:
		return nil, badRequest("operation %q is not read or write", p.Operation)
	}
	if res.Err != nil {
		return map[string]string{"result": res.Err.Error()}, nil
	}
	return map[string]string{"result": res.Value}, nil
}
