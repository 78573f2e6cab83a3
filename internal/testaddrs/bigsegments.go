package testaddrs

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	goredis "github.com/redis/go-redis/v9"

	"github.com/daemonflag/daemonflag/internal/testservers"
	dynamostore "github.com/daemonflag/daemonflag/stores/dynamodb"
	redisstore "github.com/daemonflag/daemonflag/stores/redis"
)

// OpenRedisBigSegments opens a store on the test Redis server under a new
// prefix, for big-segment tests; the store is its own reader, writer and
// scanner. At the end of t it closes the store and deletes the prefix's
// keys. Without a configured server t is skipped (or fails, see the package
// documentation).
func OpenRedisBigSegments(t testing.TB) *redisstore.Store {
	t.Helper()
	url := testservers.RedisURL(t)
	prefix := "dftest-bigsegments-" + Token()
	s, err := redisstore.New(redisstore.Options{URL: url, Prefix: prefix})
	if err != nil {
		t.Fatalf("redis store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		opts, err := goredis.ParseURL(url)
		if err != nil {
			t.Errorf("cleanup: %v", err)
			return
		}
		c := goredis.NewClient(opts)
		defer c.Close()
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			if keys = append(keys, iter.Val()); len(keys) == 1000 {
				c.Unlink(ctx, keys...)
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			c.Unlink(ctx, keys...)
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleanup of %s:*: %v", prefix, err)
		}
	})
	return s
}

// OpenDynamoDBBigSegments opens a store on a new table of the test
// DynamoDB server, with dummy credentials, for big-segment tests; the store
// is its own reader, writer and scanner. At the end of t it closes the
// store and deletes the table. Without a configured server t is skipped (or
// fails, see the package documentation).
func OpenDynamoDBBigSegments(t testing.TB) *dynamostore.Store {
	t.Helper()
	endpoint := testservers.DynamoDBEndpoint(t)
	env := TestAWSEnv()
	cfg := aws.Config{
		Region:      env["AWS_REGION"],
		Credentials: credentials.NewStaticCredentialsProvider(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], ""),
	}
	table := "dftest-bigsegments-" + Token()
	ctx := context.Background()
	s, err := dynamostore.New(ctx, dynamostore.Options{Table: table, Endpoint: endpoint, AWSConfig: &cfg, CreateTable: true})
	if err != nil {
		t.Fatalf("dynamodb store: %v", err)
	}
	t.Cleanup(func() {
		s.Close()
		c := ddb.NewFromConfig(cfg, func(o *ddb.Options) { o.BaseEndpoint = aws.String(endpoint) })
		if _, err := c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
			t.Errorf("cleanup: delete table %s: %v", table, err)
		}
	})
	return s
}
