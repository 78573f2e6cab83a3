package dynamodb

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/daemonflag/daemonflag/store"
)

// ErrClosed is returned by every call on a Store after Close.
var ErrClosed = errors.New("dynamodb: store closed")

// TableNotFoundError reports that the configured table does not exist in the
// region (or at the endpoint) the client talks to. It wraps
// [store.ErrUnavailable] and the AWS error.
type TableNotFoundError struct {
	Table    string
	Region   string
	Endpoint string // empty for AWS's own endpoint
	Err      error
}

// Error says which table is missing where, and how to create it.
func (e *TableNotFoundError) Error() string {
	where := "region " + e.Region
	if e.Endpoint != "" {
		where += " at " + e.Endpoint
	}
	return fmt.Sprintf("DynamoDB table %q does not exist in %s: create it (partition key \"namespace\" S, sort key \"key\" S), "+
		"or for development add ?create=true to the dynamodb:// store address (Options.CreateTable in Go)", e.Table, where)
}

// Unwrap returns store.ErrUnavailable and the AWS error.
func (e *TableNotFoundError) Unwrap() []error { return []error{store.ErrUnavailable, e.Err} }

// ItemTooLargeError reports an item that DynamoDB would refuse: larger than
// its 400 KB item limit as DynamoDB counts it (attribute names and values in
// UTF-8 bytes). Nothing was written for it.
type ItemTooLargeError struct {
	Kind  string // the namespace kind, e.g. "features"
	Key   string
	Size  int // bytes, as DynamoDB counts them
	Limit int
}

// Error names the item and its size.
func (e *ItemTooLargeError) Error() string {
	return fmt.Sprintf("dynamodb: %s %q is %d bytes as a DynamoDB item, over the %d-byte item limit; it was not written", e.Kind, e.Key, e.Size, e.Limit)
}

// apiErrorCode returns the error code of an AWS API error, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isThrottle reports a request refused for lack of capacity, which the caller
// may retry after a pause.
func isThrottle(err error) bool {
	switch apiErrorCode(err) {
	case "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded",
		"Throttling", "TooManyRequestsException":
		return true
	}
	var pt *types.ProvisionedThroughputExceededException
	var te *types.ThrottlingException
	var rl *types.RequestLimitExceeded
	return errors.As(err, &pt) || errors.As(err, &te) || errors.As(err, &rl)
}

func isConditionFailed(err error) bool {
	var cf *types.ConditionalCheckFailedException
	return errors.As(err, &cf) || apiErrorCode(err) == "ConditionalCheckFailedException"
}

func isTableNotFound(err error) bool {
	var nf *types.ResourceNotFoundException
	return errors.As(err, &nf) || apiErrorCode(err) == "ResourceNotFoundException"
}

// wrap gives an AWS error its context (op says what was being done) and
// classifies it: a missing table is a *TableNotFoundError; throttling,
// timeouts, server faults, transport and credential failures wrap
// store.ErrUnavailable; a canceled context and request validation errors are
// returned as they are, with context.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("dynamodb %s: %w", op, err)
	case isTableNotFound(err):
		return fmt.Errorf("dynamodb %s: %w", op, &TableNotFoundError{Table: s.table, Region: s.region, Endpoint: s.endpoint, Err: err})
	case isThrottle(err):
		return fmt.Errorf("dynamodb %s: throttled by DynamoDB (the table's capacity is exhausted): %w: %w", op, store.ErrUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("dynamodb %s: timed out: %w: %w", op, store.ErrUnavailable, err)
	}
	switch apiErrorCode(err) {
	case "ValidationException", "SerializationException":
		return fmt.Errorf("dynamodb %s: %w", op, err)
	}
	var creds *credentialsError
	var signing *v4.SigningError
	if errors.As(err, &creds) || errors.As(err, &signing) {
		return fmt.Errorf("dynamodb %s: no AWS credentials found: %s: %w: %w", op, s.credentialsHint(), store.ErrUnavailable, err)
	}
	return fmt.Errorf("dynamodb %s: %w: %w", op, store.ErrUnavailable, err)
}

// credentialsHint says which credentials to set when none could be found.
func (s *Store) credentialsHint() string {
	if s.endpoint != "" {
		return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values will do for a local server such as " +
			"dynalite or DynamoDB Local), or AWS_PROFILE; with an explicit endpoint the EC2 instance metadata " +
			"service is not consulted"
	}
	return "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run with an IAM role (instance, task or web identity)"
}

// credentialsError marks a failure to find AWS credentials, which the AWS
// SDK reports as untyped text.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string { return e.err.Error() }
func (e *credentialsError) Unwrap() error { return e.err }

// markedCredentials wraps a credentials provider so that its failures can be
// recognised (see credentialsError).
type markedCredentials struct{ p aws.CredentialsProvider }

func (m markedCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := m.p.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}
