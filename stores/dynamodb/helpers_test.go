package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daemonflag/daemonflag/internal/testservers"
)

// Tests talk to the DynamoDB-compatible server at DAEMONFLAG_DYNAMODB_ENDPOINT
// (scripts/dynalite.sh starts one), with dummy static credentials in
// us-east-1. Each test process works in a table of its own, which TestMain
// deletes at the end.

const testRegion = "us-east-1"

// envTestTable names the table of a parent test process, for its helpers.
const envTestTable = "DAEMONFLAG_TEST_DYNAMODB_TABLE"

var (
	tableOnce    sync.Once
	tableName    string
	tableErr     error
	tableCreated bool
)

func TestMain(m *testing.M) {
	code := m.Run()
	if tableCreated {
		if endpoint := os.Getenv(testservers.EnvDynamoDBEndpoint); endpoint != "" {
			c := ddb.NewFromConfig(testAWSConfig(), func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, _ = c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String(tableName)})
			cancel()
		}
	}
	os.Exit(code)
}

func testAWSConfig() aws.Config {
	return aws.Config{
		Region:      testRegion,
		Credentials: credentials.NewStaticCredentialsProvider("daemonflag-test", "daemonflag-test", ""),
	}
}

func randomToken() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// testTable returns this process's table, creating it on first use.
func testTable(t testing.TB) (endpoint, table string) {
	t.Helper()
	endpoint = testservers.DynamoDBEndpoint(t)
	tableOnce.Do(func() {
		if t := os.Getenv(envTestTable); t != "" {
			tableName = t // a helper process: the parent's table
			return
		}
		tableName = "daemonflag-test-" + randomToken()
		s, err := New(context.Background(), Options{
			Table: tableName, Endpoint: endpoint, AWSConfig: ptr(testAWSConfig()), CreateTable: true,
		})
		if err != nil {
			tableErr = err
			return
		}
		tableCreated = true
		_ = s.Close()
	})
	if tableErr != nil {
		t.Fatalf("creating test table: %v", tableErr)
	}
	return endpoint, tableName
}

func ptr[T any](v T) *T { return &v }

// testOptions returns Options for the test table with the given prefix.
func testOptions(t testing.TB, prefix string) Options {
	t.Helper()
	endpoint, table := testTable(t)
	return Options{
		Table:     table,
		Prefix:    prefix,
		Endpoint:  endpoint,
		AWSConfig: ptr(testAWSConfig()),
		// Fast retries keep the fault-injection tests short.
		RetryDelay: time.Millisecond,
	}
}

// newTestStore opens a Store on the test table, closed when the test ends.
func newTestStore(t testing.TB, prefix string) *Store {
	t.Helper()
	s, err := New(context.Background(), testOptions(t, prefix))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// newWrappedStore opens a Store whose requests go through wrap(real client).
func newWrappedStore(t testing.TB, prefix string, wrap func(api) api) *Store {
	t.Helper()
	opts := testOptions(t, prefix)
	c, region, err := newClient(context.Background(), &opts)
	if err != nil {
		t.Fatalf("newClient: %v", err)
	}
	s, err := open(context.Background(), opts, wrap(c), region)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// rawClient is a plain AWS client on the test server, for writing and
// reading items the way LaunchDarkly's integration does.
func rawClient(t testing.TB) (*ddb.Client, string) {
	t.Helper()
	endpoint, table := testTable(t)
	c := ddb.NewFromConfig(testAWSConfig(), func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	return c, table
}

// uniquePrefix returns a prefix no other test or run uses.
func uniquePrefix(name string) string {
	return fmt.Sprintf("%s-%s", name, randomToken())
}
