package dynamodb

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Options configures a [Store]. Every zero value is a documented default;
// only Table is required.
type Options struct {
	// Table is the name (or ARN) of the DynamoDB table. Required. The table's
	// partition key is "namespace" (string) and its sort key "key" (string);
	// see the package documentation.
	Table string

	// Prefix separates datasets that share a table: item namespaces become
	// "<Prefix>:features" and so on. Empty means no prefix, which is
	// LaunchDarkly's default too. Readers and writers of one dataset must use
	// the same prefix.
	Prefix string

	// Region is the AWS region of the table. Empty means the region of the
	// AWS configuration (AWS_REGION, the shared config file's profile), or
	// "us-east-1" when Endpoint is set and no region is configured (local
	// servers ignore the region but request signing needs one). Ignored when
	// Client is set.
	Region string

	// Endpoint overrides the DynamoDB endpoint URL, for DynamoDB Local or
	// dynalite ("http://127.0.0.1:8000"). Empty means AWS's endpoint for the
	// region. Ignored when Client is set. With an Endpoint (and no
	// AWSConfig) the EC2 instance metadata service is never asked for
	// credentials: they come from the environment (AWS_ACCESS_KEY_ID and
	// AWS_SECRET_ACCESS_KEY; any values do for a local server) or a
	// profile, and their absence is an error that says so.
	Endpoint string

	// Client is a DynamoDB client to use as it is. Nil means: build one from
	// AWSConfig, or from the AWS default configuration chain (environment,
	// shared config and credentials files, instance or task roles). Close
	// does not affect a client the caller passed.
	Client *ddb.Client

	// AWSConfig is the AWS configuration to build the client from when Client
	// is nil. Nil means config.LoadDefaultConfig. Region and Endpoint, when
	// set, override it.
	AWSConfig *aws.Config

	// CreateTable makes New create the table when it does not exist, with
	// on-demand (pay-per-request) billing, and wait until it is active. It is
	// meant for development and tests: it needs dynamodb:CreateTable and
	// dynamodb:DescribeTable, and a production table's capacity, backups and
	// encryption belong to whoever manages the infrastructure. False means New
	// touches nothing; a missing table then shows up as an error on first use
	// that names the table and region.
	CreateTable bool

	// WriteConcurrency bounds the write requests (BatchWriteItem during Init,
	// UpdateItem during ApplyMembership) that one call keeps in flight. Zero
	// means 8.
	WriteConcurrency int

	// MaxAttempts is how many times a batch of writes is sent before the
	// items DynamoDB still returns as unprocessed (or a request still
	// throttled) make the call fail. The AWS client's own retries happen
	// within each attempt. Zero means 10.
	MaxAttempts int

	// RetryDelay is the base of the exponential backoff between attempts:
	// attempt n waits between d/2 and d, where d = RetryDelay * 2^(n-1),
	// capped at 5 seconds. Zero means 50 milliseconds.
	RetryDelay time.Duration

	// OperationTimeout bounds each request to DynamoDB, on top of the
	// caller's context; a request that runs out of time fails with an error
	// wrapping store.ErrUnavailable and context.DeadlineExceeded. Zero means
	// 10 seconds; a negative value means no bound beyond the caller's
	// context.
	OperationTimeout time.Duration

	// NotifyInterval is how often [Store.Notify] polls the change-log item
	// for other writers' changes (one eventually consistent read of an item
	// under 4 KB: half a read unit per poll per subscriber). Zero means
	// 1 second.
	NotifyInterval time.Duration

	// Logger receives the store's warnings (a change log it could not
	// update). Nil means slog.Default().
	Logger *slog.Logger
}

const (
	defaultWriteConcurrency = 8
	defaultMaxAttempts      = 10
	defaultRetryDelay       = 50 * time.Millisecond
	maxRetryDelay           = 5 * time.Second
	defaultOpTimeout        = 10 * time.Second
	localDefaultRegion      = "us-east-1"
)

func (o *Options) writeConcurrency() int {
	if o.WriteConcurrency > 0 {
		return o.WriteConcurrency
	}
	return defaultWriteConcurrency
}

func (o *Options) maxAttempts() int {
	if o.MaxAttempts > 0 {
		return o.MaxAttempts
	}
	return defaultMaxAttempts
}

func (o *Options) retryDelay() time.Duration {
	if o.RetryDelay > 0 {
		return o.RetryDelay
	}
	return defaultRetryDelay
}

func (o *Options) opTimeout() time.Duration {
	switch {
	case o.OperationTimeout > 0:
		return o.OperationTimeout
	case o.OperationTimeout < 0:
		return 0
	}
	return defaultOpTimeout
}

const defaultNotifyInterval = time.Second

func (o *Options) notifyInterval() time.Duration {
	if o.NotifyInterval > 0 {
		return o.NotifyInterval
	}
	return defaultNotifyInterval
}
