package dynamodb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/daemonflag/daemonflag/store"
)

// batchSize is the most write requests one BatchWriteItem call may carry.
const batchSize = 25

// batchWrite sends reqs in BatchWriteItem calls of up to 25 requests, at most
// Options.WriteConcurrency at a time, each retried until every request is
// processed (see writeBatch). It returns the first failure; requests of other
// batches may have been written by then.
func (s *Store) batchWrite(ctx context.Context, op string, reqs []types.WriteRequest) error {
	if len(reqs) <= batchSize {
		return s.writeBatch(ctx, op, reqs)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.opts.writeConcurrency())
	var stopped error
	for start := 0; start < len(reqs); start += batchSize {
		if stopped = gctx.Err(); stopped != nil {
			break // a batch failed, or the caller gave up: send no more
		}
		batch := reqs[start:min(start+batchSize, len(reqs))]
		g.Go(func() error { return s.writeBatch(gctx, op, batch) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return s.wrap(op, stopped)
}

// writeBatch sends one BatchWriteItem and then, while DynamoDB returns some
// requests as unprocessed or throttles the whole call, sends what is left
// again after a backoff, up to Options.MaxAttempts calls. Requests still
// unwritten then make it fail with an error wrapping store.ErrUnavailable.
func (s *Store) writeBatch(ctx context.Context, op string, batch []types.WriteRequest) error {
	if len(batch) == 0 {
		return nil
	}
	pending := batch
	attempts := s.opts.maxAttempts()
	var throttled error
	for attempt := 1; ; attempt++ {
		if err := s.checkOpen(); err != nil {
			return err
		}
		pctx, cancel := s.opCtx(ctx)
		out, err := s.client.BatchWriteItem(pctx, &ddb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{s.table: pending},
		})
		cancel()
		switch {
		case err == nil:
			throttled = nil
			pending = out.UnprocessedItems[s.table]
			if len(pending) == 0 {
				return nil
			}
		case isThrottle(err):
			throttled = err
		default:
			return s.wrap(op, err)
		}
		if attempt >= attempts {
			break
		}
		if err := sleep(ctx, s.backoff(attempt)); err != nil {
			return s.wrap(op, err)
		}
	}
	what := fmt.Sprintf("%s: %d of %d write(s) in a batch not done after %d attempts (%s)",
		op, len(pending), len(batch), attempts, describeRequests(pending))
	if throttled != nil {
		return s.wrap(what, throttled)
	}
	return fmt.Errorf("dynamodb %s: DynamoDB kept returning them as unprocessed: %w", what, store.ErrUnavailable)
}

// backoff returns the pause after the given attempt (1 for the first):
// between d/2 and d, where d doubles from Options.RetryDelay up to 5 s.
func (s *Store) backoff(attempt int) time.Duration {
	d := s.opts.retryDelay()
	for i := 1; i < attempt && d < maxRetryDelay; i++ {
		d *= 2
	}
	d = min(d, maxRetryDelay)
	half := d / 2
	return half + rand.N(half+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describeRequests names the first few items of reqs, for error messages.
func describeRequests(reqs []types.WriteRequest) string {
	var b strings.Builder
	for i, r := range reqs {
		if i == 3 {
			fmt.Fprintf(&b, ", and %d more", len(reqs)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		var key map[string]types.AttributeValue
		verb := "put"
		switch {
		case r.PutRequest != nil:
			key = r.PutRequest.Item
		case r.DeleteRequest != nil:
			key, verb = r.DeleteRequest.Key, "delete"
		}
		ns, _ := key[attrNamespace].(*types.AttributeValueMemberS)
		k, _ := key[attrKey].(*types.AttributeValueMemberS)
		if ns != nil && k != nil {
			fmt.Fprintf(&b, "%s %s/%q", verb, ns.Value, k.Value)
		} else {
			b.WriteString(verb)
		}
	}
	return b.String()
}
