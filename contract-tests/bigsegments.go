package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/daemonflag/daemonflag/store"
)

// callbackTimeout bounds one request to a harness callback fixture.
const callbackTimeout = 10 * time.Second

// bigSegmentFixture is a big-segment store (store.BigSegmentReader) whose
// every call is a request to the harness's big-segment callback fixture:
// POST {callbackUri}/getMetadata and POST {callbackUri}/getMembership.
type bigSegmentFixture struct {
	base   string
	client *http.Client
}

var _ store.BigSegmentReader = (*bigSegmentFixture)(nil)

func newBigSegmentFixture(callbackURI string) *bigSegmentFixture {
	return &bigSegmentFixture{base: strings.TrimRight(callbackURI, "/"), client: &http.Client{Timeout: callbackTimeout}}
}

// Membership asks the fixture for a context hash's membership: {"values":
// {"<segmentRef>": true | false | null}}; true is included, false excluded,
// null or absent neither. No values at all is no stored membership.
func (f *bigSegmentFixture) Membership(ctx context.Context, contextHash string) (store.Membership, error) {
	var resp struct {
		Values map[string]*bool `json:"values"`
	}
	if err := f.post(ctx, "/getMembership", map[string]string{"contextHash": contextHash}, &resp); err != nil {
		return store.Membership{}, err
	}
	var m store.Membership
	for ref, v := range resp.Values {
		switch {
		case v == nil:
		case *v:
			m.Included = append(m.Included, ref)
		default:
			m.Excluded = append(m.Excluded, ref)
		}
	}
	return m, nil
}

// SynchronizedOn asks the fixture for its metadata: {"lastUpToDate": ms}.
// A missing or zero time is never synchronized.
func (f *bigSegmentFixture) SynchronizedOn(ctx context.Context) (time.Time, bool, error) {
	var resp struct {
		LastUpToDate *int64 `json:"lastUpToDate"`
	}
	if err := f.post(ctx, "/getMetadata", nil, &resp); err != nil {
		return time.Time{}, false, err
	}
	if resp.LastUpToDate == nil || *resp.LastUpToDate == 0 {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(*resp.LastUpToDate), true, nil
}

// Close does nothing: the fixture belongs to the harness.
func (f *bigSegmentFixture) Close() error { return nil }

// post sends body (nil: none) as JSON and decodes the answer into out. Any
// failure wraps store.ErrUnavailable, as a real store's would.
func (f *bigSegmentFixture) post(ctx context.Context, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+path, rd)
	if err != nil {
		return fmt.Errorf("%w: big-segment fixture: %v", store.ErrUnavailable, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: big-segment fixture %s: %v", store.ErrUnavailable, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%w: big-segment fixture %s: %v", store.ErrUnavailable, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: big-segment fixture %s: status %d", store.ErrUnavailable, path, resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: big-segment fixture %s: %v", store.ErrUnavailable, path, err)
	}
	return nil
}
