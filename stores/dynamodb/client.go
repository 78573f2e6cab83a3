package dynamodb

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// api is the part of *dynamodb.Client the store uses. Tests wrap the real
// client in it to inject unprocessed items and throttling.
type api interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *ddb.BatchWriteItemInput, optFns ...func(*ddb.Options)) (*ddb.BatchWriteItemOutput, error)
	DescribeTable(ctx context.Context, in *ddb.DescribeTableInput, optFns ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error)
	CreateTable(ctx context.Context, in *ddb.CreateTableInput, optFns ...func(*ddb.Options)) (*ddb.CreateTableOutput, error)
}

var _ api = (*ddb.Client)(nil)

// newClient builds the DynamoDB client that opts describe and returns it with
// the region it uses (for error messages).
func newClient(ctx context.Context, opts *Options) (*ddb.Client, string, error) {
	if opts.Client != nil {
		o := opts.Client.Options()
		return opts.Client, o.Region, nil
	}
	var cfg aws.Config
	if opts.AWSConfig != nil {
		cfg = opts.AWSConfig.Copy()
	} else {
		var loadOpts []func(*config.LoadOptions) error
		if opts.Region != "" {
			loadOpts = append(loadOpts, config.WithRegion(opts.Region))
		}
		if opts.Endpoint != "" {
			// An explicit endpoint is a local server (dynalite, DynamoDB
			// Local) or a private one: never ask the EC2 instance metadata
			// service (169.254.169.254) for credentials, a request off the
			// host that a locked-down network may not expect.
			loadOpts = append(loadOpts, config.WithEC2IMDSClientEnableState(imds.ClientDisabled))
		}
		var err error
		cfg, err = config.LoadDefaultConfig(ctx, loadOpts...)
		if err != nil {
			return nil, "", fmt.Errorf("dynamodb: loading AWS configuration: %w", err)
		}
	}
	region := cfg.Region
	if opts.Region != "" {
		region = opts.Region
	}
	if region == "" && opts.Endpoint != "" {
		region = localDefaultRegion
	}
	if region == "" {
		return nil, "", fmt.Errorf("dynamodb: no AWS region: set Options.Region (region= in the store URL), AWS_REGION or a profile's region")
	}
	if opts.Endpoint != "" {
		if err := validEndpoint(opts.Endpoint); err != nil {
			return nil, "", fmt.Errorf("dynamodb: %w", err)
		}
	}
	if cfg.Credentials != nil {
		cfg.Credentials = aws.NewCredentialsCache(markedCredentials{cfg.Credentials})
	}
	client := ddb.NewFromConfig(cfg, func(o *ddb.Options) {
		o.Region = region
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
	})
	return client, region, nil
}
