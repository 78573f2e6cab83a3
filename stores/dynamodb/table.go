package dynamodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// tableWaitTimeout bounds how long CreateTable waits for a new table to
// become active (DynamoDB takes seconds; local servers are immediate).
const tableWaitTimeout = 2 * time.Minute

// createTable creates the table in LaunchDarkly's schema with on-demand
// billing unless it exists, and waits until it is active.
func (s *Store) createTable(ctx context.Context) error {
	op := fmt.Sprintf("create table %q", s.table)
	dctx, cancel := s.opCtx(ctx)
	desc, err := s.client.DescribeTable(dctx, &ddb.DescribeTableInput{TableName: aws.String(s.table)})
	cancel()
	switch {
	case err == nil:
		if desc.Table != nil && desc.Table.TableStatus == types.TableStatusActive {
			return nil
		}
	case isTableNotFound(err):
		cctx, cancel := s.opCtx(ctx)
		_, err = s.client.CreateTable(cctx, &ddb.CreateTableInput{
			TableName: aws.String(s.table),
			AttributeDefinitions: []types.AttributeDefinition{
				{AttributeName: aws.String(attrNamespace), AttributeType: types.ScalarAttributeTypeS},
				{AttributeName: aws.String(attrKey), AttributeType: types.ScalarAttributeTypeS},
			},
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(attrNamespace), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(attrKey), KeyType: types.KeyTypeRange},
			},
			BillingMode: types.BillingModePayPerRequest,
		})
		cancel()
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) { // in use: someone else is creating it
			return s.wrap(op, err)
		}
	default:
		return s.wrap(op, err)
	}
	w := ddb.NewTableExistsWaiter(s.client, func(o *ddb.TableExistsWaiterOptions) {
		o.MinDelay = 100 * time.Millisecond
		o.MaxDelay = 2 * time.Second
	})
	if err := w.Wait(ctx, &ddb.DescribeTableInput{TableName: aws.String(s.table)}, tableWaitTimeout); err != nil {
		return s.wrap(op+": waiting until it is active", err)
	}
	return nil
}
