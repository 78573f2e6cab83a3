package dynamodb

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daemonflag/daemonflag/store"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Options
		wantErr string
	}{
		{url: "dynamodb://flags", want: Options{Table: "flags"}},
		{url: "dynamodb://My_Table.v-2/", want: Options{Table: "My_Table.v-2"}},
		{url: "dynamodb://flags?endpoint=http://127.0.0.1:8000&region=eu-west-1&prefix=prod",
			want: Options{Table: "flags", Endpoint: "http://127.0.0.1:8000", Region: "eu-west-1", Prefix: "prod"}},
		{url: "dynamodb://flags?endpoint=http%3A%2F%2F127.0.0.1%3A8000%2F", want: Options{Table: "flags", Endpoint: "http://127.0.0.1:8000/"}},
		{url: "dynamodb://flags?prefix=a%3Ab&create=true", want: Options{Table: "flags", Prefix: "a:b", CreateTable: true}},
		{url: "dynamodb://flags?prefix=", want: Options{Table: "flags"}},
		{url: "redis://flags", wantErr: "scheme must be dynamodb"},
		{url: "dynamodb:flags", wantErr: "want dynamodb://TABLE"},
		{url: "dynamodb://", wantErr: "table name is missing"},
		{url: "dynamodb:///?region=us-east-1", wantErr: "table name is missing"},
		{url: "dynamodb://ab", wantErr: "3 to 255"},
		{url: "dynamodb://" + strings.Repeat("t", 256), wantErr: "3 to 255"},
		{url: "dynamodb://flags:8000", wantErr: "may only hold"},
		{url: "dynamodb://key:secret@flags", wantErr: "credentials do not belong"},
		{url: "dynamodb://flags/extra", wantErr: "unexpected path"},
		{url: "dynamodb://flags#frag", wantErr: "unexpected fragment"},
		{url: "dynamodb://flags?tabel=x", wantErr: `unknown parameter "tabel"`},
		{url: "dynamodb://flags?prefix=a&prefix=b", wantErr: "given 2 times"},
		{url: "dynamodb://flags?endpoint=localhost:8000", wantErr: "scheme must be http or https"},
		{url: "dynamodb://flags?endpoint=127.0.0.1:8000", wantErr: "endpoint"},
		{url: "dynamodb://flags?endpoint=http://", wantErr: "has no host"},
		{url: "dynamodb://flags?region=EU_WEST", wantErr: "may only hold"},
		{url: "dynamodb://flags?region=", wantErr: "region is empty"},
		{url: "dynamodb://flags?create=perhaps", wantErr: "not a boolean"},
		{url: "dynamodb://flags?notify_interval=250ms", want: Options{Table: "flags", NotifyInterval: 250 * time.Millisecond}},
		{url: "dynamodb://flags?notify_interval=0s", wantErr: "positive duration"},
		{url: "dynamodb://flags?notify_interval=often", wantErr: "positive duration"},
		{url: "dynamodb://flags?prefix=%zz", wantErr: "invalid query"},
		{url: "::", wantErr: "invalid store URL"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			got, err := ParseURL(tc.url)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseURL error = %v, want one containing %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Fatalf("error repeats the credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL: %v", err)
			}
			if *got != tc.want {
				t.Fatalf("ParseURL = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"dynamodb://flags",
		"dynamodb://flags?endpoint=http://127.0.0.1:8000&region=us-east-1&prefix=p&create=1",
		"dynamodb://a.b-c_d/?prefix=%41",
		"dynamodb://x@y",
		"dynamodb:opaque",
		"dynamodb://flags?endpoint=https://[::1]:8000",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseURL(s)
		if err != nil {
			if o != nil {
				t.Fatalf("ParseURL(%q) returned options with an error", s)
			}
			return
		}
		if err := validTableName(o.Table); err != nil {
			t.Fatalf("ParseURL(%q) accepted table %q: %v", s, o.Table, err)
		}
		if o.Endpoint != "" {
			if err := validEndpoint(o.Endpoint); err != nil {
				t.Fatalf("ParseURL(%q) accepted endpoint %q: %v", s, o.Endpoint, err)
			}
		}
		if o.Client != nil || o.AWSConfig != nil {
			t.Fatalf("ParseURL(%q) set a client", s)
		}
	})
}

func TestNewValidatesOptions(t *testing.T) {
	if _, err := New(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), "Options.Table") {
		t.Fatalf("New without a table: %v", err)
	}
	cfg := testAWSConfig()
	if _, err := New(context.Background(), Options{Table: "flags", AWSConfig: &cfg, Endpoint: "ftp://x"}); err == nil {
		t.Fatal("New accepted an ftp endpoint")
	}
	cfg.Region = ""
	_, err := New(context.Background(), Options{Table: "flags", AWSConfig: &cfg})
	if err == nil || !strings.Contains(err.Error(), "no AWS region") {
		t.Fatalf("New without any region: %v", err)
	}
	// With an endpoint, a local server needs no configured region.
	s, err := New(context.Background(), Options{Table: "flags", AWSConfig: &cfg, Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.region != localDefaultRegion {
		t.Fatalf("region %q, want %q", s.region, localDefaultRegion)
	}
}

// TestClientSources opens the store from each source of a client: a client
// the caller built, an aws.Config, and the default configuration chain
// (here: environment variables).
func TestClientSources(t *testing.T) {
	endpoint, table := testTable(t)
	prefix := uniquePrefix("sources")
	w := newTestStore(t, prefix)
	if _, err := w.Upsert(t.Context(), store.Features, "f", mustItem(t, `{"key":"f","version":3}`)); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, opts Options) {
		t.Helper()
		st, err := New(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		it, found, err := st.Get(t.Context(), store.Features, "f")
		if err != nil || !found || it.Version != 3 {
			t.Fatalf("Get = %+v, %v, %v", it, found, err)
		}
	}
	t.Run("Client", func(t *testing.T) {
		c := ddb.NewFromConfig(testAWSConfig(), func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })
		check(t, Options{Table: table, Prefix: prefix, Client: c, Endpoint: "http://ignored.invalid"})
		// A missing table names the client's region and endpoint.
		st, _ := New(t.Context(), Options{Table: "no-such-" + randomToken(), Client: c})
		err := st.Ping(t.Context())
		var tnf *TableNotFoundError
		if !errors.As(err, &tnf) || tnf.Region != testRegion || tnf.Endpoint != endpoint {
			t.Fatalf("Ping error = %#v", err)
		}
	})
	t.Run("AWSConfig", func(t *testing.T) {
		check(t, Options{Table: table, Prefix: prefix, AWSConfig: ptr(testAWSConfig()), Endpoint: endpoint})
	})
	t.Run("DefaultChain", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "daemonflag-test")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "daemonflag-test")
		t.Setenv("AWS_REGION", "eu-west-3")
		t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		check(t, Options{Table: table, Prefix: prefix, Endpoint: endpoint})
		st, err := New(t.Context(), Options{Table: table, Endpoint: endpoint})
		if err != nil || st.region != "eu-west-3" {
			t.Fatalf("region from the environment: %v, %v", st, err)
		}
	})
}
