package dynamodb

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/daemonflag/daemonflag/internal/changefeed"
	"github.com/daemonflag/daemonflag/store"
)

var (
	_ store.Notifier        = (*Store)(nil)
	_ store.Batcher         = (*Store)(nil)
	_ store.WriteTimeReader = (*Store)(nil)
	_ store.WriteMarker     = (*Store)(nil)
)

// Notify delivers the dataset's changes to fn until ctx is done or the
// store is closed (see [store.Notifier]).
//
// Writes made through this Store object reach fn at once. Writes of other
// processes are found by polling the change-log item that this package's
// writers update after each write: one eventually consistent GetItem (half
// a read unit) every [Options.NotifyInterval], which delivers the keys
// logged since the last poll, or store.ChangeAll when the reader fell
// behind the log (it keeps the last 64 changes) or the log was made anew.
// A store written only by other writers (a LaunchDarkly Relay Proxy) has
// no change log, and readers rely on their cache's TTL. A failed poll is
// retried at the next interval; the log tells what happened meanwhile.
//
// Notify returns once it has read the change log's current position; it
// fails when that read fails.
func (s *Store) Notify(ctx context.Context, fn func([]store.Change)) error {
	if err := s.checkOpen(); err != nil {
		return err
	}
	cl, _, err := s.pollChangeLog(ctx)
	if err != nil {
		return err
	}
	sub := s.hub.Add(fn)
	if sub == nil {
		return ErrClosed
	}
	go s.poll(ctx, sub, cl)
	return nil
}

// pollChangeLog reads the change log with an eventually consistent read. An
// item that is not a change log reads as none.
func (s *Store) pollChangeLog(ctx context.Context) (changeLog, bool, error) {
	if err := s.checkOpen(); err != nil {
		return changeLog{}, false, err
	}
	ns := s.namespace(changesNamespace)
	pctx, cancel := s.opCtx(ctx)
	defer cancel()
	out, err := s.client.GetItem(pctx, &ddb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            s.keyOf(ns, ns),
		ConsistentRead: aws.Bool(false),
	})
	if err != nil {
		return changeLog{}, false, s.wrap("poll change log", err)
	}
	cl, found, err := decodeChangeLog(out.Item)
	if err != nil {
		return changeLog{}, false, nil
	}
	return cl, found, nil
}

func (s *Store) poll(ctx context.Context, sub *changefeed.Sub, last changeLog) {
	defer sub.Stop()
	t := time.NewTicker(s.opts.notifyInterval())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-sub.Done():
			return
		case <-t.C:
		}
		cl, found, err := s.pollChangeLog(ctx)
		switch {
		case err != nil:
			continue // the next poll finds what happened meanwhile
		case !found:
			if last.epoch != "" {
				sub.Send([]store.Change{store.ChangeAll}) // the log is gone
				last = changeLog{}
			}
			continue
		case last.epoch != "" && cl.epoch != last.epoch:
			sub.Send([]store.Change{store.ChangeAll}) // a new log
		case cl.seq < last.seq:
			continue // a stale read of the same log
		default:
			sub.Send(cl.since(last.seq))
		}
		last = cl
	}
}
