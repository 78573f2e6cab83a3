package dynamodb

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/daemonflag/daemonflag/store"
)

// TestEndpointWithoutCredentialsNeverAsksInstanceMetadata runs a store on an
// explicit endpoint with no AWS credentials anywhere, and the EC2 instance
// metadata service pointed (by the SDK's own environment variable) at a test
// server that counts requests: none may arrive, and the error says which
// credentials to set.
func TestEndpointWithoutCredentialsNeverAsksInstanceMetadata(t *testing.T) {
	endpoint, table := testTable(t)
	var imdsHits atomic.Int64
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		imdsHits.Add(1)
		http.Error(w, "no role here", http.StatusNotFound)
	}))
	defer imds.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_DEFAULT_PROFILE":                    "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
		"AWS_ROLE_ARN":                           "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_EC2_METADATA_DISABLED":              "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      imds.URL,
		"AWS_REGION":                             testRegion,
	} {
		t.Setenv(k, v)
	}
	st, err := New(t.Context(), Options{Table: table, Endpoint: endpoint})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer st.Close()
	_, _, err = st.Get(t.Context(), store.Features, "f")
	if err == nil {
		t.Fatal("Get without credentials succeeded")
	}
	t.Log(err)
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("error %v does not wrap store.ErrUnavailable", err)
	}
	for _, want := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "any values", "instance metadata"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := imdsHits.Load(); n != 0 {
		t.Errorf("the EC2 instance metadata service got %d request(s); want none with an explicit endpoint", n)
	}
}
